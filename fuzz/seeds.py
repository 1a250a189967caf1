#!/usr/bin/env python3
"""Seed corpora for the fuzz targets, from the repository's test fixtures (small files only,
and the first 16 KiB of larger text files) plus a few hand-made inputs.

    python3 fuzz/seeds.py OUT_DIR [SHARED_FIXTURES_DIR]

writes OUT_DIR/<target>/<name> for every target. Each input is the target's mode byte followed
by its parts (every part but the last preceded by its length as a little-endian u16), as
`embedscope_fuzz::Input` reads them. The native target's cache-entry and index seeds are made
by the target itself (`fuzz/run.sh` does it: EMBEDSCOPE_FUZZ_WRITE_SEEDS).
"""

import hashlib
import json
import os
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures"
SMALL = 64 << 10
HEAD = 16 << 10


def join(mode, *parts):
    out = bytearray([mode])
    for i, p in enumerate(parts):
        if i + 1 < len(parts):
            p = p[:0xFFFF]
            out += struct.pack("<H", len(p))
        out += p
    return bytes(out)


class Out:
    def __init__(self, base):
        self.base = Path(base)
        self.count = {}

    def add(self, target, data):
        d = self.base / target
        d.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha1(data).hexdigest()
        (d / name).write_bytes(data)
        self.count[target] = self.count.get(target, 0) + 1


def small(path, head=False):
    """The file's bytes if small, its first 16 KiB if `head`, else None."""
    size = path.stat().st_size
    if size <= SMALL:
        return path.read_bytes()
    if head:
        with open(path, "rb") as f:
            return f.read(HEAD)
    return None


def files(*patterns, under=FIX):
    seen = []
    for pat in patterns:
        seen += sorted(p for p in under.rglob(pat) if p.is_file())
    return seen


def main():
    out = Out(sys.argv[1])
    shared = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT.parent.parent / "shared" / "data" / "fixtures"

    # vectors_text: word2vec text (0), GloVe (1), binary (2), detected file (3); +4 = limit.
    texts = files("*.vec", "*.txt", "*.kv.txt", under=FIX / "bad") + files(
        "*.vec", "*.txt", under=FIX / "formats"
    )
    if shared.is_dir():
        texts += files("*.vec", "*.txt", under=shared)
    for p in texts:
        b = small(p, head=True)
        if b is None:
            continue
        for mode in (0, 1, 3, 4 | (2 << 3)):
            out.add("vectors_text", bytes([mode]) + b)
    bins = files("*.bin", under=FIX / "bad")
    if shared.is_dir():
        bins += files("*.bin", under=shared)
    for p in bins:
        b = small(p, head=True)
        if b is not None:
            out.add("vectors_text", bytes([2]) + b)
            out.add("vectors_text", bytes([3]) + b)
    out.add("vectors_text", b"\x00" + b"2 100000000000\nx 1\n")
    out.add("vectors_text", b"\x02" + b"2 1000000000\nx \x00\x00\x80\x3f")

    # projector: vectors.tsv, metadata.tsv, token column.
    vec = b"0.1\t0.2\t0.3\n0.4\t0.5\t0.6\n-1\t2e3\tnan\n"
    meta1 = b"king\nqueen\nman\n"
    meta2 = b"word\tpos\nking\tNN\nqueen\tNN\nman\tNN\n"
    out.add("projector", join(0, vec, b"", b""))
    out.add("projector", join(1, vec, meta1, b""))
    out.add("projector", join(3, vec, meta2, b"word"))
    out.add("projector", join(7 | (1 << 3), vec, meta2, b"pos"))
    for p in files("*projector*.tsv"):
        b = small(p, head=True)
        if b is not None:
            out.add("projector", join(0, b, b"", b""))

    # arrays: npy (0) / safetensors (1), +2 vocabulary, +4 tensor name, +8 limit.
    vocab = (FIX / "formats" / "glove20.vocab.txt").read_bytes()
    for p in files("*.npy"):
        b = small(p)
        if b is None:
            continue
        v = (p.parent / (p.name[: -len(".npy")] + ".vocab.txt"))
        vb = v.read_bytes() if v.is_file() else vocab
        out.add("arrays", join(2, b, vb, b""))
        out.add("arrays", join(0, b, b"", b""))
        out.add("arrays", join(2 | 8 | (3 << 4), b, vb, b""))
    for p in files("*.safetensors", under=FIX / "formats"):
        b = small(p)
        if b is None:
            continue
        out.add("arrays", join(3, b, vocab, b""))
        out.add("arrays", join(1, b, b"", b""))
        out.add("arrays", join(7, b, vocab, b"embeddings"))

    # table: Parquet (0) / Arrow IPC (1), +2 token column, +4 vector column, +8 limit.
    for p in files("*.parquet"):
        b = small(p)
        if b is None or len(b) > 0xFFFF:
            continue
        out.add("table", join(0, b, b"", b""))
        out.add("table", join(6, b, b"token", b"vector"))
        out.add("table", join(8 | (2 << 4), b, b"", b""))
    for p in files("*.arrow"):
        b = small(p)
        if b is not None and len(b) <= 0xFFFF:
            out.add("table", join(1, b, b"", b""))
            out.add("table", join(7, b, b"token", b"vector"))

    # corpus: mode % 6 = lines, paragraphs, CSV, TSV, JSONL, Parquet; mode / 6 = flags.
    def corpus(fmt, body, field=b"", flags=0):
        out.add("corpus", join(fmt + 6 * flags, field, body))

    txt = b"The first line.\n\nA second document\nover two lines.\n   \nlast \xff byte\n"
    for fmt in (0, 1):
        corpus(fmt, txt)
        corpus(fmt, txt, flags=2 | 4 | 8)
    csv_text = b'id,text,label\n1,"Hello, world",a\n2,"multi\nline ""quoted""",b\n3,,c\n'
    corpus(2, csv_text)
    corpus(2, csv_text, b"label", 1 | 16)
    corpus(3, csv_text.replace(b",", b"\t"))
    corpus(2, b'text\n"unterminated\nmore\n')
    jsonl = b'{"text": "one", "n": 1, "tags": ["a"]}\n{"text": null}\nnot json\n{"text": "two \\u00e9"}\n'
    corpus(4, jsonl)
    corpus(4, jsonl, b"n", 1 | 2)
    for p in files("*.jsonl", "*.csv"):
        b = small(p, head=True)
        if b is None:
            continue
        corpus(4 if p.suffix == ".jsonl" else 2, b)
    for p in files("*.txt", under=FIX / "tokdiff"):
        b = small(p, head=True)
        if b is not None:
            corpus(0, b)
            corpus(1, b)
    for p in files("*.parquet", under=FIX / "parts") + files("*.parquet", under=FIX / "search"):
        b = small(p)
        if b is not None:
            corpus(5, b)
            corpus(5, b, b"text", 1)

    # model_folder: config.json, modules.json, tokenizer.json, 1_Pooling/config.json,
    # 2_Dense/config.json, sentence_bert_config.json, config_sentence_transformers.json.
    names = [
        "config.json",
        "modules.json",
        "tokenizer.json",
        "1_Pooling/config.json",
        "2_Dense/config.json",
        "sentence_bert_config.json",
        "config_sentence_transformers.json",
    ]
    for d in sorted((FIX / "encoder").iterdir()) + sorted((FIX / "tokdiff").iterdir()):
        if not d.is_dir():
            continue
        parts, mode = [], 0
        for i, n in enumerate(names):
            p = d / n
            b = p.read_bytes() if p.is_file() and p.stat().st_size <= SMALL else b""
            if p.is_file() and p.stat().st_size <= SMALL:
                mode |= 1 << i
            parts.append(b)
        out.add("model_folder", join(mode, *parts))
        out.add("model_folder", join(mode & 1, *parts))
    dense = json.dumps({"in_features": 4, "out_features": 2, "bias": True,
                        "activation_function": "torch.nn.modules.activation.Tanh"}).encode()
    modules = json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"},
        {"idx": 3, "name": "3", "path": "3_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]).encode()
    cfg = (FIX / "encoder" / "tiny-bert" / "config.json").read_bytes()
    pool = (FIX / "encoder" / "tiny-bert" / "1_Pooling" / "config.json").read_bytes()
    out.add("model_folder", join(0b11011, cfg, modules, b"", pool, dense, b"", b""))

    # session: a session (0), the settings (1).
    session = {
        "kind": "embedscope-session",
        "version": 1,
        "datasets": [
            {
                "name": "demo",
                "source": "embedded:demo",
                "map": {"Umap": {"n_neighbors": 15, "min_dist": 0.1, "spread": 1.0,
                                 "epochs": None, "metric": "cosine", "seed": 42}},
                "selection": [1, 2],
                "selection_tokens": ["king"],
                "text_column": None,
                "filters": [
                    {"kind": "range", "column": "n", "lo": 0.0, "hi": 1.5},
                    {"kind": "categories", "column": "c", "values": ["a"], "other": True},
                ],
            },
            {"name": "b", "source": "/x.vec", "map": {"Tsne": {"perplexity": 30.0, "iterations": 500, "seed": 1}},
             "selection": [], "selection_tokens": []},
            {"name": "c", "source": "/y.vec", "map": {"Axes": {"x": "man,king -> woman,queen", "y": "good - bad"}},
             "selection": [], "selection_tokens": []},
            {"name": "d", "source": "/z.vec", "map": "Pca", "selection": [], "selection_tokens": []},
        ],
        "bookmarks": [{"name": "b", "dataset": "demo", "center": [0.0, 1.0], "zoom": 2.0, "selection": ["a"]}],
        "active": 0,
        "search": {"text": "king", "mode": "Exact", "k": 10, "model": None},
    }
    out.add("session", b"\x00" + json.dumps(session, indent=1).encode())
    out.add("session", b"\x00" + b'{"kind": "embedscope-session", "version": 1, "datasets": [], "bookmarks": []}')
    out.add("session", b"\x01" + json.dumps({"recent": ["/a.vec"], "dark": False, "point_size": 3.0, "last_model": None}).encode())
    out.add("session", b"\x00" + b"[" * 2000)

    # word_lists: tests file (0), word list (1), pairs (2), analogies (3), word pairs (4),
    # sample words (5).
    for p in files("*.json", under=ROOT / "assets" / "bias"):
        b = small(p)
        if b is not None:
            out.add("word_lists", b"\x00" + b)
    out.add("word_lists", b"\x00" + json.dumps(
        {"name": "t", "x": ["a", "b"], "y": {"name": "Y", "words": ["c"]}, "a": "set:pleasant", "b": ["d"]}
    ).encode())
    out.add("word_lists", b"\x01" + b"# words\nking\n\nqueen \n\xef\xbb\xbfman\n")
    out.add("word_lists", b"\x01" + b'["a", "b c", "\\u00e9"]')
    out.add("word_lists", b"\x02" + b"man\twoman\nking, queen\nhe she\n# x\n")
    out.add("word_lists", b"\x02" + b'[["a", "b"], ["c", "d"]]')
    qw = small(ROOT / "assets" / "eval" / "questions-words.txt", head=True)
    out.add("word_lists", b"\x03" + qw[:4096])
    for p in files("*.txt", "*.tsv", under=ROOT / "assets" / "eval"):
        b = small(p, head=True)
        if b is not None:
            out.add("word_lists", b"\x04" + b[:4096])
    sample = small(FIX / "tokdiff" / "sample.txt", head=True)
    if sample is not None:
        out.add("word_lists", b"\x05" + sample[:4096])

    # expressions: compare condition (0), drift condition + methods (1), axis (2), expression (3).
    for s in [b"mean_jaccard@10 < 0.6", b"linear_cka<=0.9", b" only_b >= 1e3 ", b"drift_score != 0",
              b"rbo@5>0.2", b"procrustes_error > 1"]:
        out.add("expressions", b"\x00" + s)
    for s in [b"centroid_p < 0.05", b"mmd > 0.1", b"centroid,mmd,classifier", b"all", b"ratio_share>=0.5"]:
        out.add("expressions", b"\x01" + s)
    for s in [b"man,king -> woman,queen", b"good - bad", b" -> x", b"a,,b->c"]:
        out.add("expressions", b"\x02" + s)
    for s in [b"king - man + woman", b"0.5*paris + rome", b'"new york" - city', b"x-ray", b"-1e9*the + of",
              b"the the the - the"]:
        out.add("expressions", b"\x03" + s)
        out.add("expressions", b"\x07" + s)

    for t, n in sorted(out.count.items()):
        print(f"{t}: {n} seeds")


if __name__ == "__main__":
    main()
