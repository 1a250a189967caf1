"""Approximate top-10 neighbours: faiss-cpu IndexHNSWFlat (M=32, ef_construction 40, 2 OpenMP
threads) and embedscope's HNSW index (same M and ef_construction, 2 rayon threads, through
`examples/ann_eval.rs`) on the same data in the same run: build time, and queries/s of 1,000
held-out queries at the smallest ef reaching recall@10 >= 0.95 (ground truth: faiss IndexFlatL2).

Data: GloVe 6B 50d (all 400k rows, unit length, so L2 order is cosine order; 1,000 random rows
held out as queries, numpy seed 0) and a clustered synthetic 1M x 100 set (no real 1M x 100
vectors are used: 1,000 centres around 50 super-centres, per-cluster noise scale, numpy seed
42; 1,000 more rows of the same recipe as queries). `--scale NAME.npy` replaces that set with
one written by make_scale_data.py (e.g. 1M x 100): 1,000 random rows (numpy seed 0) are held
out as queries, the rest are the base.

    python benches/peers/compare_ann.py --glove /root/.cache/embedscope/data/glove-6b-50d-400k/glove.6B.50d.npy \
        --eval-bin target/release/examples/ann_eval --work /tmp/ann-bench [--skip-1m] \
        [--scale /root/.cache/embedscope-bench/scale/synth-1m-100.npy]
"""
import argparse
import os
import subprocess
import time
from pathlib import Path

import faiss
import numpy as np

EFS = [16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512]


def write_sets(args, work):
    sets = []
    g = np.load(args.glove).astype(np.float32)
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    qi = np.random.default_rng(0).choice(len(g), 1000, replace=False)
    mask = np.ones(len(g), bool)
    mask[qi] = False
    sets.append(("glove400k_50", g[mask], g[qi]))
    if args.scale:
        x = np.load(args.scale, mmap_mode="r")
        qi = np.random.default_rng(0).choice(len(x), 1000, replace=False)
        mask = np.ones(len(x), bool)
        mask[qi] = False
        name = Path(args.scale).stem.replace("-", "_")
        sets.append((name, np.ascontiguousarray(x[mask], np.float32), np.ascontiguousarray(x[qi], np.float32)))
    elif not args.skip_1m:
        rng = np.random.default_rng(42)
        n, d = 1_001_000, 100
        sup = rng.standard_normal((50, d)).astype(np.float32) * 4
        cent = sup[rng.integers(0, 50, 1000)] + rng.standard_normal((1000, d)).astype(np.float32) * 2
        scale = rng.uniform(0.5, 1.5, 1000).astype(np.float32)
        lab = rng.integers(0, 1000, n)
        x = np.empty((n, d), np.float32)
        for s in range(0, n, 100_000):
            lb = lab[s:s + 100_000]
            x[s:s + 100_000] = cent[lb] + rng.standard_normal((len(lb), d)).astype(np.float32) * scale[lb, None]
        sets.append(("synth1m_100", x[:1_000_000], x[1_000_000:]))
    out = []
    for name, base, q in sets:
        paths = [work / f"{name}.{s}" for s in ("base.f32", "q.f32", "gt.i32")]
        if not paths[2].exists():
            base.tofile(paths[0])
            q.tofile(paths[1])
            flat = faiss.IndexFlatL2(base.shape[1])
            flat.add(base)
            _, gt = flat.search(q, 10)
            gt.astype(np.int32).tofile(paths[2])
        out.append((name, base.shape[1], paths))
    return out


def recall(found, gt):
    return float(np.mean([len(set(found[i]) & set(gt[i])) / 10 for i in range(len(gt))]))


def faiss_run(base, q, gt, m, efc):
    idx = faiss.IndexHNSWFlat(base.shape[1], m)
    idx.hnsw.efConstruction = efc
    t = time.perf_counter()
    idx.add(base)
    build = time.perf_counter() - t
    curve = []
    for ef in EFS:
        idx.hnsw.efSearch = ef
        best = 1e9
        for _ in range(3):
            t = time.perf_counter()
            _, found = idx.search(q, 10)
            best = min(best, time.perf_counter() - t)
        curve.append((ef, recall(found, gt), len(q) / best))
    return build, curve


def ours_run(binary, paths, d, m, efc):
    env = dict(os.environ, RAYON_NUM_THREADS="2")
    out = subprocess.run(
        [binary, *map(str, paths), str(d), "euclidean", str(m), str(efc), ",".join(map(str, EFS))],
        env=env, check=True, capture_output=True, text=True).stdout
    build, curve = None, []
    for line in out.splitlines():
        f = line.split()
        if f[0] == "build_s":
            build = float(f[1])
        elif f[0] == "ef":
            curve.append((int(f[1]), float(f[3]), float(f[5])))
    return build, curve


def at_target(curve, target=0.95):
    ok = [c for c in curve if c[1] >= target]
    return max(ok, key=lambda c: c[2]) if ok else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--glove", required=True)
    ap.add_argument("--eval-bin", required=True)
    ap.add_argument("--work", default="/tmp/ann-bench")
    ap.add_argument("--m", type=int, default=32)
    ap.add_argument("--ef-construction", type=int, default=40)
    ap.add_argument("--skip-1m", action="store_true")
    ap.add_argument("--scale", help="a NAME.npy from make_scale_data.py instead of the built-in 1M x 100 set")
    args = ap.parse_args()
    faiss.omp_set_num_threads(2)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    print(f"faiss {faiss.__version__}, M {args.m}, ef_construction {args.ef_construction}, 2 threads each")
    print("| data | tool | build s | ef | recall@10 | queries/s | build ratio | queries/s ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for name, d, paths in write_sets(args, work):
        base = np.fromfile(paths[0], np.float32).reshape(-1, d)
        q = np.fromfile(paths[1], np.float32).reshape(-1, d)
        gt = np.fromfile(paths[2], np.int32).reshape(-1, 10)
        fb, fc = faiss_run(base, q, gt, args.m, args.ef_construction)
        del base
        ob, oc = ours_run(args.eval_bin, paths, d, args.m, args.ef_construction)
        ft, ot = at_target(fc), at_target(oc)
        for tool, b, t in (("faiss IndexHNSWFlat", fb, ft), ("embedscope", ob, ot)):
            ef, rec, qps = t if t else ("-", float("nan"), float("nan"))
            br = f"{b / fb:.2f}x" if tool == "embedscope" else "1.0"
            qr = f"{qps / ft[2]:.2f}x" if tool == "embedscope" and ft and t else "1.0"
            print(f"| {name} | {tool} | {b:.1f} | {ef} | {rec:.4f} | {qps:.0f} | {br} | {qr} |")
        for tool, c in (("faiss", fc), ("embedscope", oc)):
            print(f"  {tool} curve: " + ", ".join(f"ef {e}: {r:.3f} @ {s:.0f}/s" for e, r, s in c))


if __name__ == "__main__":
    main()
