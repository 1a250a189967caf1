"""Encoding a corpus as a cluster job: Ray Data runs `embedscope embed --shard I/N` once per
partition, each writing a Parquet part file into one folder, and embedscope opens the folder as
one data set. Checked end to end here with Ray in local mode (the same script runs on a Ray
cluster: point ray.init at it and the part folder at shared storage).

What it checks and prints (one JSON object on stdout):
- the folder of parts has exactly the rows of one whole run (`embedscope embed` without --shard),
  the same ids (global record numbers d<r>), the same metadata, and the same vectors (largest
  absolute difference);
- the folder's encoding record (the parts' records merged) names the same model as the whole run;
- wall time of the sharded run (Ray start excluded) vs the whole run, and the shards' times.

Usage:
    python benches/peers/ray_shards.py --binary target/release/embedscope \
        --model /root/.cache/embedscope/models/all-MiniLM-L6-v2 [--docs 8000] [--shards 4] [--cpus 2]

Needs: ray[data] (tested with 2.60), pyarrow. The corpus is made from the shared novels
(/work/shared/data/corpus, public domain) or any text file given with --text.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ray

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))
from peer_common import machine_info  # noqa: E402

DEFAULT_TEXTS = [
    Path("/work/shared/data/corpus/doyle_adventures_of_sherlock_holmes.txt"),
    Path("/work/shared/data/corpus/austen_pride_and_prejudice.txt"),
]


def make_corpus(texts, docs, out):
    n = 0
    with open(out, "w", encoding="utf-8") as f:
        for t in texts:
            for line in Path(t).read_text(encoding="utf-8", errors="replace").splitlines():
                line = line.strip()
                if len(line) < 20:
                    continue
                f.write(json.dumps({"text": line, "work": Path(t).stem}) + "\n")
                n += 1
                if n == docs:
                    return n
    return n


def run(cmd, env=None):
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed ({p.returncode}):\n{p.stderr}")
    return time.perf_counter() - t, p.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=str(REPO / "target" / "release" / "embedscope"))
    ap.add_argument("--model", required=True)
    ap.add_argument("--docs", type=int, default=8000)
    ap.add_argument("--shards", type=int, default=4)
    ap.add_argument("--cpus", type=int, default=2, help="Ray CPUs (tasks run this many at once)")
    ap.add_argument("--text", action="append", help="text files to build the corpus from")
    args = ap.parse_args()
    binary = str(Path(args.binary).resolve())
    work = Path(tempfile.mkdtemp(prefix="embedscope-ray-"))
    corpus = work / "corpus.jsonl"
    docs = make_corpus(args.text or DEFAULT_TEXTS, args.docs, corpus)
    env = dict(os.environ, EMBEDSCOPE_CACHE_DIR=str(work / "cache"))

    # The whole corpus in one process, all cores: the reference rows and the baseline time.
    whole = work / "whole.parquet"
    whole_s, _ = run([binary, "embed", "--model", args.model, "--input", str(corpus),
                      "--out", str(whole), "--backend", "cpu", "--json"], env)

    # One Ray Data row per shard; each task runs embedscope on its shard with one thread
    # (Ray gives it one CPU), writing part-<I>.parquet and its encoding record.
    parts = work / "parts"
    parts.mkdir()
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)

    def encode_shard(row):
        i = row["shard"]
        out = parts / f"part-{i:05d}.parquet"
        task_env = dict(env, RAYON_NUM_THREADS="1")
        secs, stdout = run([binary, "embed", "--model", args.model, "--input", str(corpus),
                            "--out", str(out), "--backend", "cpu", "--shard",
                            f"{i}/{args.shards}", "--json"], task_env)
        info = json.loads(stdout)
        return {"shard": i, "rows": info["rows"], "seconds": secs}

    t = time.perf_counter()
    results = (ray.data.from_items([{"shard": i} for i in range(args.shards)])
               .repartition(args.shards)
               .map(encode_shard, num_cpus=1)
               .take_all())
    sharded_s = time.perf_counter() - t
    ray.shutdown()

    # Both read back through embedscope's own reader (a folder of parts, one set).
    import pyarrow.parquet as pq
    import numpy as np

    _, info_json = run([binary, "info", str(parts), "--json"], env)
    info = json.loads(info_json)
    w = pq.read_table(whole)
    whole_rows = {tok: (np.asarray(vec, np.float32), work_)
                  for tok, vec, work_ in zip(w.column("token").to_pylist(),
                                             w.column("embedding").to_pylist(),
                                             w.column("work").to_pylist())}
    # The folder as embedscope orders it, written back out with embedscope itself.
    merged = work / "merged.parquet"
    run([binary, "convert", str(parts), str(merged)], env)
    m = pq.read_table(merged)
    max_diff = 0.0
    ids = m.column("token").to_pylist()
    for tok, vec, work_ in zip(ids, m.column("embedding").to_pylist(), m.column("work").to_pylist()):
        ref, ref_work = whole_rows[tok]
        assert work_ == ref_work, (tok, work_, ref_work)
        max_diff = max(max_diff, float(np.max(np.abs(np.asarray(vec, np.float32) - ref))))
    result = {
        "machine": machine_info(("ray", "pyarrow")),
        "docs": docs,
        "shards": args.shards,
        "ray_cpus": args.cpus,
        "rows_whole": len(whole_rows),
        "rows_folder": info.get("rows"),
        "same_ids": sorted(ids) == sorted(whole_rows),
        "max_abs_diff": max_diff,
        "folder_model": info.get("provenance", {}).get("encoding", {}).get("weights_sha256"),
        "whole_s": round(whole_s, 2),
        "sharded_s": round(sharded_s, 2),
        "shard_s": sorted((r["shard"], round(r["seconds"], 2), r["rows"]) for r in results),
    }
    print(json.dumps(result, indent=1))
    ok = (result["rows_folder"] == result["rows_whole"] == docs and result["same_ids"]
          and max_diff <= 1e-5)
    if not ok:
        raise SystemExit("the folder of parts does not match the whole run")


if __name__ == "__main__":
    main()
