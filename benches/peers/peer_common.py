"""Helpers shared by compare_parse.py and compare_knn.py (no third-party imports here)."""

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DEFAULT_DATA = REPO / "benches" / "data"
DEFAULT_BINARY = REPO / "target" / "release" / "embedscope"


def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def machine_info(extra_modules=()):
    """CPU model, core counts, memory, Python and peer-library versions."""
    cpu = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_kb = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem_kb = int(line.split()[1])
                    break
    except OSError:
        pass
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = None
    info = {
        "cpu_model": cpu or platform.processor() or None,
        "logical_cpus": os.cpu_count(),
        "cpus_usable": affinity,
        "memory_gib": round(mem_kb / 2**20, 1) if mem_kb else None,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }
    for name in extra_modules:
        try:
            mod = __import__(name)
            info[name] = getattr(mod, "__version__", "?")
        except ImportError:
            info[name] = None
    return info


def run_measured(cmd, env=None, cwd=None):
    """Run cmd in a fresh child; return wall time, the child's own peak RSS and its output.

    The peak RSS comes from os.wait4 on that one child (Linux: ru_maxrss in KiB), so it is
    the peak of this process alone, not the running maximum over every child this Python
    process has waited for (which is what getrusage(RUSAGE_CHILDREN) would report).
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=cwd)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    return {
        "wall_s": wall,
        "peak_rss_bytes": ru.ru_maxrss * 1024,
        "user_s": ru.ru_utime,
        "sys_s": ru.ru_stime,
        "rc": p.returncode,
        "stdout": stdout,
        "stderr": stderr,
    }


def run_json(cmd, env=None, what="command"):
    """run_measured, then parse stdout as JSON; exit with a message on failure."""
    r = run_measured(cmd, env=env)
    if r["rc"] != 0:
        sys.exit(f"{what} failed (exit {r['rc']}): {' '.join(map(str, cmd))}\n{r['stderr'][-4000:]}")
    try:
        r["json"] = json.loads(r["stdout"])
    except json.JSONDecodeError as e:
        sys.exit(f"{what}: stdout is not JSON ({e}): {r['stdout'][:500]!r}")
    return r


def warm_page_cache(path):
    """Read a file once so every timed run starts with it in the page cache."""
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


def get_path(d, *keys, default=None):
    """d[k1][k2]... or default when any level is missing."""
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return default
        d = d[k]
    return d


def fmt_bytes(n):
    if n is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def fmt_s(x):
    if x is None:
        return "-"
    if x < 0.01:
        return f"{x * 1e3:.2f} ms"
    return f"{x:.3f} s"


def table(headers, rows):
    """A plain fixed-width text table."""
    cells = [[str(h) for h in headers]] + [["-" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, r in enumerate(cells):
        lines.append("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def check_binary(path):
    p = Path(path)
    if not p.is_file() or not os.access(p, os.X_OK):
        sys.exit(f"embedscope binary not found or not executable: {p} (build it with cargo build --release)")
    r = subprocess.run([str(p), "--version"], capture_output=True, text=True)
    return (r.stdout or r.stderr).strip() or None
