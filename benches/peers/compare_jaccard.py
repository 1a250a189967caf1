#!/usr/bin/env python3
"""Jaccard@10 neighbour overlap for every word of two sets: faiss-cpu (or numpy) vs `embedscope compare`.

For every word w shared by sets A and B: N_A(w), N_B(w) = its 10 nearest neighbours by cosine in
A and in B (w itself excluded), Jaccard@10(w) = |N_A & N_B| / |N_A | N_B|; the figure compared
is the mean over all words, plus the per-word values.

Data: two synthetic sets of --rows N (default 400,000) x 300 float32 with the same tokens
w0 .. w{N-1}, written once into the data directory (reused when present and the recipe in the
.meta.json matches; --rebuild to write them again):

  jaccard_a_{N}x300.npy  + jaccard_a_{N}x300.vocab.txt (one token per line, the sidecar name
  jaccard_b_{N}x300.npy  + jaccard_b_{N}x300.vocab.txt  embedscope picks up beside X.npy)
  jaccard_{N}x300.meta.json   the recipe and cluster-size statistics

  A  (np.random.default_rng(0), drawn in this order) N/50 cluster centres c_j ~ N(0, I_300);
     each row's cluster j(i) uniform (sizes ~ Poisson(50)); each cluster its own 8-dimensional
     local basis W_j (8 x 300, entries N(0, 1/8)); A_i = c_j + 0.5 * z_i W_j + 0.05 * e_i with
     z_i ~ N(0, I_8), e_i ~ N(0, I_300). Neighbourhoods are the geometric neighbours inside a
     cluster's 8-d patch (every top-10 neighbour lies in the row's own cluster), with a
     median cosine gap between the 10th and 11th neighbour of ~3e-3 in A, ~1.5e-3 for the
     smaller of A and B (gaps below 1e-6 at ~0.05-0.2% of words).
  B  (np.random.default_rng(1)) B = A Q + 0.7 * f_i, Q a random orthogonal 300 x 300 (QR of a
     Gaussian matrix, signs fixed by diag(R)), f_i ~ N(0, I_300). Q alone preserves every
     cosine; the noise reshuffles part of each neighbourhood. Since there are N/50 clusters the
     density, and so the overlap, does not depend on N: mean Jaccard@10 0.5385 / 0.5397 /
     0.5390 at 20k / 50k / 100k rows, 0.535 +- 0.003 on 2,000 random words at 400k.

Peer (--peer faiss, the default): faiss-cpu with --threads (2) OpenMP threads. Timed, after
the matrices are loaded and copied (untimed): faiss.normalize_L2 on both copies; for each
side an IndexFlatIP, add, search(all N rows, k+2 = 12) (one untimed warm-up search of 64 rows first
starts the thread pools); per row the results are ordered by
(score descending, row index ascending), the row itself is dropped (when it is not among its
own results, nothing is dropped) and the first 10 kept; then the per-word Jaccard and the
mean. k+1 = 11 would be enough; the 12th result only lets the script count exact score ties
at the cut-off (10th kept score == next one). Memory: the two matrices, their normalised
copies and one index (~4 x 480 MB at 400k rows).

  How faiss (1.15) breaks exact ties (checked on hand-made rows; both the BLAS path used here,
  >= 20 queries, and the one-query path): its top-k is a min-heap filled in row order; a row
  enters only with a score strictly above the heap's worst, and among equal worst scores the
  LOWER row index is evicted first. So membership among rows tying at the cut-off depends on
  the arrival order: scores [.5, .5, .6] with k=2 give rows {2, 1} (lowest-index-first would
  keep {2, 0}); [.5]*2000 + [.9] + [.5]*999 with k=3 gives {2000, 2, 1}; but [.5, .5, .9, .5,
  .5] gives {2, 1, 0}. Equal scores inside the returned list come highest index first. The
  script re-sorts each list by (score, lower index), which fixes the order but cannot fix
  membership at an exact tie (it is counted: "exact ties at cut-off").

Peer (--peer numpy, for machines without faiss): the same normalisation in numpy; blocks of
512 rows: S = block @ X.T (float32 BLAS, --threads threads via threadpoolctl when installed),
per row the (k+2)-th largest of the 256-column chunk maxima is a lower bound on the (k+2)-th
largest score, so only scores >= it are candidates; these are ordered by (score desc, index
asc) and the first k+2 kept (exact lowest-index tie breaking, on float32 scores), then as
above.

embedscope: `embedscope compare A.npy B.npy -k 10 --json --per-word OUT.csv` with
RAYON_NUM_THREADS=--threads. JSON: mean_jaccard_at_k["10"], timing_s (neighbours, total,
load, ...). The comparable time is timing_s.total - timing_s.load (loading excluded, as for
the peer); total, load and neighbours are printed too. OUT.csv: header `token,jaccard_at_10,...`
(columns found by name), one row per shared word.

Ratio = peer time / embedscope time (> 1: embedscope faster). Timed runs alternate (embedscope,
peer, embedscope, ...; --repeats, default 1: at 400k rows the peer alone takes many minutes);
best of each is reported.

Agreement (untimed):
  * mean Jaccard@10: embedscope's JSON value vs the peer's must agree within 1e-6;
  * per word: how many values differ (|diff| > 1e-3; distinct Jaccard@10 values are >= 0.05
    apart, so CSV rounding cannot count). Differences can come from near-ties: float32 scores
    of two candidates equal to ~1e-7. Up to --resolve-max differing words are recomputed
    exactly: float64 cosines of the raw rows against all N rows, ties by lower index. Each is
    classed by which tool matches that exact value; a tool that does not, at a word whose exact
    gap between the 10th and 11th neighbour (in A or B) is <= --tie-tol (1e-6), is off by a
    near-tie; otherwise it is a mismatch. The mean check then also accepts the peer's mean with
    those words replaced by their exact values.
  * --check-sample M (default 500): M random words (seed 2) recomputed exactly the same way,
    against the peer only (also with --peer-only): validates the peer itself.
Exit status 1 when the mean check fails or embedscope has a mismatch (a difference that no
near-tie explains).

--peer-only runs only the peer (and writes the data): no binary needed.
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
from peer_common import (machine_line, DEFAULT_BINARY, busy_cpu_note, check_binary, fmt_bytes, fmt_s,  # noqa: E402
                         get_path, log, machine_info, run_json, table, warm_page_cache)

import numpy as np  # noqa: E402

DEFAULT_DATA_DIR = Path("/root/.cache/embedscope-bench/data")
K = 10
FETCH = K + 2          # results asked of the peer per row (self + k + one to see ties at the cut-off)
DIM = 300
DEFAULT_ROWS = 400_000
MEAN_TOL = 1e-6
WORD_TOL = 1e-3        # per-word values are i/(20-i): distinct ones differ by >= 0.05

RECIPE_VERSION = 1
CLUSTER_SIZE = 50      # rows per cluster on average: N // 50 clusters
LOCAL_DIM = 8
LOCAL_SCALE = 0.5
ISO_SCALE = 0.05
B_NOISE = 0.7


def recipe(n):
    return {"recipe_version": RECIPE_VERSION, "rows": n, "dim": DIM, "clusters": max(1, n // CLUSTER_SIZE),
            "local_dim": LOCAL_DIM, "local_scale": LOCAL_SCALE, "iso_scale": ISO_SCALE, "b_noise": B_NOISE,
            "seeds": {"a": 0, "b": 1}}


def data_paths(d, n):
    a = d / f"jaccard_a_{n}x{DIM}.npy"
    b = d / f"jaccard_b_{n}x{DIM}.npy"
    return {"a": a, "b": b,
            "a_vocab": a.with_name(a.stem + ".vocab.txt"), "b_vocab": b.with_name(b.stem + ".vocab.txt"),
            "meta": d / f"jaccard_{n}x{DIM}.meta.json"}


# ------------------------------------------------------------------ data


def generate(n):
    """The two matrices of the module docstring (float32), and the cluster labels."""
    t = time.perf_counter()
    rng = np.random.default_rng(0)
    k = max(1, n // CLUSTER_SIZE)
    centres = rng.standard_normal((k, DIM), dtype=np.float32)
    lab = rng.integers(0, k, n)
    basis = rng.standard_normal((k, LOCAL_DIM, DIM), dtype=np.float32)
    basis *= np.float32(1 / np.sqrt(LOCAL_DIM))
    z = rng.standard_normal((n, LOCAL_DIM), dtype=np.float32)
    a = rng.standard_normal((n, DIM), dtype=np.float32)
    a *= np.float32(ISO_SCALE)
    for s in range(0, n, 8192):
        e = min(n, s + 8192)
        a[s:e] += centres[lab[s:e]]
        a[s:e] += np.float32(LOCAL_SCALE) * np.einsum("nl,nld->nd", z[s:e], basis[lab[s:e]])
    del basis, z
    rng1 = np.random.default_rng(1)
    q, r = np.linalg.qr(rng1.standard_normal((DIM, DIM)))
    q *= np.sign(np.diag(r))
    q = q.astype(np.float32)
    b = rng1.standard_normal((n, DIM), dtype=np.float32)
    b *= np.float32(B_NOISE)
    for s in range(0, n, 65536):
        b[s:s + 65536] += a[s:s + 65536] @ q
    log(f"generated {n} x {DIM} A and B in {time.perf_counter() - t:.1f} s")
    return a, b, lab


def save_atomic(path, write):
    tmp = path.with_name(path.name + ".partial")
    with open(tmp, "wb") as f:
        write(f)
    os.replace(tmp, path)


def prepare(d, n, rebuild):
    d.mkdir(parents=True, exist_ok=True)
    p = data_paths(d, n)
    want = recipe(n)
    ok = not rebuild and all(p[x].exists() for x in p)
    if ok:
        try:
            ok = json.loads(p["meta"].read_text()).get("recipe") == want
        except ValueError:
            ok = False
        if not ok:
            log(f"{p['meta'].name}: recipe differs from this script's; writing the data again")
    if ok:
        for x in ("a", "b"):
            m = np.load(p[x], mmap_mode="r")
            if m.shape != (n, DIM) or m.dtype != np.float32:
                sys.exit(f"{p[x]}: {m.shape} {m.dtype}, expected ({n}, {DIM}) float32; rerun with --rebuild")
        log(f"present: {p['a'].name}, {p['b'].name} (+ .vocab.txt)")
        return p
    a, b, lab = generate(n)
    vocab = "".join(f"w{i}\n" for i in range(n)).encode("utf-8")
    for x, arr in (("a", a), ("b", b)):
        save_atomic(p[x], lambda f, arr=arr: np.save(f, arr))
        save_atomic(p[x + "_vocab"], lambda f: f.write(vocab))
        log(f"wrote {p[x]} ({p[x].stat().st_size / 1e6:.1f} MB) and {p[x + '_vocab'].name}")
    sizes = np.bincount(lab, minlength=want["clusters"])
    p["meta"].write_text(json.dumps({
        "recipe": want,
        "cluster_size": {"min": int(sizes.min()), "mean": round(float(sizes.mean()), 2), "max": int(sizes.max())},
    }, indent=2) + "\n")
    return p


# ------------------------------------------------------------------ peers


def select(scores, rows, k):
    """(n, FETCH) results -> (n, k) neighbours: order by (score desc, index asc), drop self, keep k.

    Also returns how many rows did not find themselves among their results and how many have
    an exact score tie between the k-th kept neighbour and the next result."""
    n = len(rows)
    order = np.lexsort((rows, -scores), axis=-1)
    rows = np.take_along_axis(rows, order, 1)
    scores = np.take_along_axis(scores, order, 1)
    is_self = rows == np.arange(n)[:, None]
    keep = np.argsort(is_self, axis=1, kind="stable")      # non-self positions first, order kept
    rows = np.take_along_axis(rows, keep, 1)
    scores = np.take_along_axis(scores, keep, 1)
    self_missing = int(n - is_self.any(axis=1).sum())
    cutoff_ties = int((scores[:, k - 1] == scores[:, k]).sum()) if scores.shape[1] > k else None
    if (rows[:, :k] < 0).any():
        sys.exit("the peer returned fewer than k neighbours for some rows")
    return np.ascontiguousarray(rows[:, :k]), self_missing, cutoff_ties


def jaccard(na, nb):
    """Per-row |na & nb| / |na | nb| for (n, k) lists of distinct row numbers."""
    k = na.shape[1]
    out = np.empty(len(na), dtype=np.float64)
    for s in range(0, len(na), 65536):
        inter = (na[s:s + 65536, :, None] == nb[s:s + 65536, None, :]).any(axis=2).sum(axis=1)
        out[s:s + 65536] = inter / (2 * k - inter)
    return out


def search_faiss(x, fetch):
    import faiss

    index = faiss.IndexFlatIP(x.shape[1])
    index.add(x)
    scores, rows = index.search(x, fetch)
    del index
    return scores, rows


def top_rows(S, fetch, lower=None):
    """Best `fetch` columns of every row of S by (score desc, column asc), exact at ties.

    lower: per-row values known not to exceed the row's fetch-th largest score (a cheap
    prefilter); by default the exact fetch-th largest (np.partition). Every score >= it is a
    candidate, so rows tying at the cut-off are all seen and the lowest columns win."""
    fetch = min(fetch, S.shape[1])
    if lower is None:
        lower = -np.partition(-S, fetch - 1, axis=1)[:, fetch - 1]
    r, c = np.nonzero(S >= lower[:, None])
    v = S[r, c]
    o = np.lexsort((c, -v, r))                                         # by row, score desc, column asc
    r, c, v = r[o], c[o], v[o]
    pos = np.arange(len(r)) - np.searchsorted(r, np.arange(len(S)))[r]
    take = pos < fetch
    rows = np.empty((len(S), fetch), dtype=np.int64)
    scores = np.empty((len(S), fetch), dtype=S.dtype)
    rows[r[take], pos[take]] = c[take]
    scores[r[take], pos[take]] = v[take]
    return scores, rows


def search_numpy(x, fetch, block=512, chunk=256):
    n = len(x)
    out_rows = np.empty((n, min(fetch, n)), dtype=np.int64)
    out_scores = np.empty((n, min(fetch, n)), dtype=np.float32)
    starts = np.arange(0, n, chunk)
    for s in range(0, n, block):
        S = x[s:s + block] @ x.T                                       # (b, n) float32
        lower = None
        if len(starts) >= fetch:
            # the fetch-th largest chunk maximum: at least fetch scores reach it (one per chunk),
            # so it is a lower bound on the row's fetch-th largest score, and cheap to find
            cm = np.maximum.reduceat(S, starts, axis=1)
            lower = -np.partition(-cm, fetch - 1, axis=1)[:, fetch - 1]
        out_scores[s:s + len(S)], out_rows[s:s + len(S)] = top_rows(S, fetch, lower)
    return out_scores, out_rows


def warm_up(peer, x, threads):
    """Untimed: start the thread pools (OpenMP / BLAS) on a small search."""
    x = np.ascontiguousarray(x[:4096] / np.linalg.norm(x[:4096], axis=1, keepdims=True))
    if peer == "faiss":
        import faiss

        faiss.omp_set_num_threads(threads)
        search_faiss(x, FETCH)
    else:
        search_numpy(x, FETCH)


def run_peer(peer, a_raw, b_raw, threads):
    """One timed peer run; returns (times, per-word Jaccard, diagnostics)."""
    a, b = a_raw.copy(), b_raw.copy()                                  # untimed: keep the raw rows
    times = {}
    c0 = time.process_time()
    t0 = time.perf_counter()
    if peer == "faiss":
        import faiss

        faiss.omp_set_num_threads(threads)
        faiss.normalize_L2(a)
        faiss.normalize_L2(b)
        search = search_faiss
    else:
        a /= np.linalg.norm(a, axis=1, keepdims=True)
        b /= np.linalg.norm(b, axis=1, keepdims=True)
        search = search_numpy
    t1 = time.perf_counter()
    times["normalise"] = t1 - t0
    nbrs, diag = {}, {}
    for side, x in (("a", a), ("b", b)):
        t = time.perf_counter()
        scores, rows = search(x, FETCH)
        t2 = time.perf_counter()
        times[f"search_{side}"] = t2 - t
        nbrs[side], diag[f"self_missing_{side}"], diag[f"exact_ties_at_cutoff_{side}"] = select(scores, rows, K)
        times[f"select_{side}"] = time.perf_counter() - t2
        log(f"    {peer} side {side.upper()}: search {times[f'search_{side}']:.2f} s")
    t = time.perf_counter()
    j = jaccard(nbrs["a"], nbrs["b"])
    mean = float(j.mean())
    times["jaccard"] = time.perf_counter() - t
    times["total"] = time.perf_counter() - t0
    times["cpu"] = time.process_time() - c0   # all threads of this process; ~2 x total when both cores work
    return times, j, mean, diag


# ------------------------------------------------------------------ exact (float64) reference


def exact_neighbours(x, words, k):
    """float64 cosine top-k of the given rows against all rows (self excluded), ties by lower
    index; returns (rows (m, k), scores (m, k+1))."""
    n = len(x)
    m = len(words)
    norms = np.empty(n)
    for s in range(0, n, 65536):
        norms[s:s + 65536] = np.linalg.norm(x[s:s + 65536].astype(np.float64), axis=1)
    q = x[words].astype(np.float64) / norms[words][:, None]
    keep = k + 1
    best_s = np.full((m, 0), -np.inf)
    best_r = np.zeros((m, 0), dtype=np.int64)
    chunk = max(1024, (1 << 25) // max(m, 1))
    for s in range(0, n, chunk):
        xc = x[s:s + chunk].astype(np.float64)
        S = (q @ xc.T) / norms[s:s + chunk]
        inside = (words >= s) & (words < s + len(xc))
        S[np.nonzero(inside)[0], words[inside] - s] = -np.inf
        cs, cr = top_rows(S, keep)
        cs = np.concatenate([best_s, cs], axis=1)
        cr = np.concatenate([best_r, cr + s], axis=1)
        o = np.lexsort((cr, -cs), axis=-1)[:, :keep]
        best_s, best_r = np.take_along_axis(cs, o, 1), np.take_along_axis(cr, o, 1)
    return best_r[:, :k], best_s[:, :k + 1]


def exact_jaccard(a, b, words, k):
    """Exact Jaccard@k of the given words and their float64 cut-off gaps (min over A and B)."""
    words = np.asarray(words, dtype=np.int64)
    ra, sa = exact_neighbours(a, words, k)
    rb, sb = exact_neighbours(b, words, k)
    gap = np.minimum(sa[:, k - 1] - sa[:, k], sb[:, k - 1] - sb[:, k])
    return jaccard(ra, rb), gap


def classify(words, exact, gap, peer_j, es_j, tie_tol):
    """Which tool matches the exact value at each word; see the module docstring."""
    counts = {"words": len(words), "embedscope_exact": 0, "peer_exact": 0, "both_exact": 0, "neither_exact": 0,
              "near_tie": 0, "embedscope_mismatch": 0, "peer_mismatch": 0}
    examples = []
    for i, w in enumerate(words):
        p_ok = abs(peer_j[i] - exact[i]) <= WORD_TOL
        e_ok = es_j is None or abs(es_j[i] - exact[i]) <= WORD_TOL
        tie = gap[i] <= tie_tol
        counts["near_tie"] += bool(tie)
        key = "both_exact" if p_ok and e_ok else "peer_exact" if p_ok else "embedscope_exact" if e_ok else "neither_exact"
        counts[key] += 1
        if not p_ok and not tie:
            counts["peer_mismatch"] += 1
        if not e_ok and not tie:
            counts["embedscope_mismatch"] += 1
        if len(examples) < 20 or (not tie and not (p_ok and e_ok) and len(examples) < 200):
            examples.append({"word": f"w{w}", "exact": round(float(exact[i]), 6), "peer": round(float(peer_j[i]), 6),
                             "embedscope": None if es_j is None else round(float(es_j[i]), 6),
                             "exact_gap_10_11": float(gap[i])})
    return counts, examples


# ------------------------------------------------------------------ embedscope


def read_per_word(path, n):
    """OUT.csv -> per-row Jaccard@10 (NaN where a word is missing), rows seen."""
    vals = np.full(n, np.nan)
    seen = 0
    with open(path, newline="", encoding="utf-8") as f:
        rd = csv.reader(f)
        header = next(rd)
        try:
            ti, ji = header.index("token"), header.index(f"jaccard_at_{K}")
        except ValueError:
            sys.exit(f"{path}: header {header} lacks token / jaccard_at_{K}")
        for rec in rd:
            if not rec:
                continue
            tok = rec[ti]
            if not (tok.startswith("w") and tok[1:].isdigit()) or int(tok[1:]) >= n:
                sys.exit(f"{path}: unexpected token {tok!r}")
            vals[int(tok[1:])] = float(rec[ji])
            seen += 1
    return vals, seen, header


def es_time(j):
    total = get_path(j, "timing_s", "total")
    if total is None:
        return None
    return total - (get_path(j, "timing_s", "load") or 0.0)


# ------------------------------------------------------------------ main


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--embedscope", type=Path, default=DEFAULT_BINARY, help=f"embedscope binary (default {DEFAULT_BINARY})")
    ap.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help=f"where the data go (default {DEFAULT_DATA_DIR})")
    ap.add_argument("--rows", type=int, default=DEFAULT_ROWS, help=f"rows per set (default {DEFAULT_ROWS}; e.g. 50000 for a quick check)")
    ap.add_argument("--peer", choices=("faiss", "numpy"), default="faiss", help="faiss-cpu IndexFlatIP (default) or numpy blocked matmul")
    ap.add_argument("--threads", type=int, default=2, help="faiss OpenMP / BLAS threads and RAYON_NUM_THREADS (default 2)")
    ap.add_argument("--repeats", type=int, default=1, help="timed runs per tool, best taken (default 1)")
    ap.add_argument("--resolve-max", type=int, default=5000, help="most differing words recomputed in float64 (default 5000)")
    ap.add_argument("--check-sample", type=int, default=500, help="random words checked against float64 (default 500; 0: none)")
    ap.add_argument("--tie-tol", type=float, default=1e-6, help="exact score gap counted as a near-tie (default 1e-6)")
    ap.add_argument("--peer-csv", type=Path, help="also write the peer's per-word values (token,jaccard_at_10)")
    ap.add_argument("--rebuild", action="store_true", help="write the data again")
    ap.add_argument("--peer-only", action="store_true", help="run only the peer (no embedscope binary needed)")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    args = ap.parse_args()
    if args.rows <= FETCH:
        sys.exit(f"--rows must exceed {FETCH}")

    if args.peer == "faiss":
        import faiss  # noqa: F401  (before machine_info so its version is reported)
    limiter = None
    try:
        # numpy's OpenBLAS (pthreads) and faiss's OpenBLAS (OpenMP build; omp_set_num_threads also
        # governs it) to --threads
        from threadpoolctl import threadpool_limits
        limiter = threadpool_limits(args.threads)
    except ImportError:
        if args.peer == "numpy":
            log("threadpoolctl not installed: numpy's BLAS uses its default thread count")
    machine = machine_info(["numpy", "faiss"])
    binary = version = None
    if not args.peer_only:
        binary = str(args.embedscope.resolve())
        version = check_binary(binary)
    d = args.data_dir.resolve()
    n = args.rows
    paths = prepare(d, n, args.rebuild)
    meta = json.loads(paths["meta"].read_text())
    for x in ("a", "b"):
        warm_page_cache(paths[x])
    a_raw, b_raw = np.load(paths["a"]), np.load(paths["b"])
    log(f"data: {n} x {DIM} float32 x 2; peer {args.peer}, {args.threads} threads")

    # ---------------- timed runs, alternating embedscope and the peer
    es_runs, peer_runs = [], []
    peer_j = peer_mean = peer_diag = es_vals = es_header = None
    es_seen = 0
    env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads))
    warm_up(args.peer, a_raw, args.threads)
    with tempfile.TemporaryDirectory(prefix="esjac-", dir=d) as td:
        out_csv = Path(td) / "per_word.csv"
        cmd = [binary, "compare", str(paths["a"]), str(paths["b"]), "-k", str(K), "--json",
               "--per-word", str(out_csv)] if binary else None
        for i in range(args.repeats):
            if binary:
                r = run_json(cmd, env=env, what="embedscope compare")
                es_runs.append(r)
                log(f"  embedscope repeat {i + 1}: total {get_path(r['json'], 'timing_s', 'total')} s, "
                    f"load {get_path(r['json'], 'timing_s', 'load')} s, "
                    f"neighbours {get_path(r['json'], 'timing_s', 'neighbours')} s, wall {r['wall_s']:.2f} s")
                if i == 0:
                    if not out_csv.exists():
                        sys.exit(f"embedscope wrote no per-word file {out_csv}")
                    es_vals, es_seen, es_header = read_per_word(out_csv, n)
            times, j, mean, diag = run_peer(args.peer, a_raw, b_raw, args.threads)
            peer_runs.append({"times": times, "mean": mean})
            log(f"  {args.peer} repeat {i + 1}: total {times['total']:.2f} s, mean Jaccard@{K} {mean:.6f}")
            if i == 0:
                peer_j, peer_mean, peer_diag = j, mean, diag
    if limiter is not None:
        limiter.restore_original_limits()

    if args.peer_csv:
        with open(args.peer_csv, "w", encoding="utf-8", newline="\n") as f:
            f.write(f"token,jaccard_at_{K}\n")
            f.write("".join(f"w{i},{v:.6f}\n" for i, v in enumerate(peer_j)))

    best_peer = min(peer_runs, key=lambda r: r["times"]["total"])
    res = {
        "machine": machine,
        "embedscope": binary,
        "embedscope_version": version,
        "repeats": args.repeats,
        "data": {"a": str(paths["a"]), "b": str(paths["b"]), "rows": n, "dim": DIM, "k": K, "meta": meta},
        "peer": {
            "name": args.peer,
            "threads": args.threads,
            "time_s_best": best_peer["times"]["total"],
            "time_s_all": [r["times"]["total"] for r in peer_runs],
            "times_best": best_peer["times"],
            "mean_jaccard": peer_mean,
            "mean_jaccard_all": [r["mean"] for r in peer_runs],
            "jaccard_quantiles": {str(q): float(np.quantile(peer_j, q)) for q in (0.1, 0.25, 0.5, 0.75, 0.9)},
            "fetched_per_row": FETCH,
            **peer_diag,
        },
    }

    # ---------------- float64 check of the peer on a random sample (untimed)
    if args.check_sample > 0:
        words = np.sort(np.random.default_rng(2).choice(n, size=min(args.check_sample, n), replace=False))
        t = time.perf_counter()
        ex, gap = exact_jaccard(a_raw, b_raw, words, K)
        counts, examples = classify(words, ex, gap, peer_j[words], None, args.tie_tol)
        log(f"float64 check of {len(words)} sampled words: {time.perf_counter() - t:.1f} s")
        res["peer_sample_check"] = {"words": len(words), "peer_differs": counts["words"] - counts["both_exact"],
                                    "peer_mismatch": counts["peer_mismatch"], "near_tie": counts["near_tie"],
                                    "exact_mean_of_sample": float(ex.mean()),
                                    "examples": [e for e in examples if e["exact"] != e["peer"]][:20]}

    # ---------------- embedscope agreement (untimed)
    failed = False
    if binary:
        best = min(es_runs, key=lambda r: es_time(r["json"]) if es_time(r["json"]) is not None else float("inf"))
        bj = best["json"]
        es_mean = get_path(bj, "mean_jaccard_at_k", str(K))
        if es_mean is None:
            sys.exit(f"embedscope JSON has no mean_jaccard_at_k[\"{K}\"]: {json.dumps(bj)[:500]}")
        have = ~np.isnan(es_vals)
        diff_words = np.nonzero(have & (np.abs(es_vals - peer_j) > WORD_TOL))[0]
        raw_diff = abs(es_mean - peer_mean)
        agree = {
            "mean_embedscope_json": es_mean,
            "mean_embedscope_csv": float(np.nanmean(es_vals)) if have.any() else None,
            "mean_peer": peer_mean,
            "mean_abs_diff": raw_diff,
            "csv_rows": es_seen,
            "csv_header": es_header,
            "words_missing_from_csv": int((~have).sum()),
            "words_differing": int(len(diff_words)),
            "max_abs_diff": float(np.nanmax(np.abs(es_vals - peer_j))) if have.any() else None,
        }
        ok = raw_diff <= MEAN_TOL
        if 0 < len(diff_words) <= args.resolve_max:
            t = time.perf_counter()
            ex, gap = exact_jaccard(a_raw, b_raw, diff_words, K)
            counts, examples = classify(diff_words, ex, gap, peer_j[diff_words], es_vals[diff_words], args.tie_tol)
            log(f"float64 resolution of {len(diff_words)} differing words: {time.perf_counter() - t:.1f} s")
            resolved_mean = peer_mean + float((ex - peer_j[diff_words]).sum()) / n
            agree.update({"resolved": counts, "resolved_examples": examples, "mean_peer_resolved": resolved_mean,
                          "mean_abs_diff_resolved": abs(es_mean - resolved_mean)})
            ok = ok or abs(es_mean - resolved_mean) <= MEAN_TOL
            if counts["embedscope_mismatch"]:
                failed = True
        elif len(diff_words) > args.resolve_max:
            agree["resolved"] = f"skipped: {len(diff_words)} differing words > --resolve-max {args.resolve_max}"
        agree["mean_ok"] = ok
        failed = failed or not ok or agree["words_missing_from_csv"] > 0
        e_t = es_time(bj)
        res["embedscope_compare"] = {
            "command": " ".join(cmd),
            "time_s_best": e_t,
            "time_s_all": [es_time(r["json"]) for r in es_runs],
            "timing_s_best": bj.get("timing_s"),
            "total_s_all": [get_path(r["json"], "timing_s", "total") for r in es_runs],
            "load_s_all": [get_path(r["json"], "timing_s", "load") for r in es_runs],
            "neighbours_s_all": [get_path(r["json"], "timing_s", "neighbours") for r in es_runs],
            "process_wall_s_all": [r["wall_s"] for r in es_runs],
            "peak_rss_bytes": max(r["peak_rss_bytes"] for r in es_runs),
            "mean_jaccard": es_mean,
        }
        res["agreement"] = agree
        res["time_ratio_peer_over_embedscope"] = best_peer["times"]["total"] / e_t if e_t else None
    res["machine"]["loadavg_at_end"] = busy_cpu_note()

    if args.json:
        print(json.dumps(res, indent=2))
    else:
        report(res, args, version)
    if failed:
        sys.exit(1)


def fmt_g(x, spec):
    return "-" if x is None else format(x, spec)


def report(res, args, version):
    m, pr = res["machine"], res["peer"]
    print(machine_line(m))
    lib = f"faiss {m.get('faiss')} ({pr['threads']} OpenMP threads)" if pr["name"] == "faiss" else f"numpy BLAS ({pr['threads']} threads)"
    print(f"python {m['python']}, {lib}, numpy {m.get('numpy')}; embedscope {version or '(not run: --peer-only)'}")
    dm = res["data"]["meta"]
    print(f"data: 2 x {res['data']['rows']} x {res['data']['dim']} float32 (synthetic, recipe v{dm['recipe']['recipe_version']}, "
          f"{dm['recipe']['clusters']} clusters of {dm['cluster_size']['min']}..{dm['cluster_size']['max']} rows), "
          f"Jaccard@{K} of every word; best of {args.repeats}")
    print()
    n, dim = res["data"]["rows"], res["data"]["dim"]
    peer_name = "faiss IndexFlatIP" if pr["name"] == "faiss" else "numpy blocked matmul"
    es = res.get("embedscope_compare")
    ratio = res.get("time_ratio_peer_over_embedscope")
    rows = [[peer_name, fmt_s(pr["time_s_best"]), "1.00", f"{pr['mean_jaccard']:.7f}", "-", n, dim]]
    if es:
        rows.append(["embedscope compare (total - load)", fmt_s(es["time_s_best"]), f"{ratio:.2f}" if ratio else "-",
                     f"{es['mean_jaccard']:.7f}", fmt_bytes(es["peak_rss_bytes"]), n, dim])
    print(table(["", "time", "ratio peer/es", f"mean Jaccard@{K}", "peak RSS", "N", "dim"], rows))
    print()
    tb = pr["times_best"]
    print(f"{pr['name']} best run: normalise {tb['normalise']:.3f} s, search A {tb['search_a']:.2f} s, search B {tb['search_b']:.2f} s, "
          f"select {tb['select_a'] + tb['select_b']:.3f} s, Jaccard {tb['jaccard']:.3f} s (process CPU time {tb['cpu']:.2f} s); all runs "
          f"{[round(x, 2) for x in pr['time_s_all']]} s")
    q = pr["jaccard_quantiles"]
    print(f"peer per-word Jaccard@{K}: 10/25/50/75/90% quantiles {q['0.1']:.3f} / {q['0.25']:.3f} / {q['0.5']:.3f} / "
          f"{q['0.75']:.3f} / {q['0.9']:.3f}; self not among its own results: A {pr['self_missing_a']}, B {pr['self_missing_b']}; "
          f"exact float32 ties at the cut-off: A {pr['exact_ties_at_cutoff_a']}, B {pr['exact_ties_at_cutoff_b']}")
    sc = res.get("peer_sample_check")
    if sc:
        print(f"float64 check of the peer on {sc['words']} random words: {sc['peer_differs']} differ "
              f"({sc['near_tie']} near-ties <= {args.tie_tol:g}, {sc['peer_mismatch']} not explained by a near-tie)")
    if es:
        r3 = lambda xs: [round(x, 3) if isinstance(x, (int, float)) else x for x in xs]  # noqa: E731
        print(f"embedscope per run: total {r3(es['total_s_all'])} s, load {r3(es['load_s_all'])} s, "
              f"neighbours {r3(es['neighbours_s_all'])} s, process wall {r3(es['process_wall_s_all'])} s")
        print(f"embedscope timing_s (best run): {es['timing_s_best']}")
        ag = res["agreement"]
        print()
        print(f"mean Jaccard@{K}: embedscope {ag['mean_embedscope_json']:.9f} (mean of the CSV {fmt_g(ag['mean_embedscope_csv'], '.9f')}), "
              f"peer {ag['mean_peer']:.9f}, |diff| {ag['mean_abs_diff']:.2e} "
              f"-> {'OK' if ag['mean_ok'] else 'FAIL'} (tolerance {MEAN_TOL:g})")
        print(f"per word: {ag['words_differing']} of {ag['csv_rows']} values differ (max |diff| {fmt_g(ag['max_abs_diff'], '.3g')}); "
              f"{ag['words_missing_from_csv']} words missing from the CSV")
        rv = ag.get("resolved")
        if isinstance(rv, dict):
            print(f"  float64 resolution: embedscope exact {rv['embedscope_exact']}, peer exact {rv['peer_exact']}, "
                  f"neither {rv['neither_exact']}; near-ties {rv['near_tie']}; mismatches embedscope {rv['embedscope_mismatch']}, "
                  f"peer {rv['peer_mismatch']}; peer mean with these resolved {ag['mean_peer_resolved']:.9f} "
                  f"(|diff| {ag['mean_abs_diff_resolved']:.2e})")
            for ex in ag["resolved_examples"][:10]:
                print(f"    {ex}")
        elif rv:
            print(f"  {rv}")


if __name__ == "__main__":
    main()
