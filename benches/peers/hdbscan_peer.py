#!/usr/bin/env python3
"""HDBSCAN: scikit-learn vs embedscope on the same data, made in this run, on the same machine.

Data (made here, float32, written to a temporary folder): for each --dims value, --rows points
from sklearn.datasets.make_blobs (20 centres, spreads 0.3-1.5 drawn from default_rng(0),
random_state=0, centre box +-20) of which 10% are replaced by uniform noise over the data's
bounding box.

  sklearn     HDBSCAN(min_cluster_size=M, copy=True) with every other parameter at its default
              (euclidean, min_samples = min_cluster_size, algorithm "auto" = KD-tree core
              distances + the O(n^2) Prim spanning tree, single-threaded); fit(X) timed, best of
              --peer-repeats.
  embedscope  `target/release/examples/hdbscan_eval POINTS.f32 DIM M --repeats R --out PREFIX`
              (build: cargo build --release --example hdbscan_eval), the same parameters; the
              in-process time of each hdbscan() call (`run_s`, data already in memory as for
              sklearn), best of --repeats; run with RAYON_NUM_THREADS unset (all cores) and,
              for a single-thread figure, RAYON_NUM_THREADS=1.

Ratio = embedscope time / sklearn time (< 1: embedscope faster; the target is <= 0.5).

Agreement (untimed): the spanning tree's sorted weights against scikit-learn's merge distances
(max relative difference; equal weights are the exact HDBSCAN), and the adjusted Rand index of
the labels. scikit-learn orders equal-weight edges with numpy's unstable sort (machine-dependent),
embedscope in Prim's order (scikit-learn's own result with a stable sort), so labels can differ
where many equal weights meet; the ARI against scikit-learn run with a stable sort (patched
`_process_mst`, untimed) is printed too.

    /root/.cache/embedscope-py/bin/python benches/peers/hdbscan_peer.py [--rows 100000]
        [--dims 2 5] [--min-cluster-size 5 15] [--repeats 3] [--peer-repeats 1] [--json]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peer_common import REPO, busy_cpu_note, fmt_s, log, machine_info, machine_line, table  # noqa: E402

import numpy as np  # noqa: E402

DEFAULT_EVAL = REPO / "target" / "release" / "examples" / "hdbscan_eval"


def make_data(rows, dim):
    from sklearn.datasets import make_blobs
    rng = np.random.default_rng(0)
    spreads = 0.3 + 1.2 * rng.random(20)
    X, _ = make_blobs(rows, centers=20, n_features=dim, cluster_std=spreads, center_box=(-20, 20),
                      random_state=0)
    k = rows // 10
    idx = rng.choice(rows, size=k, replace=False)
    X[idx] = rng.uniform(X.min(0), X.max(0), size=(k, dim))
    return X.astype(np.float32)


def run_embedscope(binary, path, dim, mcs, repeats, prefix, threads=None):
    env = dict(os.environ)
    if threads:
        env["RAYON_NUM_THREADS"] = str(threads)
    else:
        env.pop("RAYON_NUM_THREADS", None)
    cmd = [str(binary), str(path), str(dim), str(mcs), "--repeats", str(repeats), "--out", str(prefix)]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
    times = [float(line.split()[1]) for line in r.stdout.splitlines() if line.startswith("run_s")]
    return times, " ".join(cmd)


def ari(a, b):
    from sklearn.metrics import adjusted_rand_score
    return float(adjusted_rand_score(a, b))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--eval-bin", type=Path, default=DEFAULT_EVAL, help=f"hdbscan_eval example (default {DEFAULT_EVAL})")
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--dims", type=int, nargs="+", default=[2, 5])
    ap.add_argument("--min-cluster-size", type=int, nargs="+", default=[5, 15])
    ap.add_argument("--repeats", type=int, default=3, help="embedscope runs (best taken)")
    ap.add_argument("--peer-repeats", type=int, default=1, help="scikit-learn runs (best taken; ~40 s each at 100k)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    import sklearn
    import sklearn.cluster._hdbscan.hdbscan as skh
    from sklearn.cluster import HDBSCAN
    from sklearn.cluster._hdbscan._linkage import make_single_linkage

    if not args.eval_bin.is_file():
        sys.exit(f"{args.eval_bin} missing: cargo build --release --example hdbscan_eval")
    machine = machine_info(["numpy", "sklearn"])
    results = []
    with tempfile.TemporaryDirectory(prefix="eshdbscan-") as td:
        for dim in args.dims:
            X = make_data(args.rows, dim)
            path = Path(td) / f"x{dim}.f32"
            X.tofile(path)
            log(f"data: {args.rows} x {dim} float32")
            for mcs in args.min_cluster_size:
                prefix = Path(td) / f"o{dim}_{mcs}"
                es, cmd = run_embedscope(args.eval_bin, path, dim, mcs, args.repeats, prefix)
                es1, _ = run_embedscope(args.eval_bin, path, dim, mcs, args.repeats, prefix, threads=1)
                log(f"  embedscope {dim}-D mcs {mcs}: {[round(t, 3) for t in es]} s (1 thread {[round(t, 3) for t in es1]})")
                sk_times = []
                h = None
                for _ in range(args.peer_repeats):
                    t = time.perf_counter()
                    h = HDBSCAN(min_cluster_size=mcs, copy=True).fit(X)
                    sk_times.append(time.perf_counter() - t)
                    log(f"  sklearn {dim}-D mcs {mcs}: {sk_times[-1]:.2f} s")
                labels = np.fromfile(f"{prefix}.labels.i32", dtype="<i4")
                mst = np.fromfile(f"{prefix}.mst.bin", dtype=np.dtype([("a", "<u4"), ("b", "<u4"), ("w", "<f8")]))
                ours_w = np.sort(mst["w"])
                sk_w = np.sort(h._single_linkage_tree_["value"])
                rel = float(np.max(np.abs(ours_w - sk_w) / np.maximum(np.abs(sk_w), 1e-300)))
                # scikit-learn with a stable edge sort (untimed): the result embedscope reproduces.
                saved = skh._process_mst
                skh._process_mst = lambda m: make_single_linkage(m[np.argsort(m["distance"], kind="stable")])
                try:
                    hs = HDBSCAN(min_cluster_size=mcs, copy=True).fit(X)
                finally:
                    skh._process_mst = saved
                results.append({
                    "rows": args.rows, "dim": dim, "min_cluster_size": mcs,
                    "sklearn_s_best": min(sk_times), "sklearn_s_all": sk_times,
                    "embedscope_s_best": min(es), "embedscope_s_all": es,
                    "embedscope_1thread_s_best": min(es1),
                    "ratio": min(es) / min(sk_times),
                    "ratio_1thread": min(es1) / min(sk_times),
                    "clusters_sklearn": int(h.labels_.max() + 1), "clusters_embedscope": int(labels.max() + 1),
                    "noise_sklearn": int((h.labels_ == -1).sum()), "noise_embedscope": int((labels == -1).sum()),
                    "mst_weights_max_rel_diff": rel,
                    "mst_weights_identical": bool(np.array_equal(ours_w, sk_w)),
                    "ari_vs_sklearn": ari(labels, h.labels_),
                    "ari_vs_sklearn_stable_sort": ari(labels, hs.labels_),
                    "ari_sklearn_default_vs_stable": ari(h.labels_, hs.labels_),
                    "command": cmd,
                })
    machine["loadavg_at_end"] = busy_cpu_note()
    out = {"machine": machine, "sklearn": sklearn.__version__, "results": results}
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(machine_line(machine))
    print(f"python {machine['python']}, scikit-learn {machine.get('sklearn')}, numpy {machine.get('numpy')}; "
          f"embedscope {args.eval_bin.name} (best of {args.repeats}); sklearn best of {args.peer_repeats}")
    print()
    rows = []
    for r in results:
        rows.append([f"{r['rows']:,} x {r['dim']}", r["min_cluster_size"], fmt_s(r["sklearn_s_best"]),
                     fmt_s(r["embedscope_s_best"]), f"{r['ratio']:.4f}", fmt_s(r["embedscope_1thread_s_best"]),
                     f"{r['ratio_1thread']:.4f}", f"{r['clusters_sklearn']} / {r['clusters_embedscope']}",
                     "yes" if r["mst_weights_identical"] else f"{r['mst_weights_max_rel_diff']:.1e}",
                     f"{r['ari_vs_sklearn']:.4f}", f"{r['ari_vs_sklearn_stable_sort']:.4f}",
                     f"{r['ari_sklearn_default_vs_stable']:.4f}"])
    print(table(["data", "mcs", "sklearn", "embedscope", "ratio", "1 thread", "ratio", "clusters sk / es",
                 "MST weights equal", "ARI", "ARI (sk stable)", "sk default vs stable"], rows))


if __name__ == "__main__":
    main()
