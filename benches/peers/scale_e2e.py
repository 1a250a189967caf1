"""Millions of rows end to end through the CLI: open a large set, build its neighbour index
(persisted), reopen the index, answer neighbour queries (approximate and exact, with the recall of
the approximate answers), and make a UMAP map, each step a separate process measured for wall
time and peak RSS (from /usr/bin/time), with peak RSS as a multiple of the matrix's bytes.

    python benches/peers/make_scale_data.py --rows 2000000 --dim 300 --out DATA/synth-2m-300
    python benches/peers/scale_e2e.py --binary target/release/embedscope --file DATA/synth-2m-300.npy

Prints one JSON object (machine, sizes, every step). Peak RSS counts the pages of memory-mapped
files the process touched (the matrix of an .npy or cached set is mapped, not copied).
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from peer_common import machine_info  # noqa: E402


def timed(cmd, env):
    t = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    print(f"[scale] {wall:8.1f} s  {' '.join(cmd[1:3])}", file=sys.stderr, flush=True)
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    rss = int(m.group(1)) * 1024 if m else None
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    return wall, rss, p.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--file", required=True)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--umap", action="store_true", help="also make a UMAP map (long on 2M rows)")
    ap.add_argument("--umap-epochs", type=int, default=None)
    args = ap.parse_args()
    env = dict(os.environ)
    env.setdefault("EMBEDSCOPE_CACHE_DIR", tempfile.mkdtemp(prefix="embedscope-scale-cache-"))
    b, f = args.binary, args.file
    steps = {}

    wall, rss, out = timed([b, "info", f, "--json"], env)
    info = json.loads(out)
    rows, dim = info["rows"], info["dim"]
    matrix = rows * dim * 4
    steps["open (info)"] = (wall, rss)
    # Every 20,000th row as a query (spread over the clusters).
    words = [f"w{i}" for i in range(0, rows, max(1, rows // args.queries))][: args.queries]

    def neighbors(index, extra=()):
        return timed([b, "neighbors", f, *words, "-k", "10", "--index", index, "--json", *extra], env)

    wall, rss, ann_out = neighbors("ann")
    steps["neighbors --index ann (index built and stored)"] = (wall, rss)
    wall, rss, ann_out2 = neighbors("ann")
    steps["neighbors --index ann (index reopened)"] = (wall, rss)
    wall, rss, exact_out = neighbors("exact")
    steps["neighbors --index exact"] = (wall, rss)

    def answer_sets(js):
        v = json.loads(js)
        res = v.get("results", v.get("queries", []))
        out = []
        for r in res:
            ns = r.get("neighbors", r.get("neighbours", []))
            out.append({n.get("token", n.get("word")) for n in ns})
        return out

    a, e = answer_sets(ann_out), answer_sets(exact_out)
    recall = sum(len(x & y) for x, y in zip(a, e)) / max(1, sum(len(y) for y in e))
    ann_meta = {k: v for k, v in json.loads(ann_out2).items() if k not in ("results", "queries")}

    umap = None
    if args.umap:
        with tempfile.TemporaryDirectory() as d:
            # By cosine: the neighbours come from the index the neighbors steps stored.
            cmd = [b, "project", f, "--method", "umap", "--metric", "cosine",
                   "--out", str(Path(d) / "map.csv"), "--no-quality", "--json"]
            if args.umap_epochs:
                cmd += ["--epochs", str(args.umap_epochs)]
            wall, rss, out = timed(cmd, env)
            steps["project --method umap"] = (wall, rss)
            umap = {k: v for k, v in json.loads(out).items() if k not in ("coords", "points")}

    print(json.dumps({
        "machine": machine_info(),
        "file": f,
        "rows": rows,
        "dim": dim,
        "matrix_bytes": matrix,
        "queries": len(words),
        "ann_recall_at_10_vs_exact": recall,
        "ann_output_fields": ann_meta,
        "umap": umap,
        "steps": {k: {"seconds": round(w, 2), "peak_rss_mb": round(r / 2**20, 1) if r else None,
                      "peak_rss_x_matrix": round(r / matrix, 2) if r else None}
                  for k, (w, r) in steps.items()},
    }, indent=1, default=str))


if __name__ == "__main__":
    main()
