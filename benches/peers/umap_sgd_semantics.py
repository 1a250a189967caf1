#!/usr/bin/env python3
"""UMAP: which part of the SGD's semantics moves trustworthiness (an experiment, not a benchmark).

The same graph (umap-learn 0.5.12's fuzzy simplicial set of the first N GloVe rows, pruned below
w_max / 200 as umap-learn prunes it for 200 epochs), the same start (--init: an embedscope map
after one epoch, i.e. its spectral initialisation), one sequential SGD in Numba with live
positions, 200 epochs, negative_sample_rate 5, a/b for min_dist 0.1; only the attraction rule
changes:

  mode 0  umap-learn: the head is pulled, the tail moved back by the same step (move_other)
  mode 1  embedscope: the head pulled twice in a row, the tail not moved
  mode 2  the head pulled once by twice the step
  mode 3  the head pulled once (half of umap-learn's attraction)

Usage: umap_sgd_semantics.py --data first70000.npy --init embedscope_after_1_epoch.npy MODE...
Writes sem{MODE}.npy into --out (default /tmp); trustworthiness from compare_tsne.quality.
"""

import argparse
import sys
import time
from pathlib import Path

import numba
import numpy as np
from umap.umap_ import find_ab_params, fuzzy_simplicial_set, nearest_neighbors

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare_tsne import quality  # noqa: E402


@numba.njit
def clip(v):
    if v > 4.0:
        return 4.0
    if v < -4.0:
        return -4.0
    return v


@numba.njit
def run(y, head, tail, eps, a, b, n_epochs, mode, seed):
    np.random.seed(seed)
    nv = y.shape[0]
    next_s = eps.copy()
    eps_neg = eps / 5.0
    next_neg = eps_neg.copy()
    alpha = 1.0
    for n in range(n_epochs):
        for i in range(head.shape[0]):
            if next_s[i] > n:
                continue
            j = head[i]
            k = tail[i]
            reps = 2 if mode == 1 else 1
            mult = 2.0 if mode == 2 else 1.0
            for _ in range(reps):
                d0 = y[j, 0] - y[k, 0]
                d1 = y[j, 1] - y[k, 1]
                d2 = d0 * d0 + d1 * d1
                gc = 0.0
                if d2 > 0.0:
                    gc = -2.0 * a * b * d2 ** (b - 1.0) / (a * d2 ** b + 1.0)
                g0 = clip(gc * d0)
                g1 = clip(gc * d1)
                y[j, 0] += mult * g0 * alpha
                y[j, 1] += mult * g1 * alpha
                if mode == 0:
                    y[k, 0] -= g0 * alpha
                    y[k, 1] -= g1 * alpha
            next_s[i] += eps[i]
            nn = int((n - next_neg[i]) / eps_neg[i])
            for _ in range(nn):
                q = np.random.randint(0, nv)
                if q == j:
                    continue
                d0 = y[j, 0] - y[q, 0]
                d1 = y[j, 1] - y[q, 1]
                d2 = d0 * d0 + d1 * d1
                if d2 > 0.0:
                    gc = 2.0 * b / ((0.001 + d2) * (a * d2 ** b + 1.0))
                    y[j, 0] += clip(gc * d0) * alpha
                    y[j, 1] += clip(gc * d1) * alpha
            next_neg[i] += nn * eps_neg[i]
        alpha = 1.0 - (n / n_epochs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--init", required=True)
    ap.add_argument("--out", default="/tmp")
    ap.add_argument("modes", nargs="+", type=int)
    o = ap.parse_args()
    x = np.load(o.data)
    ki, kd, _ = nearest_neighbors(x, 15, "euclidean", {}, False, np.random.RandomState(1))
    g, _, _ = fuzzy_simplicial_set(x, 15, np.random.RandomState(1), "euclidean",
                                   knn_indices=ki, knn_dists=kd)
    g = g.tocoo()
    keep = g.data >= g.data.max() / 200
    head, tail, w = g.row[keep].astype(np.int64), g.col[keep].astype(np.int64), g.data[keep]
    order = np.lexsort((tail, head))
    head, tail, w = head[order], tail[order], w[order]
    eps = (w.max() / w).astype(np.float64)
    a, b = find_ab_params(1.0, 0.1)
    init = np.load(o.init).astype(np.float64)
    init = 10.0 * (init - init.min(0)) / (init.max(0) - init.min(0))
    x64 = x.astype(np.float64)
    for mode in o.modes:
        y = init.copy()
        t = time.time()
        run(y, head, tail, eps, a, b, 200, mode, 1)
        np.save(Path(o.out) / f"sem{mode}.npy", y.astype(np.float32))
        q, _, _ = quality(x64, y, exact_max=0, sample=2000)
        print(f"mode {mode}: {time.time() - t:.1f} s, trustworthiness@10 "
              f"{q['trustworthiness@10']:.4f}, kNN preservation@10 {q['knn_preservation@10']:.4f}",
              flush=True)


if __name__ == "__main__":
    main()
