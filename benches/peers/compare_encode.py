#!/usr/bin/env python3
"""Sentence embedding: sentence-transformers vs embedscope on all-MiniLM-L6-v2, same run, same machine.

Inputs: two sets of --n (default 2000) real sentences, one per line, written once into the
data directory (reused when the recipe matches; --rebuild to force):

  encode_short_n{N}.txt  single sentences of 12..20 tokens (incl. [CLS]/[SEP]; ~16 on average),
                         in text order from Pride and Prejudice, then The Adventures of Sherlock
                         Holmes when Austen runs out (/work/shared/data/corpus/, public domain)
  encode_long_n{N}.txt   runs of consecutive sentences from the same two books joined by a space,
                         116..140 tokens each (~126): a run that would pass 140 drops its oldest
                         sentences until the next one fits (no text is shared between two lines;
                         a sentence longer than 140 tokens on its own is skipped and ends the run)
  <name>.meta.json       the recipe and token statistics

Token counts use the model's own tokenizer.json (no truncation). Sentences are cut at . ! ?
followed by space and an upper-case letter / digit / opening quote, with paragraphs joined into
one line and "Mr." / "Mrs." / "St." / initials not taken as sentence ends.

  sentence-transformers  SentenceTransformer(MODEL, device="cpu") after torch.set_num_threads(--threads);
                         encode(lines, batch_size=32, convert_to_numpy=True) is timed, best of
                         --repeats after one untimed warm-up encode of the first 64 lines.
                         NB: encode sorts the inputs by length (longest first) before batching,
                         which minimises padding, and returns them in input order.
  embedscope             `embedscope embed --model MODEL --input FILE --level sentence --batch-size 32
                         --backend cpu --out OUT.npy --json`, with RAYON_NUM_THREADS=--threads; best
                         of --repeats of the JSON's timing_s.compute (process wall time, docs_per_s
                         and peak RSS beside it). OUT.npy must hold `rows` = N rows in input order.

Throughput: sentences/s = N / best time (embedscope: rows / timing_s.compute); ratio =
embedscope sentences/s / sentence-transformers sentences/s (> 1: embedscope faster). The
timed runs alternate (embedscope, peer, embedscope, peer, ...).

Agreement (untimed): cosine between the two tools' vectors for each sentence (min, mean, how
many below 0.9999 and 0.999; the 3 worst are printed with their text). The model's
sentence-transformers pipeline L2-normalises, so cosine is insensitive to whether embedscope
normalises too.

--peer-only runs only sentence-transformers (and writes the inputs): no binary needed.
The model folder defaults to ${EMBEDSCOPE_MODEL_CACHE:-~/.cache/embedscope/models}/all-MiniLM-L6-v2;
when missing, tests/fixtures/gen/fetch_minilm.sh is run to fetch it.
"""

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peer_common import (machine_line, DEFAULT_BINARY, REPO, busy_cpu_note, check_binary, fmt_bytes, fmt_s,  # noqa: E402
                         get_path, log, machine_info, run_json, table, warm_page_cache)

import numpy as np  # noqa: E402

DEFAULT_DATA_DIR = Path("/root/.cache/embedscope-bench/data")
DEFAULT_CORPUS = Path(os.environ.get("EMBEDSCOPE_DATA", "/work/shared/data")) / "corpus"
BOOKS = ["austen_pride_and_prejudice.txt", "doyle_adventures_of_sherlock_holmes.txt"]
DEFAULT_MODEL = Path(os.environ.get("EMBEDSCOPE_MODEL_CACHE", str(Path.home() / ".cache" / "embedscope" / "models"))) \
    / "all-MiniLM-L6-v2"
FETCH = REPO / "tests" / "fixtures" / "gen" / "fetch_minilm.sh"
SETS = {"short": (12, 20), "long": (116, 140)}  # token-count windows incl. [CLS]/[SEP]
RECIPE_VERSION = 2
BATCH = 32

_SPLIT = re.compile(r'(?<=[.!?])["\'\u201d\u2019)_]*\s+(?=["\'\u201c\u2018(_]*[A-Z0-9])')
_ABBR = re.compile(r"(?:\b(?:Mr|Mrs|Dr|St|Messrs|Mme|Col|Capt|Gen|Lt|No)\.|\b[A-Z]\.)$")
_HEADING = re.compile(r"(?i)(chapter|adventure)\s+[\w.]+\.?.*")


def split_sentences(text):
    out = []
    for para in re.split(r"\n\s*\n", text):
        p = " ".join(para.split())
        if not p or (len(p) < 60 and _HEADING.fullmatch(p)):
            continue
        parts, pos = [], 0
        for m in _SPLIT.finditer(p):
            parts.append(p[pos:m.end()].strip())
            pos = m.end()
        parts.append(p[pos:])
        merged = []
        for s in parts:
            if merged and _ABBR.search(merged[-1]):
                merged[-1] += " " + s
            else:
                merged.append(s)
        out.extend(s for s in merged if s)
    return out


def load_tokenizer(model_dir):
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.no_truncation()  # all-MiniLM-L6-v2's tokenizer.json says truncate/pad to 128: not what the model sees
    tok.no_padding()
    return tok


def build_sets(n, corpus, model_dir):
    """{'short': [...], 'long': [...]} and per-set token counts."""
    tok = load_tokenizer(model_dir)
    sents = []
    for b in BOOKS:
        sents.extend(split_sentences((corpus / b).read_text(encoding="utf-8")))
    inner = [len(e.ids) - 2 for e in tok.encode_batch(sents)]  # without [CLS]/[SEP]
    lo, hi = SETS["short"]
    short = [s for s, k in zip(sents, inner) if lo <= k + 2 <= hi][:n]
    lo, hi = SETS["long"]
    long_, cur, cur_len = [], [], 0
    for s, k in zip(sents, inner):
        if k + 2 > hi:
            cur, cur_len = [], 0
            continue
        while cur and cur_len + k + 2 > hi:  # overflow: drop the oldest sentences of the run
            cur_len -= cur.pop(0)[1]
        cur.append((s, k))
        cur_len += k
        if cur_len + 2 >= lo:
            long_.append(" ".join(t for t, _ in cur))
            cur, cur_len = [], 0
            if len(long_) == n:
                break
    out = {"short": short, "long": long_}
    for name, lines in out.items():
        if len(lines) < n:
            sys.exit(f"only {len(lines)} {name} inputs can be made from {BOOKS}; use a smaller --n")
    return out, tok


def prepare(data_dir, n, corpus, model_dir, rebuild):
    """Write (or reuse) the two input files; returns {name: (path, lines, token_counts)}."""
    data_dir.mkdir(parents=True, exist_ok=True)
    paths = {name: data_dir / f"encode_{name}_n{n}.txt" for name in SETS}
    recipe = json.loads(json.dumps({"recipe_version": RECIPE_VERSION, "n": n, "books": BOOKS, "windows": SETS}))
    metas = {name: p.with_name(p.name + ".meta.json") for name, p in paths.items()}
    ok = not rebuild and all(p.exists() and m.exists() for p, m in zip(paths.values(), metas.values()))
    if ok:
        for m in metas.values():
            if json.loads(m.read_text()).get("recipe") != recipe:
                ok = False
    if not ok:
        log(f"building the input sets from {corpus} ...")
        sets, tok = build_sets(n, corpus, model_dir)
        for name, lines in sets.items():
            assert all("\n" not in s and "\r" not in s and s.strip() for s in lines)
            counts = [len(e.ids) for e in tok.encode_batch(lines)]
            tmp = paths[name].with_name(paths[name].name + ".tmp")
            tmp.write_text("".join(s + "\n" for s in lines), encoding="utf-8")
            os.replace(tmp, paths[name])
            metas[name].write_text(json.dumps({
                "recipe": recipe,
                "lines": len(lines),
                "tokens_incl_specials": {"min": min(counts), "mean": round(float(np.mean(counts)), 2),
                                         "max": max(counts), "total": int(sum(counts))},
            }, indent=2) + "\n")
            log(f"  wrote {paths[name]}: {len(lines)} lines, tokens/line mean {np.mean(counts):.1f} "
                f"({min(counts)}..{max(counts)})")
    out = {}
    for name, p in paths.items():
        lines = p.read_text(encoding="utf-8").split("\n")[:-1]
        if len(lines) != n:
            sys.exit(f"{p}: {len(lines)} lines, expected {n}; rerun with --rebuild")
        out[name] = (p, lines, json.loads(metas[name].read_text())["tokens_incl_specials"])
    return out


def ensure_model(model_dir):
    if (model_dir / "model.safetensors").exists() and (model_dir / "modules.json").exists():
        return model_dir
    log(f"{model_dir} missing: fetching with {FETCH}")
    r = subprocess.run(["sh", str(FETCH), str(model_dir.parent)], stdout=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit(f"{FETCH} failed (exit {r.returncode})")
    got = Path(r.stdout.strip().splitlines()[-1])
    if got.resolve() != model_dir.resolve():
        sys.exit(f"{FETCH} put the model in {got}, expected {model_dir}")
    return model_dir


def run_peer(st, lines):
    t = time.perf_counter()
    emb = st.encode(lines, batch_size=BATCH, convert_to_numpy=True, show_progress_bar=False)
    return time.perf_counter() - t, emb


def cosines(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--embedscope", type=Path, default=DEFAULT_BINARY, help=f"embedscope binary (default {DEFAULT_BINARY})")
    ap.add_argument("--model", type=Path, default=DEFAULT_MODEL, help=f"sentence-transformers model folder (default {DEFAULT_MODEL})")
    ap.add_argument("--n", type=int, default=2000, help="inputs per set (default 2000)")
    ap.add_argument("--sets", default="short,long", help="comma-separated subset of short,long (default both)")
    ap.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help=f"where the input files go (default {DEFAULT_DATA_DIR})")
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help=f"folder with the two books (default {DEFAULT_CORPUS})")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads and RAYON_NUM_THREADS (default 2)")
    ap.add_argument("--repeats", type=int, default=2, help="timed runs per tool and set, best taken (default 2)")
    ap.add_argument("--rebuild", action="store_true", help="write the input files again")
    ap.add_argument("--peer-only", action="store_true", help="run only sentence-transformers (no embedscope binary needed)")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    args = ap.parse_args()
    set_names = [s for s in args.sets.split(",") if s]
    if not set_names or any(s not in SETS for s in set_names):
        sys.exit(f"--sets must be a comma-separated subset of {','.join(SETS)}")

    import torch
    torch.set_num_threads(args.threads)
    import sentence_transformers  # noqa: F401
    import transformers  # noqa: F401
    from sentence_transformers import SentenceTransformer

    machine = machine_info(["numpy", "torch", "transformers", "sentence_transformers"])
    machine["torch_threads"] = torch.get_num_threads()
    binary = version = None
    if not args.peer_only:
        binary = str(args.embedscope.resolve())
        version = check_binary(binary)
    model_dir = ensure_model(args.model.resolve())
    data = prepare(args.data_dir.resolve(), args.n, args.corpus, model_dir, args.rebuild)

    st = SentenceTransformer(str(model_dir), device="cpu")
    dim_of = getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension
    log(f"model {model_dir.name}: max_seq_length {st.max_seq_length}, dim {dim_of()}")
    es_env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads))

    res = {
        "machine": machine,
        "embedscope": binary,
        "embedscope_version": version,
        "model": str(model_dir),
        "max_seq_length": st.max_seq_length,
        "batch_size": BATCH,
        "threads": args.threads,
        "sets": {},
    }
    with tempfile.TemporaryDirectory(prefix="esenc-") as td:
        for name in set_names:
            path, lines, tok_stats = data[name]
            n = len(lines)
            warm_page_cache(path)
            log(f"{name}: {n} inputs, tokens/input mean {tok_stats['mean']} ({tok_stats['min']}..{tok_stats['max']})")
            run_peer(st, lines[:64])  # warm-up (thread pool, allocator, first-call paths)
            out = Path(td) / f"{name}.npy"
            cmd = [binary, "embed", "--model", str(model_dir), "--input", str(path), "--level", "sentence",
                   "--batch-size", str(BATCH), "--backend", "cpu", "--out", str(out), "--json"] if binary else None
            peer_times, es_runs, emb_peer = [], [], None
            for i in range(args.repeats):
                if binary:
                    r = run_json(cmd, env=es_env, what="embedscope embed")
                    es_runs.append(r)
                    log(f"  embedscope repeat {i + 1}: compute {get_path(r['json'], 'timing_s', 'compute')} s, "
                        f"wall {r['wall_s']:.2f} s")
                t, emb_peer = run_peer(st, lines)
                peer_times.append(t)
                log(f"  sentence-transformers repeat {i + 1}: {t:.3f} s ({n / t:.1f} sentences/s)")
            best_peer = min(peer_times)
            entry = {
                "file": str(path),
                "inputs": n,
                "tokens_incl_specials": tok_stats,
                "sentence_transformers": {
                    "encode_s_best": best_peer,
                    "encode_s_all": peer_times,
                    "sentences_per_s": n / best_peer,
                    "tokens_per_s": tok_stats["total"] / best_peer,
                },
            }
            if binary:
                comp = lambda r: get_path(r["json"], "timing_s", "compute", default=float("inf"))  # noqa: E731
                best = min(es_runs, key=comp)
                rows = get_path(best["json"], "rows")
                if rows is not None and rows != n:
                    sys.exit(f"embedscope reported rows={rows}, expected {n}")
                emb_es = np.load(out)
                if emb_es.ndim != 2 or emb_es.shape != emb_peer.shape:
                    sys.exit(f"embedscope output {out}: shape {emb_es.shape}, expected {emb_peer.shape}")
                cos = cosines(emb_peer, emb_es)
                worst = np.argsort(cos)[:3]
                es_sps = n / comp(best)
                entry["embedscope"] = {
                    "command": " ".join(cmd),
                    "compute_s_best": comp(best),
                    "compute_s_all": [comp(r) for r in es_runs],
                    "process_wall_s_all": [r["wall_s"] for r in es_runs],
                    "docs_per_s_reported": get_path(best["json"], "docs_per_s"),
                    "rows": rows,
                    "sentences_per_s": es_sps,
                    "peak_rss_bytes": max(r["peak_rss_bytes"] for r in es_runs),
                    "timing_s": get_path(best["json"], "timing_s"),
                }
                entry["agreement"] = {
                    "cosine_min": float(cos.min()),
                    "cosine_mean": float(cos.mean()),
                    "below_0.9999": int((cos < 0.9999).sum()),
                    "below_0.999": int((cos < 0.999).sum()),
                    "worst": [{"row": int(i), "cosine": float(cos[i]), "text": lines[i][:200]} for i in worst],
                }
                entry["throughput_ratio_embedscope_over_peer"] = es_sps / entry["sentence_transformers"]["sentences_per_s"]
            res["sets"][name] = entry
    res["peer_process_peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    res["machine"]["loadavg_at_end"] = busy_cpu_note()

    if args.json:
        print(json.dumps(res, indent=2))
        return
    m = res["machine"]
    print(machine_line(m))
    print(f"python {m['python']}, torch {m.get('torch')} ({m['torch_threads']} threads), transformers "
          f"{m.get('transformers')}, sentence-transformers {m.get('sentence_transformers')}; "
          f"embedscope {version or '(not run: --peer-only)'}")
    print(f"model: {model_dir} (max_seq_length {res['max_seq_length']}); batch size {BATCH}; best of {args.repeats}")
    print()
    rows = []
    for name, e in res["sets"].items():
        tk = e["tokens_incl_specials"]
        p = e["sentence_transformers"]
        row = [f"{name} ({e['inputs']} x ~{tk['mean']:.0f} tok)", fmt_s(p["encode_s_best"]), f"{p['sentences_per_s']:.1f}"]
        if "embedscope" in e:
            es, ag = e["embedscope"], e["agreement"]
            row += [fmt_s(es["compute_s_best"]), f"{es['sentences_per_s']:.1f}",
                    f"{e['throughput_ratio_embedscope_over_peer']:.2f}x", fmt_bytes(es["peak_rss_bytes"]),
                    f"{ag['cosine_min']:.6f}", f"{ag['cosine_mean']:.7f}"]
        else:
            row += ["-"] * 6
        rows.append(row)
    print(table(["set", "s-t time", "s-t sent/s", "es compute", "es sent/s", "es/s-t", "es peak RSS",
                 "cos min", "cos mean"], rows))
    for name, e in res["sets"].items():
        print(f"{name}: sentence-transformers per run {[round(x, 3) for x in e['sentence_transformers']['encode_s_all']]} s")
        if "embedscope" in e:
            es, ag = e["embedscope"], e["agreement"]
            print(f"{name}: embedscope per run compute {[round(x, 3) for x in es['compute_s_all']]} s, "
                  f"process wall {[round(x, 3) for x in es['process_wall_s_all']]} s, docs_per_s (JSON) "
                  f"{es['docs_per_s_reported']}; cosine < 0.9999: {ag['below_0.9999']}, < 0.999: {ag['below_0.999']}")
            for w in ag["worst"]:
                print(f"    row {w['row']}: cos {w['cosine']:.6f}  {w['text'][:100]!r}")


if __name__ == "__main__":
    main()
