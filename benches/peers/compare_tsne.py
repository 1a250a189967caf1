#!/usr/bin/env python3
"""t-SNE: openTSNE vs embedscope on the first N rows of GloVe 6B 50d, same run, same machine.

Input: the first N rows (--sizes, default 20000,70000) of glove.6B.50d.txt (from
prepare_data.py), parsed as float32. The script writes glove.6B.50d.first{N}.npy and
glove.6B.50d.first{N}.vocab.txt into the data directory once (reused when present and
matching the text) and gives embedscope those files.

  openTSNE    1.0.4 TSNE(n_components=2, perplexity=30, n_jobs=2, random_state=1) with every
              other parameter at its default: 250 early-exaggeration iterations (factor 12)
              + 500 = 750 in all, learning rate "auto" (N/12, then N), momentum 0.8, PCA
              initialisation, Annoy kNN (k = 90), FFT-interpolated repulsion (N >= 10,000).
              The input is the float32 matrix widened to float64. What is timed is exactly
              the body of TSNE.fit: prepare_initial (kNN, affinities, PCA init) and the two
              optimize() calls fit makes; the three parts are reported too.
  embedscope  `embedscope project FILE.npy --vocab VOCAB --method tsne --perplexity 30
              --iterations 750 --seed 1 --out coords.csv --json --no-cache`; the JSON's
              timing_s.compute (process wall time and peak RSS are reported beside it).

Ratio = openTSNE fit time / embedscope compute time (> 1: embedscope faster).

Quality, computed by this script in the same way for both embeddings (the 50-d input as
float64; the 2-d coordinates as read back, widened to float64):
  trustworthiness@10  Venna & Kaski, as sklearn.manifold.trustworthiness defines it:
                      T = 1 - 2 / (N k (2N - 3k - 1)) * sum_i sum_{j in U_k(i)} (r(i,j) - k),
                      U_k(i) = the k nearest neighbours of i in the embedding that are not
                      among its k nearest in the input, r(i,j) = rank of j by input distance
                      from i (1 = nearest, i itself excluded).
                      N <= --exact-max (default 20000): sklearn's own function on all points
                      (needs ~10 GB at N = 20000), and this script's per-point code on all
                      points as a cross-check.
                      N > --exact-max: the per-point penalty sum_{j in U_k(i)} (r(i,j) - k)
                      is computed EXACTLY for a uniform random sample S of --sample points
                      (np.random.default_rng(0), no replacement; the same S for both tools):
                      each sampled point's ranks are taken against all N points, its
                      embedding neighbours are searched among all N points. T is then
                      estimated as 1 - 2 / (N k (2N - 3k - 1)) * N * mean_{i in S}(penalty_i),
                      i.e. the exact normalisation with the mean penalty estimated from S;
                      the standard error from the sample's spread is printed beside it.
  kNN preservation@10 mean over points of |kNN10 in input & kNN10 in embedding| / 10 (exact
                      euclidean, self excluded); all points for N <= --exact-max, else the
                      same sample S (neighbours searched among all N points).
  Input-space distances use float64 ||a||^2 + ||b||^2 - 2 a.b (chunked); embedding distances
  use exact differences. A rank can only move on an exact tie, which this does not break
  the way sklearn's argsort would; the cross-check at N <= --exact-max shows the effect (0
  on GloVe so far).
embedscope's own quality numbers from its JSON (quality.trustworthiness@10,
quality.knn_preservation@10) are printed beside ours. Because both embeddings are measured on
the same points, the difference embedscope - openTSNE is also given with the standard error
of the paired per-point differences.

--peer-only runs just the openTSNE side (and writes the inputs), for when the binary is not
available.
"""

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peer_common import (machine_line, DEFAULT_BINARY, DEFAULT_DATA, busy_cpu_note, check_binary, fmt_bytes, fmt_s,  # noqa: E402
                         get_path, log, machine_info, run_json, table)

import numpy as np  # noqa: E402

K = 10
PERPLEXITY = 30
ITERATIONS = 750
SEED = 1
N_JOBS = 2
GLOVE = "glove.6B.50d.txt"
DIM = 50


# ------------------------------------------------------------------ inputs
def read_glove_rows(path, n):
    tokens, rows = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if len(tokens) == n:
                break
            parts = line.rstrip("\n").split(" ")
            if len(parts) != DIM + 1:
                sys.exit(f"{path}: line {len(tokens) + 1} has {len(parts)} fields, expected {DIM + 1}")
            tokens.append(parts[0])
            rows.append(parts[1:])
    if len(tokens) < n:
        sys.exit(f"{path} has only {len(tokens)} rows, {n} needed")
    return tokens, np.array(rows, dtype=np.float32)


def prepare_inputs(data_dir, sizes):
    """Write glove.6B.50d.first{N}.npy/.vocab.txt for each N; return {N: (npy, vocab, X32)}."""
    src = data_dir / GLOVE
    if not src.exists():
        sys.exit(f"{src} missing: run benches/peers/prepare_data.py --data-dir {data_dir}")
    nmax = max(sizes)
    t = time.perf_counter()
    tokens, X = read_glove_rows(src, nmax)
    log(f"parsed the first {nmax} rows of {src.name} in {time.perf_counter() - t:.1f} s")
    out = {}
    for n in sizes:
        npy = data_dir / f"glove.6B.50d.first{n}.npy"
        voc = data_dir / f"glove.6B.50d.first{n}.vocab.txt"
        ok = False
        if npy.exists() and voc.exists():
            try:
                old = np.load(npy)
                with open(voc, encoding="utf-8") as f:
                    old_tokens = f.read().split("\n")[:-1]
                ok = old.dtype == np.float32 and np.array_equal(old, X[:n]) and old_tokens == tokens[:n]
            except (OSError, ValueError):
                ok = False
        if not ok:
            for path, write in ((npy, lambda f: np.save(f, X[:n])),
                                (voc, lambda f: f.write("".join(t + "\n" for t in tokens[:n]).encode("utf-8")))):
                tmp = path.with_name(path.name + ".tmp")
                with open(tmp, "wb") as f:
                    write(f)
                os.replace(tmp, path)
            log(f"wrote {npy.name} ({n} x {DIM} float32) and {voc.name}")
        out[n] = (npy, voc, X[:n], tokens[:n])
    return out


# ------------------------------------------------------------------ quality
def _sq_norms(A):
    return np.einsum("ij,ij->i", A, A)


def input_sqdist_rows(X64, xn, rows):
    """Squared distances from X64[rows] to all rows (float64, expansion formula), self = inf."""
    D = xn[rows][:, None] + xn[None, :] - 2.0 * (X64[rows] @ X64.T)
    np.maximum(D, 0.0, out=D)
    D[np.arange(len(rows)), rows] = np.inf
    return D


def embed_sqdist_rows(Y64, rows):
    D = np.zeros((len(rows), len(Y64)))
    for d in range(Y64.shape[1]):
        D += (Y64[rows, d][:, None] - Y64[None, :, d]) ** 2
    D[np.arange(len(rows)), rows] = np.inf
    return D


def topk(D, k):
    part = np.argpartition(D, k, axis=1)[:, :k]
    vals = np.take_along_axis(D, part, axis=1)
    order = np.lexsort((part, vals), axis=1)
    return np.take_along_axis(part, order, axis=1)


def per_point_quality(X64, Y64, points, k=K, chunk=256):
    """Exact per-point trustworthiness penalty and kNN recall for `points`, against all rows."""
    xn = _sq_norms(X64)
    pen = np.empty(len(points))
    rec = np.empty(len(points))
    for s in range(0, len(points), chunk):
        rows = points[s:s + chunk]
        DX = input_sqdist_rows(X64, xn, rows)
        DY = embed_sqdist_rows(Y64, rows)
        nx = topk(DX, k)
        ny = topk(DY, k)
        dyx = np.take_along_axis(DX, ny, axis=1)  # input distance of each embedding neighbour
        # rank r(i, j) = 1 + number of points strictly closer to i than j in the input
        ranks = 1 + np.stack([(DX < dyx[:, c:c + 1]).sum(axis=1) for c in range(k)], axis=1)
        excess = ranks - k
        pen[s:s + len(rows)] = np.where(excess > 0, excess, 0).sum(axis=1)
        rec[s:s + len(rows)] = [len(set(a) & set(b)) / k for a, b in zip(nx.tolist(), ny.tolist())]
    return pen, rec


def trust_from_penalties(pen, n, k=K):
    norm = 2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0))
    t = 1.0 - norm * n * pen.mean()
    se = norm * n * pen.std(ddof=1) / np.sqrt(len(pen)) if len(pen) < n else 0.0
    return float(t), float(se)


def quality(X64, Y, exact_max, sample, rng_seed=0):
    n = len(X64)
    Y64 = np.asarray(Y, dtype=np.float64)
    res = {"n": n}
    t = time.perf_counter()
    if n <= exact_max:
        from sklearn.manifold import trustworthiness

        res["method"] = "exact, all points (sklearn.manifold.trustworthiness + own per-point code)"
        res["trustworthiness@10_sklearn"] = float(trustworthiness(X64, Y64, n_neighbors=K))
        pts = np.arange(n)
    else:
        pts = np.sort(np.random.default_rng(rng_seed).choice(n, size=sample, replace=False))
        res["method"] = (f"exact per-point terms for a uniform sample of {sample} points "
                         f"(np.random.default_rng({rng_seed}).choice, no replacement), ranks and "
                         f"neighbours against all {n} points; T = 1 - 2/(N k (2N-3k-1)) * N * mean penalty")
    pen, rec = per_point_quality(X64, Y64, pts)
    res["trustworthiness@10"], res["trustworthiness@10_stderr"] = trust_from_penalties(pen, n)
    res["knn_preservation@10"] = float(rec.mean())
    res["knn_preservation@10_stderr"] = float(rec.std(ddof=1) / np.sqrt(len(rec))) if len(rec) < n else 0.0
    res["points_evaluated"] = int(len(pts))
    if "trustworthiness@10_sklearn" in res:
        res["own_minus_sklearn"] = res["trustworthiness@10"] - res["trustworthiness@10_sklearn"]
    res["seconds"] = time.perf_counter() - t
    return res, pen, rec


def paired_difference(n, a, b):
    """(b - a) for trustworthiness and kNN preservation measured on the same points, with the
    standard error of the paired difference (0 when every point was evaluated)."""
    (pa, ra), (pb, rb) = a, b
    norm = 2.0 / (n * K * (2.0 * n - 3.0 * K - 1.0))
    dp, dr = pb - pa, rb - ra
    sampled = len(dp) < n
    return {
        "trustworthiness@10": float(-norm * n * dp.mean()),
        "trustworthiness@10_stderr": float(norm * n * dp.std(ddof=1) / np.sqrt(len(dp))) if sampled else 0.0,
        "knn_preservation@10": float(dr.mean()),
        "knn_preservation@10_stderr": float(dr.std(ddof=1) / np.sqrt(len(dr))) if sampled else 0.0,
    }


# ------------------------------------------------------------------ the two tools
def run_opentsne(X64):
    from openTSNE import TSNE

    tsne = TSNE(n_components=2, perplexity=PERPLEXITY, n_jobs=N_JOBS, random_state=SEED)
    t0 = time.perf_counter()
    emb = tsne.prepare_initial(X64)
    t1 = time.perf_counter()
    # The two calls TSNE.fit makes (openTSNE 1.0.4, tsne.py TSNE.fit).
    emb.optimize(n_iter=tsne.early_exaggeration_iter, exaggeration=tsne.early_exaggeration,
                 momentum=tsne.initial_momentum, inplace=True, propagate_exception=True)
    t2 = time.perf_counter()
    emb.optimize(n_iter=tsne.n_iter, exaggeration=tsne.exaggeration, momentum=tsne.final_momentum,
                 inplace=True, propagate_exception=True)
    t3 = time.perf_counter()
    return np.asarray(emb, dtype=np.float64), {
        "fit_s": t3 - t0, "prepare_initial_s": t1 - t0, "early_exaggeration_s": t2 - t1,
        "late_phase_s": t3 - t2, "kl_divergence": float(emb.kl_divergence),
        "iterations": tsne.early_exaggeration_iter + tsne.n_iter,
        "gradient_method": "fft" if len(X64) >= 10_000 else "bh",
        "knn": "annoy" if len(X64) >= 1000 else "exact",
    }


def run_embedscope(binary, npy, vocab, tokens, workdir):
    out = Path(workdir) / "coords.csv"
    cmd = [binary, "project", str(npy), "--vocab", str(vocab), "--method", "tsne",
           "--perplexity", str(PERPLEXITY), "--iterations", str(ITERATIONS), "--seed", str(SEED),
           "--out", str(out), "--json", "--no-cache"]
    r = run_json(cmd, what="embedscope project")
    j = r["json"]
    with open(out, newline="", encoding="utf-8") as f:
        rd = csv.DictReader(f)
        got_tokens, xy = [], []
        for row in rd:
            got_tokens.append(row["token"])
            xy.append((float(row["x"]), float(row["y"])))
    if got_tokens != list(tokens):
        bad = next((i for i, (a, b) in enumerate(zip(got_tokens, tokens)) if a != b), min(len(got_tokens), len(tokens)))
        sys.exit(f"embedscope CSV rows do not follow the input order (first difference at row {bad}; "
                 f"{len(got_tokens)} rows for {len(tokens)} tokens)")
    return np.array(xy, dtype=np.float64), {
        "command": " ".join(cmd),
        "compute_s": get_path(j, "timing_s", "compute"),
        "load_s": get_path(j, "timing_s", "load"),
        "quality_s": get_path(j, "timing_s", "quality"),
        "process_wall_s": r["wall_s"],
        "peak_rss_bytes": r["peak_rss_bytes"],
        "kl_divergence": j.get("kl_divergence", get_path(j, "details", "kl_divergence")),
        # Recall@k of the approximate neighbour index against exact search on a sample (None
        # when the neighbours were exact, below 200,000 points).
        "knn_recall": get_path(j, "details", "knn_recall"),
        "self_reported_quality": j.get("quality"),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--embedscope", type=Path, default=DEFAULT_BINARY, help=f"embedscope binary (default {DEFAULT_BINARY})")
    ap.add_argument("--data-dir", type=Path, default=DEFAULT_DATA, help=f"data from prepare_data.py (default {DEFAULT_DATA})")
    ap.add_argument("--sizes", default="20000,70000", help="comma-separated row counts (default 20000,70000)")
    ap.add_argument("--exact-max", type=int, default=20000, help="largest N measured exactly on all points (default 20000)")
    ap.add_argument("--sample", type=int, default=5000, help="sampled points for larger N (default 5000)")
    ap.add_argument("--peer-only", action="store_true", help="run only openTSNE (no embedscope binary needed)")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    args = ap.parse_args()

    import openTSNE  # noqa: F401
    import sklearn  # noqa: F401

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    machine = machine_info(["numpy", "sklearn", "openTSNE"])
    binary = version = None
    if not args.peer_only:
        binary = str(args.embedscope.resolve())
        version = check_binary(binary)
    d = args.data_dir.resolve()
    inputs = prepare_inputs(d, sizes)

    results = []
    for n in sizes:
        npy, voc, X32, tokens = inputs[n]
        X64 = X32.astype(np.float64)
        row = {"n": n, "input": str(npy)}
        if binary:
            with tempfile.TemporaryDirectory(prefix="estsne-") as td:
                log(f"N={n}: embedscope project ...")
                Ye, row["embedscope"] = run_embedscope(binary, npy, voc, tokens, td)
            log(f"  embedscope compute {row['embedscope']['compute_s']} s, KL {row['embedscope']['kl_divergence']}")
        log(f"N={n}: openTSNE fit ...")
        Yo, row["opentsne"] = run_opentsne(X64)
        log(f"  openTSNE fit {row['opentsne']['fit_s']:.1f} s (prepare {row['opentsne']['prepare_initial_s']:.1f} s), "
            f"KL {row['opentsne']['kl_divergence']:.4f}")
        log(f"N={n}: quality of the openTSNE embedding ...")
        row["opentsne"]["quality"], *o_terms = quality(X64, Yo, args.exact_max, args.sample)
        log(f"  trustworthiness@10 {row['opentsne']['quality']['trustworthiness@10']:.5f} "
            f"({row['opentsne']['quality']['seconds']:.0f} s)")
        if binary:
            log(f"N={n}: quality of the embedscope embedding ...")
            row["embedscope"]["quality"], *e_terms = quality(X64, Ye, args.exact_max, args.sample)
            row["quality_difference_embedscope_minus_opentsne"] = paired_difference(n, o_terms, e_terms)
            ec = row["embedscope"]["compute_s"]
            row["time_ratio_opentsne_over_embedscope"] = row["opentsne"]["fit_s"] / ec if ec else None
        results.append(row)

    res = {"machine": machine, "embedscope": binary, "embedscope_version": version,
           "params": {"perplexity": PERPLEXITY, "iterations": ITERATIONS, "seed": SEED, "n_jobs": N_JOBS, "k": K},
           "results": results}
    res["machine"]["loadavg_at_end"] = busy_cpu_note()
    if args.json:
        print(json.dumps(res, indent=2))
        return

    m = res["machine"]
    print(machine_line(m))
    print(f"python {m['python']}, openTSNE {m.get('openTSNE')}, scikit-learn {m.get('sklearn')}, numpy {m.get('numpy')}; "
          f"embedscope {version or '(not run: --peer-only)'}")
    print(f"t-SNE perplexity {PERPLEXITY}, {ITERATIONS} iterations, seed {SEED}; GloVe 6B 50d first N rows")
    print()
    rows = []
    for r in results:
        o, e = r["opentsne"], r.get("embedscope")
        oq = o["quality"]
        rows.append([f"{r['n']}", "openTSNE", fmt_s(o["fit_s"]), f"{o['kl_divergence']:.4f}",
                     f"{oq['trustworthiness@10']:.5f}" + (f" ±{oq['trustworthiness@10_stderr']:.5f}" if oq["trustworthiness@10_stderr"] else ""),
                     f"{oq['knn_preservation@10']:.4f}", "-", "-"])
        if e:
            eq = e["quality"]
            sq = e.get("self_reported_quality") or {}
            rows.append([f"{r['n']}", "embedscope", fmt_s(e["compute_s"]),
                         f"{e['kl_divergence']:.4f}" if e["kl_divergence"] is not None else "-",
                         f"{eq['trustworthiness@10']:.5f}" + (f" ±{eq['trustworthiness@10_stderr']:.5f}" if eq["trustworthiness@10_stderr"] else ""),
                         f"{eq['knn_preservation@10']:.4f}",
                         "/".join(f"{v:.5f}" if isinstance(v, (int, float)) else "-"
                                  for v in (sq.get("trustworthiness@10"), sq.get("knn_preservation@10"))),
                         fmt_bytes(e["peak_rss_bytes"])])
    print(table(["N", "tool", "time", "KL", "trust@10", "kNN@10", "self-reported T/kNN", "peak RSS"], rows))
    print()
    for r in results:
        o = r["opentsne"]
        print(f"N={r['n']}: openTSNE fit {o['fit_s']:.2f} s = prepare_initial {o['prepare_initial_s']:.2f} s "
              f"(Annoy kNN k=90, affinities, PCA init) + early exaggeration {o['early_exaggeration_s']:.2f} s "
              f"+ late phase {o['late_phase_s']:.2f} s; gradient {o['gradient_method']}")
        if r.get("embedscope"):
            e = r["embedscope"]
            print(f"       embedscope compute {e['compute_s']:.2f} s, load {e['load_s']}, quality {e['quality_s']}, "
                  f"process wall {e['process_wall_s']:.2f} s; ratio openTSNE/embedscope "
                  f"{r['time_ratio_opentsne_over_embedscope']:.2f}x; KL embedscope/openTSNE "
                  f"{e['kl_divergence'] / o['kl_divergence']:.3f}; kNN recall "
                  f"{'exact' if e.get('knn_recall') is None else format(e['knn_recall'], '.4f')}")
        q = o["quality"]
        dq = r.get("quality_difference_embedscope_minus_opentsne")
        if dq:
            print(f"       embedscope - openTSNE (same points, paired): trust@10 {dq['trustworthiness@10']:+.5f}"
                  f" ±{dq['trustworthiness@10_stderr']:.5f}, kNN@10 {dq['knn_preservation@10']:+.4f}"
                  f" ±{dq['knn_preservation@10_stderr']:.4f}")
        print(f"       quality method: {q['method']}")
        if "trustworthiness@10_sklearn" in q:
            print(f"       sklearn trustworthiness {q['trustworthiness@10_sklearn']:.6f}; own code - sklearn = "
                  f"{q['own_minus_sklearn']:.2e}")


if __name__ == "__main__":
    main()
