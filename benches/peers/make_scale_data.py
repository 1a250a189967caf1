"""Synthetic stand-ins for the sizes analysts bring: N x D clustered float32 rows (a mixture of
Gaussian clusters of different sizes and spreads, so neighbour search and maps have structure to
find), written as NAME.npy + NAME.vocab.txt (tokens w0 ... w<N-1>), which embedscope opens as one
set. Seeded; written in blocks, so memory stays at one block.

    python benches/peers/make_scale_data.py --rows 2000000 --dim 300 --out /root/.cache/embedscope-bench/scale/synth-2m-300
"""

import argparse
from pathlib import Path

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--dim", type=int, required=True)
    ap.add_argument("--clusters", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--out", required=True, help="path without extension")
    a = ap.parse_args()
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    centers = rng.standard_normal((a.clusters, a.dim)).astype(np.float32)
    spread = rng.uniform(0.3, 0.9, a.clusters).astype(np.float32)
    weights = rng.pareto(1.5, a.clusters) + 1
    weights /= weights.sum()
    arr = np.lib.format.open_memmap(str(out) + ".npy", mode="w+", dtype="<f4", shape=(a.rows, a.dim))
    block = 100_000
    for s in range(0, a.rows, block):
        e = min(a.rows, s + block)
        c = rng.choice(a.clusters, e - s, p=weights)
        arr[s:e] = centers[c] + spread[c, None] * rng.standard_normal((e - s, a.dim), dtype=np.float32)
    arr.flush()
    with open(str(out) + ".vocab.txt", "w") as f:
        for s in range(0, a.rows, block):
            f.write("".join(f"w{i}\n" for i in range(s, min(a.rows, s + block))))
    print(str(out) + ".npy")


if __name__ == "__main__":
    main()
