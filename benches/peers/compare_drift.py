#!/usr/bin/env python3
"""Drift tests: Evidently's legacy embedding drift methods (and dcor's energy test, Evidently
having none) against embedscope's `analysis::drift`, on the rows `benches/drift.rs` writes.

Run (from the repository root):

    EMBEDSCOPE_DRIFT_DATA=/root/.cache/embedscope-bench/drift \\
      CARGO_TARGET_DIR=/root/.cache/embedscope-bench cargo bench --no-default-features --bench drift
    /root/.cache/embedscope-evidently/bin/python benches/peers/compare_drift.py \\
      --data /root/.cache/embedscope-bench/drift

The bench writes `reference.npy`, `current.npy` (50,000 x 384 f32 each) and `embedscope.json`
(the seconds of each of its methods, 1,000 permutations each: the two centroid distances share
one pass, MMD and energy another). This script times, on the same rows:

- `distance` (euclidean, cosine): Evidently's score only (`bootstrap=None`), and with its
  `bootstrap=True` (100 resamples of the reference);
- `ratio`: Evidently's (no bootstrap exists);
- `mmd`: Evidently's on the first 5,000 rows of each side (its statistic on every row needs a
  100,000^2 float64 kernel matrix, 80 GB), score only and with `bootstrap=True`;
- `model`: Evidently's `SGDClassifier` AUC on every row, score only and with `bootstrap=True`;
- `energy`: dcor 0.7 `energy_test` on the first 5,000 rows of each side, timed with 0 and with
  `--energy-resamples` permutations and extrapolated linearly to 1,000 (1,000 take minutes).

and prints, per method, the peer's seconds, embedscope's, and the ratio peer / embedscope.
Evidently uses its own defaults everywhere (its thresholds, its `random_state`s).
Environment: the venv of tests/fixtures/gen/drift_reference.py plus `pip install dcor==0.7`.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peer_common import machine_info  # noqa: E402

from evidently.legacy.metrics.data_drift.embedding_drift_methods import (  # noqa: E402
    distance,
    mmd,
    model,
    ratio,
)


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--kernel-rows", type=int, default=5000)
    ap.add_argument("--energy-resamples", type=int, default=10)
    ap.add_argument("--skip-energy", action="store_true")
    ap.add_argument("--only-energy", action="store_true")
    args = ap.parse_args()
    data = Path(args.data)
    info = machine_info(["evidently", "sklearn", "numpy", "pandas"])
    r = np.load(data / "reference.npy").astype(np.float64)
    c = np.load(data / "current.npy").astype(np.float64)
    ours = json.loads((data / "embedscope.json").read_text())
    print(json.dumps(info))
    print(f"rows: reference {r.shape}, current {c.shape}; embedscope: {ours}")
    rd, cd = pd.DataFrame(r), pd.DataFrame(c)
    k = args.kernel_rows
    rk, ck = pd.DataFrame(r[:k]), pd.DataFrame(c[:k])
    rows = []

    def run(name, ours_key, fn, note=""):
        secs, out = timed(fn)
        score = out[0] if isinstance(out, tuple) else out
        emb = ours[ours_key]
        rows.append((name, secs, emb, secs / emb, float(score), note))
        print(f"{name}: {secs:.2f} s (score {float(score):.6g}); embedscope {emb:.2f} s; "
              f"ratio {secs / emb:.1f}x {note}", flush=True)

    for dist in ("euclidean", "cosine") if not args.only_energy else ():
        run(f"distance_{dist}", "distance", lambda: distance(dist=dist)(cd.copy(), rd.copy()),
            "(score only)")
        run(f"distance_{dist} bootstrap", "distance",
            lambda: distance(dist=dist, bootstrap=True)(cd.copy(), rd.copy()))
    if not args.only_energy:
        run("ratio", "ratio", lambda: ratio()(cd.copy(), rd.copy()))
        run("mmd", "kernel", lambda: mmd()(ck.copy(), rk.copy()),
            f"(score only, {k} rows a side)")
        run("mmd bootstrap", "kernel", lambda: mmd(bootstrap=True)(ck.copy(), rk.copy()),
            f"({k} rows a side)")
        run("model", "classifier", lambda: model()(cd.copy(), rd.copy()), "(score only)")
        run("model bootstrap", "classifier",
            lambda: model(bootstrap=True)(cd.copy(), rd.copy()))
    if not args.skip_energy:
        import dcor
        import dcor.distances

        # dcor 0.7 with array-api-compat takes numpy arrays for another namespace and falls
        # back to an n x n x d broadcast (286 GiB here); scipy's cdist is what it means to use.
        dcor.distances._can_be_numpy_double = lambda x: True

        xe, ye = r[:k], c[:k]
        t0, _ = timed(lambda: dcor.homogeneity.energy_test(xe, ye, num_resamples=0))
        n = args.energy_resamples
        t1, res = timed(lambda: dcor.homogeneity.energy_test(xe, ye, num_resamples=n))
        per = max(t1 - t0, 0.0) / n
        est = t0 + 1000 * per
        emb = ours["kernel"]
        rows.append(("energy (dcor, extrapolated to 1000)", est, emb, est / emb,
                     float(res.statistic), f"measured {t0:.2f} s + {n} x {per:.2f} s"))
        print(f"energy: dcor {t0:.2f} s without resamples, {t1:.2f} s with {n}: "
              f"{per:.2f} s each, 1000 -> {est:.0f} s; embedscope {emb:.2f} s; "
              f"ratio {est / emb:.0f}x (statistic {res.statistic:.6g})", flush=True)
    print()
    print("| method | peer (s) | embedscope (s) | peer / embedscope | peer score | note |")
    print("|---|---|---|---|---|---|")
    for name, secs, emb, ratio_, score, note in rows:
        print(f"| {name} | {secs:.2f} | {emb:.2f} | {ratio_:.1f}x | {score:.6g} | {note} |")


if __name__ == "__main__":
    main()
