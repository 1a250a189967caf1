#!/usr/bin/env python3
"""Parse speed and memory: gensim vs embedscope on the same GloVe text files, same run.

For glove.6B.50d.100k.txt and glove.6B.50d.txt (made by prepare_data.py):

  gensim      KeyedVectors.load_word2vec_format(path, binary=False, no_header=True), timed
              around that call alone inside a fresh Python process per repeat (the gensim
              import is not counted); peak RSS of that whole process.
  embedscope  `embedscope info FILE --no-cache --json` in a fresh process per repeat: the
              process wall time (what the ratio uses: it includes process start, the
              integrity scan and JSON output), the JSON's timing_s.load, and peak RSS.

Best of --repeats for times; peak RSS is the largest seen over the repeats. Every child is
waited for with os.wait4, so each RSS figure is that one process's peak.

Checks, not timed: both report the same rows and dim; the whole matrix and token order
embedscope converts to .npy equal gensim's (bit for bit); the top-5 neighbours of "the"
agree (same tokens in the same order, scores within 1e-5).

Native cache: `info FILE --json` with EMBEDSCOPE_CACHE_DIR=<fresh temp dir> once (writes
the cache, cache.status "stored"), then best of --repeats of the same command (each must
say cache.status "hit").

400k x 300: synth400k_300.npy is converted once to synth400k_300.esv (native format),
then `info synth400k_300.esv --json --no-cache` is timed (best of --repeats).

The page cache is warmed (file read once) before timing, so these are warm-cache numbers.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peer_common import (machine_line, DEFAULT_BINARY, DEFAULT_DATA, check_binary, fmt_bytes, fmt_s, get_path,  # noqa: E402
                         busy_cpu_note, log, machine_info, run_json, run_measured, table, warm_page_cache)

GLOVE_FILES = ["glove.6B.50d.100k.txt", "glove.6B.50d.txt"]
NEIGHBOR_WORD = "the"
TOPN = 5
SCORE_TOL = 1e-5


# ------------------------------------------------------------------ gensim worker (child process)


def gensim_worker(path, check_dir):
    import resource

    from gensim.models import KeyedVectors

    t = time.perf_counter()
    kv = KeyedVectors.load_word2vec_format(path, binary=False, no_header=True)
    load_s = time.perf_counter() - t
    out = {
        "load_s": load_s,
        "rows": len(kv),
        "dim": int(kv.vector_size),
        "peak_rss_after_load_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }
    if check_dir:
        import numpy as np

        np.save(os.path.join(check_dir, "gensim.npy"), kv.vectors)
        with open(os.path.join(check_dir, "gensim.tokens.txt"), "w", encoding="utf-8") as f:
            f.write("".join(t + "\n" for t in kv.index_to_key))
        if NEIGHBOR_WORD in kv.key_to_index:
            out["most_similar"] = [[w, float(s)] for w, s in kv.most_similar(NEIGHBOR_WORD, topn=TOPN)]
    print(json.dumps(out))


def run_gensim(path, check_dir=None):
    cmd = [sys.executable, os.path.abspath(__file__), "--gensim-worker", str(path)]
    if check_dir:
        cmd += ["--check-dir", str(check_dir)]
    r = run_json(cmd, what="gensim worker")
    return r


# ------------------------------------------------------------------ checks


def check_glove(binary, path, gensim_check, es_rows, es_dim, tmp):
    """Same rows/dim, identical matrix and tokens, same neighbours of 'the'."""
    import numpy as np

    res = {"ok": True, "problems": []}

    def bad(msg):
        res["ok"] = False
        res["problems"].append(msg)
        log(f"CHECK FAILED {path.name}: {msg}")

    g = gensim_check["json"]
    if (g["rows"], g["dim"]) != (es_rows, es_dim):
        bad(f"shape: gensim {g['rows']}x{g['dim']}, embedscope {es_rows}x{es_dim}")

    # Whole matrix: embedscope writes what it parsed as .npy (+ .vocab.txt).
    out_npy = tmp / "embedscope.npy"
    conv = run_json([binary, "convert", str(path), str(out_npy), "--no-cache", "--json"], what="embedscope convert")
    written = conv["json"].get("output", [str(out_npy)])
    vocab_file = next((Path(p) for p in written if p.endswith(".txt")), tmp / "embedscope.vocab.txt")
    gm = np.load(tmp / "gensim.npy")
    em = np.load(out_npy)
    if gm.shape != em.shape:
        bad(f"matrix shape: gensim {gm.shape}, embedscope {em.shape}")
    else:
        neq = gm.view(np.uint32) != em.view(np.uint32)
        res["matrix_elements_differing"] = int(neq.sum())
        res["matrix_rows_differing"] = int(neq.any(axis=1).sum())
        res["matrix_max_abs_diff"] = float(np.max(np.abs(gm.astype(np.float64) - em.astype(np.float64))))
        if res["matrix_elements_differing"]:
            bad(f"{res['matrix_elements_differing']} matrix elements differ (max |diff| {res['matrix_max_abs_diff']:.3g})")
    gt = (tmp / "gensim.tokens.txt").read_text(encoding="utf-8").split("\n")[:-1]
    if vocab_file.exists():
        et = vocab_file.read_text(encoding="utf-8").split("\n")
        if et and et[-1] == "":
            et = et[:-1]
        # A vocab file may carry counts after the token ("the 123"); keep the token.
        et = [line.split(" ")[0] for line in et]
        res["token_mismatches"] = sum(a != b for a, b in zip(gt, et)) + abs(len(gt) - len(et))
        if res["token_mismatches"]:
            bad(f"{res['token_mismatches']} tokens differ in row order")
    else:
        res["token_mismatches"] = None
        res["problems"].append(f"embedscope wrote no vocabulary file beside {out_npy} (token order not checked)")
    del gm, em

    # Neighbours of "the".
    nb = run_json([binary, "neighbors", str(path), NEIGHBOR_WORD, "-k", str(TOPN), "--json", "--no-cache"],
                  what="embedscope neighbors")["json"]
    es_list = [[n["token"], float(n["score"])] for n in nb["results"][0]["neighbors"]]
    gs_list = g.get("most_similar", [])
    res["neighbors_gensim"] = gs_list
    res["neighbors_embedscope"] = es_list
    toks_same = [t for t, _ in gs_list] == [t for t, _ in es_list]
    max_diff = max((abs(a[1] - b[1]) for a, b in zip(gs_list, es_list)), default=None)
    res["neighbors_same_tokens"] = toks_same
    res["neighbors_max_score_diff"] = max_diff
    if not toks_same:
        bad(f"top-{TOPN} of '{NEIGHBOR_WORD}': gensim {gs_list} vs embedscope {es_list}")
    elif max_diff is None or max_diff > SCORE_TOL:
        bad(f"top-{TOPN} scores differ by {max_diff}")
    return res


# ------------------------------------------------------------------ benchmark


def bench_glove(binary, path, repeats, cache_root):
    warm_page_cache(path)
    log(f"{path.name}: {repeats} x gensim and embedscope (alternating)")
    g_runs, e_runs = [], []
    for i in range(repeats):
        g = run_gensim(path)
        g_runs.append(g)
        e = run_json([binary, "info", str(path), "--no-cache", "--json"], what="embedscope info")
        e_runs.append(e)
        log(f"  repeat {i + 1}: gensim load {g['json']['load_s']:.3f} s (process {g['wall_s']:.2f} s), "
            f"embedscope process {e['wall_s']:.3f} s (load {get_path(e['json'], 'timing_s', 'load', default=float('nan')):.3f} s)")

    es = e_runs[0]["json"]
    rows, dim = es.get("rows"), es.get("dim")

    # Native cache: one storing run, then timed reopen runs.
    cache_dir = Path(tempfile.mkdtemp(prefix="escache-", dir=cache_root))
    env = dict(os.environ, EMBEDSCOPE_CACHE_DIR=str(cache_dir))
    try:
        first = run_json([binary, "info", str(path), "--json"], env=env, what="embedscope info (cache store)")
        store_status = get_path(first["json"], "cache", "status")
        hits = []
        for _ in range(repeats):
            h = run_json([binary, "info", str(path), "--json"], env=env, what="embedscope info (cache hit)")
            hits.append(h)
        hit_status = [get_path(h["json"], "cache", "status") for h in hits]
        cache_bytes = sum(f.stat().st_size for f in cache_dir.rglob("*") if f.is_file())
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)

    # Correctness (one extra gensim run that also dumps its matrix).
    with tempfile.TemporaryDirectory(prefix="esparse-", dir=cache_root) as td:
        gc = run_gensim(path, check_dir=td)
        checks = check_glove(binary, path, gc, rows, dim, Path(td))

    g_best = min(r["json"]["load_s"] for r in g_runs)
    e_best_wall = min(r["wall_s"] for r in e_runs)
    e_best_load = min(get_path(r["json"], "timing_s", "load", default=float("inf")) for r in e_runs)
    matrix_bytes = rows * dim * 4 if rows and dim else None
    e_rss = max(r["peak_rss_bytes"] for r in e_runs)
    hit_best = min(hits, key=lambda h: h["wall_s"])
    return {
        "file": path.name,
        "file_bytes": path.stat().st_size,
        "rows": rows,
        "dim": dim,
        "matrix_bytes": matrix_bytes,
        "gensim": {
            "load_s_best": g_best,
            "load_s_all": [r["json"]["load_s"] for r in g_runs],
            "process_wall_s_all": [r["wall_s"] for r in g_runs],
            "peak_rss_bytes": max(r["peak_rss_bytes"] for r in g_runs),
            "peak_rss_after_load_bytes": max(r["json"]["peak_rss_after_load_bytes"] for r in g_runs),
            "rows": g_runs[0]["json"]["rows"],
        },
        "embedscope": {
            "process_wall_s_best": e_best_wall,
            "process_wall_s_all": [r["wall_s"] for r in e_runs],
            "load_s_best": e_best_load,
            "load_s_all": [get_path(r["json"], "timing_s", "load") for r in e_runs],
            "scan_s_all": [get_path(r["json"], "timing_s", "scan") for r in e_runs],
            "cpu_user_s_all": [r["user_s"] for r in e_runs],
            "peak_rss_bytes": e_rss,
            "peak_rss_over_matrix": e_rss / matrix_bytes if matrix_bytes else None,
            "format": es.get("format"),
            "memory_mapped": es.get("memory_mapped"),
            "cache_status": get_path(es, "cache", "status"),
        },
        "ratio_gensim_over_embedscope_wall": g_best / e_best_wall,
        "ratio_gensim_over_embedscope_load": g_best / e_best_load if e_best_load else None,
        "cache": {
            "store_run_wall_s": first["wall_s"],
            "store_status": store_status,
            "cache_dir_bytes": cache_bytes,
            "hit_statuses": hit_status,
            "all_hits": all(s == "hit" for s in hit_status),
            "hit_wall_s_best": hit_best["wall_s"],
            "hit_load_s_best": min(get_path(h["json"], "timing_s", "load", default=float("inf")) for h in hits),
            "hit_peak_rss_bytes": max(h["peak_rss_bytes"] for h in hits),
            "hit_memory_mapped": get_path(hit_best["json"], "memory_mapped"),
        },
        "checks": checks,
    }


def bench_native(binary, data_dir, repeats):
    npy = data_dir / "synth400k_300.npy"
    vocab = data_dir / "synth400k_300.vocab.txt"
    esv = data_dir / "synth400k_300.esv"
    conv = None
    info_cmd = [binary, "info", str(esv), "--json", "--no-cache"]
    if esv.exists() and run_measured(info_cmd)["rc"] != 0:
        # Written by an older build whose native layout this one rejects: make it again.
        log(f"{esv.name} is not readable by this build; converting again")
        esv.unlink()
    if not esv.exists():
        log(f"converting {npy.name} -> {esv.name}")
        c = run_json([binary, "convert", str(npy), str(esv), "--vocab", str(vocab), "--no-cache", "--json"],
                     what="embedscope convert")
        conv = {"wall_s": c["wall_s"], "timing_s": c["json"].get("timing_s"), "output": c["json"].get("output")}
    warm_page_cache(esv)
    runs = [run_json(info_cmd, what="embedscope info (esv)")
            for _ in range(repeats)]
    j = runs[0]["json"]
    rows, dim = j.get("rows"), j.get("dim")
    mb = rows * dim * 4 if rows and dim else None
    rss = max(r["peak_rss_bytes"] for r in runs)
    return {
        "file": esv.name,
        "file_bytes": esv.stat().st_size,
        "rows": rows,
        "dim": dim,
        "matrix_bytes": mb,
        "format": j.get("format"),
        "memory_mapped": j.get("memory_mapped"),
        "convert": conv,
        "process_wall_s_best": min(r["wall_s"] for r in runs),
        "process_wall_s_all": [r["wall_s"] for r in runs],
        "load_s_best": min(get_path(r["json"], "timing_s", "load", default=float("inf")) for r in runs),
        "load_s_all": [get_path(r["json"], "timing_s", "load") for r in runs],
        "scan_s_all": [get_path(r["json"], "timing_s", "scan") for r in runs],
        "peak_rss_bytes": rss,
        "peak_rss_over_matrix": rss / mb if mb else None,
    }


def report_text(res):
    m = res["machine"]
    lines = [
        machine_line(m),
        f"python {m['python']}, gensim {m.get('gensim')}, numpy {m.get('numpy')}; embedscope {res['embedscope_version']}",
        f"repeats: {res['repeats']} (best time; peak RSS = max over repeats); warm page cache",
        "",
        "Parse GloVe text (gensim load_word2vec_format no_header=True  vs  embedscope info --no-cache --json)",
    ]
    rows = []
    for r in res["glove"]:
        g, e = r["gensim"], r["embedscope"]
        rows.append([
            r["file"], r["rows"], fmt_s(g["load_s_best"]), fmt_s(e["process_wall_s_best"]),
            f"{r['ratio_gensim_over_embedscope_wall']:.1f}x", fmt_s(e["load_s_best"]),
            fmt_bytes(g["peak_rss_bytes"]), fmt_bytes(e["peak_rss_bytes"]), fmt_bytes(r["matrix_bytes"]),
            f"{e['peak_rss_over_matrix']:.2f}" if e["peak_rss_over_matrix"] else "-",
        ])
    lines.append(table(["file", "rows", "gensim", "embedscope(wall)", "gensim/es", "es load",
                        "gensim RSS", "es RSS", "matrix", "es RSS/matrix"], rows))
    lines.append("")
    lines.append("Reopen from the native cache (info FILE --json, EMBEDSCOPE_CACHE_DIR=temp; first run stores)")
    rows = []
    for r in res["glove"]:
        c = r["cache"]
        rows.append([r["file"], c["store_status"], fmt_s(c["store_run_wall_s"]), ",".join(map(str, c["hit_statuses"])),
                     fmt_s(c["hit_wall_s_best"]), fmt_s(c["hit_load_s_best"]), fmt_bytes(c["hit_peak_rss_bytes"]),
                     fmt_bytes(c["cache_dir_bytes"]),
                     f"{r['gensim']['load_s_best'] / c['hit_wall_s_best']:.0f}x"])
    lines.append(table(["file", "1st run", "1st wall", "then", "hit wall", "hit load", "hit RSS", "cache size",
                        "gensim/hit"], rows))
    n = res.get("native")
    if n:
        lines.append("")
        lines.append(f"Native file {n['rows']} x {n['dim']} (info {n['file']} --json --no-cache)")
        lines.append(table(["file", "size", "wall", "load", "scan", "RSS", "RSS/matrix", "mmap"], [[
            n["file"], fmt_bytes(n["file_bytes"]), fmt_s(n["process_wall_s_best"]), fmt_s(n["load_s_best"]),
            fmt_s(min(x for x in n["scan_s_all"] if x is not None)) if any(x is not None for x in n["scan_s_all"]) else "-",
            fmt_bytes(n["peak_rss_bytes"]), f"{n['peak_rss_over_matrix']:.2f}" if n["peak_rss_over_matrix"] else "-",
            n["memory_mapped"]]]))
        if n.get("convert"):
            lines.append(f"(converted from .npy this run in {fmt_s(n['convert']['wall_s'])})")
    lines.append("")
    lines.append("Checks")
    for r in res["glove"]:
        c = r["checks"]
        lines.append(
            f"  {r['file']}: rows gensim {r['gensim']['rows']} / embedscope {r['rows']}; "
            f"matrix elements differing {c.get('matrix_elements_differing')}; token mismatches {c.get('token_mismatches')}; "
            f"top-{TOPN} '{NEIGHBOR_WORD}' same tokens {c.get('neighbors_same_tokens')}, "
            f"max score diff {c.get('neighbors_max_score_diff') if c.get('neighbors_max_score_diff') is None else format(c['neighbors_max_score_diff'], '.2e')}"
            f" -> {'OK' if c['ok'] else 'FAILED: ' + '; '.join(c['problems'])}")
        lines.append(f"    gensim:     {[(t, round(s, 6)) for t, s in c.get('neighbors_gensim', [])]}")
        lines.append(f"    embedscope: {[(t, round(s, 6)) for t, s in c.get('neighbors_embedscope', [])]}")
    lines.append("")
    lines.append("Per-repeat times (s)")
    for r in res["glove"]:
        lines.append(f"  {r['file']}: gensim load {[round(x, 3) for x in r['gensim']['load_s_all']]}, "
                     f"embedscope wall {[round(x, 3) for x in r['embedscope']['process_wall_s_all']]}, "
                     f"load {[round(x, 3) if x is not None else None for x in r['embedscope']['load_s_all']]}")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--embedscope", type=Path, default=DEFAULT_BINARY, help=f"embedscope binary (default {DEFAULT_BINARY})")
    ap.add_argument("--data-dir", type=Path, default=DEFAULT_DATA, help=f"data from prepare_data.py (default {DEFAULT_DATA})")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    ap.add_argument("--files", nargs="*", default=GLOVE_FILES, help="GloVe text files in the data dir")
    ap.add_argument("--skip-native", action="store_true", help="skip the 400k x 300 native-file test")
    ap.add_argument("--gensim-worker", help=argparse.SUPPRESS)
    ap.add_argument("--check-dir", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.gensim_worker:
        gensim_worker(args.gensim_worker, args.check_dir)
        return

    binary = str(args.embedscope.resolve())
    version = check_binary(binary)
    data = args.data_dir.resolve()
    for f in args.files:
        if not (data / f).exists():
            sys.exit(f"{data / f} missing: run benches/peers/prepare_data.py --data-dir {data}")
    import gensim  # noqa: F401  (version for the report)
    import numpy  # noqa: F401

    res = {
        "machine": machine_info(["gensim", "numpy"]),
        "embedscope": binary,
        "embedscope_version": version,
        "repeats": args.repeats,
        "data_dir": str(data),
        "glove": [bench_glove(binary, data / f, args.repeats, data) for f in args.files],
    }
    if not args.skip_native:
        res["native"] = bench_native(binary, data, args.repeats)
    res["machine"]["loadavg_at_end"] = busy_cpu_note()
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        print(report_text(res))
    if not all(r["checks"]["ok"] for r in res["glove"]) or not all(r["cache"]["all_hits"] for r in res["glove"]):
        sys.exit(1)


if __name__ == "__main__":
    main()
