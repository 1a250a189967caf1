#!/usr/bin/env python3
"""UMAP: umap-learn vs embedscope on the first N rows of GloVe 6B 50d, same run, same machine.

Input: the first N rows (--sizes, default 70000,400000) of glove.6B.50d.npy (+ .vocab.txt beside
it; tests/fixtures/gen/fetch_glove400k.sh), written once per size as first{N}.npy/.vocab.txt
into --work (default: a temporary folder).

  umap-learn  0.5.12 UMAP(n_neighbors=15, min_dist=0.1, n_epochs=200, metric="euclidean",
              n_jobs=2) without random_state (a seed makes umap-learn single-threaded), in a
              child process with NUMBA_NUM_THREADS=2; timed: fit_transform (pynndescent kNN,
              fuzzy set, spectral init, SGD). Numba's compilation happens in a warm-up fit on
              2,000 rows first, not timed.
  embedscope  `embedscope project first{N}.npy --vocab first{N}.vocab.txt --method umap
              --n-neighbors 15 --min-dist 0.1 --epochs 200 --metric euclidean --seed 1
              --no-quality --no-cache --out coords.npy --json` with RAYON_NUM_THREADS=2;
              timed: the JSON's timing_s.compute (kNN, fuzzy set, spectral init, SGD).

Peak RSS is each child process's own (peer_common.run_measured). Quality: trustworthiness@10
and kNN preservation@10 computed by this script the same way for both layouts
(compare_tsne.quality: exact per-point terms on a seeded sample of 2,000 points against all
N points). Ratio = embedscope / umap-learn (time: < 0.5 is the bar; RSS: <= 1).
"""

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peer_common import (DEFAULT_BINARY, check_binary, fmt_bytes, fmt_s, log,  # noqa: E402
                         machine_info, machine_line, run_json, run_measured, table)
from compare_tsne import quality  # noqa: E402

import numpy as np  # noqa: E402

GLOVE = Path("/root/.cache/embedscope/data/glove-6b-50d-400k/glove.6B.50d.npy")
SAMPLE = 2000

UMAP_CHILD = r"""
import json, sys, time
import numpy as np
import umap
x = np.load(sys.argv[1])
umap.UMAP(n_neighbors=15, min_dist=0.1, n_epochs=50, n_jobs=2).fit_transform(x[:2000])
t = time.perf_counter()
y = umap.UMAP(n_neighbors=15, min_dist=0.1, n_epochs=200, metric="euclidean", n_jobs=2).fit_transform(x)
secs = time.perf_counter() - t
np.save(sys.argv[2], y.astype(np.float32))
print(json.dumps({"seconds": secs}))
"""


def prepare(n, work):
    npy = work / f"first{n}.npy"
    vocab = work / f"first{n}.vocab.txt"
    if not npy.exists():
        x = np.load(GLOVE, mmap_mode="r")[:n]
        np.save(npy, np.ascontiguousarray(x, dtype=np.float32))
        words = GLOVE.with_suffix(".vocab.txt").read_text(encoding="utf-8").split("\n")[:n]
        vocab.write_text("\n".join(words) + "\n", encoding="utf-8")
    return npy, vocab


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="70000,400000")
    ap.add_argument("--binary", default=str(DEFAULT_BINARY))
    ap.add_argument("--work", default=None)
    ap.add_argument("--json-out", default=None)
    a = ap.parse_args()
    check_binary(a.binary)
    info = machine_info(["umap", "numba", "pynndescent"])
    work = Path(a.work) if a.work else Path(tempfile.mkdtemp(prefix="umap-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    results = []
    for n in [int(s) for s in a.sizes.split(",")]:
        npy, vocab = prepare(n, work)
        x64 = np.load(npy).astype(np.float64)
        log(f"N={n}: umap-learn")
        env = dict(os.environ, NUMBA_NUM_THREADS="2", OMP_NUM_THREADS="2",
                   OPENBLAS_NUM_THREADS="2", MKL_NUM_THREADS="2")
        ul_out = work / f"umap_learn{n}.npy"
        r = run_measured([sys.executable, "-c", UMAP_CHILD, npy, ul_out], env=env)
        if r["rc"] != 0:
            sys.exit(f"umap-learn failed:\n{r['stderr'][-3000:]}")
        ul = {"seconds": json.loads(r["stdout"].strip().splitlines()[-1])["seconds"],
              "peak_rss_bytes": r["peak_rss_bytes"], "wall_s": r["wall_s"]}
        ul["quality"], _, _ = quality(x64, np.load(ul_out), exact_max=0, sample=SAMPLE)
        log(f"N={n}: embedscope")
        es_out = work / f"embedscope{n}.npy"
        env = dict(os.environ, RAYON_NUM_THREADS="2")
        r = run_json([a.binary, "project", npy, "--vocab", vocab, "--method", "umap",
                      "--n-neighbors", "15", "--min-dist", "0.1", "--epochs", "200",
                      "--metric", "euclidean", "--seed", "1", "--no-quality", "--no-cache",
                      "--out", es_out, "--json"], env=env, what="embedscope")
        es = {"seconds": r["json"]["timing_s"]["compute"], "peak_rss_bytes": r["peak_rss_bytes"],
              "wall_s": r["wall_s"], "notes": r["json"].get("notes"),
              "details": r["json"].get("details")}
        es["quality"], _, _ = quality(x64, np.load(es_out), exact_max=0, sample=SAMPLE)
        results.append({"n": n, "umap_learn": ul, "embedscope": es})
        log(json.dumps(results[-1]["embedscope"]["notes"]))
        log("embedscope seconds per step: " + json.dumps((es.get("details") or {}).get("seconds")))
    info["loadavg_at_end"] = [round(v, 2) for v in os.getloadavg()]
    rows = []
    for r in results:
        ul, es = r["umap_learn"], r["embedscope"]
        rows.append([
            f"{r['n']:,} x 50",
            fmt_s(ul["seconds"]), fmt_s(es["seconds"]), f"{es['seconds'] / ul['seconds']:.2f}",
            f"{ul['quality']['trustworthiness@10']:.4f}", f"{es['quality']['trustworthiness@10']:.4f}",
            f"{ul['quality']['knn_preservation@10']:.4f}", f"{es['quality']['knn_preservation@10']:.4f}",
            fmt_bytes(ul["peak_rss_bytes"]), fmt_bytes(es["peak_rss_bytes"]),
            f"{es['peak_rss_bytes'] / ul['peak_rss_bytes']:.2f}",
        ])
    print(machine_line(info))
    print(table(["data", "umap-learn s", "embedscope s", "time ratio", "T@10 umap-learn",
                 "T@10 embedscope", "kNN@10 umap-learn", "kNN@10 embedscope", "RSS umap-learn",
                 "RSS embedscope", "RSS ratio"], rows))
    if a.json_out:
        Path(a.json_out).write_text(json.dumps({"machine": info, "results": results}, indent=1))


if __name__ == "__main__":
    main()
