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
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    if info["loadavg_at_start"][0] > 0.5:
        log(f"warning: 1-minute load average is {info['loadavg_at_start'][0]} before the benchmark started: "
            "something else is using the CPU and the timings will show it")
    for name in extra_modules:
        try:
            mod = __import__(name)
            info[name] = getattr(mod, "__version__", "?")
        except ImportError:
            info[name] = None
    return info


# A tiny wrapper process that starts the measured command, waits for it with os.wait4 and
# writes the child's rusage as JSON to the file named by argv[1]. Why a wrapper: Linux keeps
# the high-water RSS of the memory image a process replaced by exec (signal->maxrss), and a
# child started by fork/vfork from this Python process begins life with this process's
# image. So the ru_maxrss that os.wait4 (or getrusage(RUSAGE_CHILDREN)) reports for a direct
# child is at least *this* process's peak RSS (numpy, gensim and the matrices loaded for the
# checks): useless. The wrapper is a bare `python -S` (~8 MiB), and ru_maxrss is a maximum,
# not a sum, so the figure it reports is the measured command's own peak (floor ~8 MiB).
_WRAPPER = r"""
import json, os, sys, time
out, argv = sys.argv[1], sys.argv[2:]
t0 = time.perf_counter()
pid = os.posix_spawnp(argv[0], argv, os.environ)
_, status, ru = os.wait4(pid, 0)
wall = time.perf_counter() - t0
with open(out, "w") as f:
    json.dump({"wall_s": wall, "maxrss_kib": ru.ru_maxrss, "user_s": ru.ru_utime, "sys_s": ru.ru_stime,
               "rc": os.waitstatus_to_exitcode(status)}, f)
"""


def machine_line(m):
    """The one-line machine summary every peer script prints above its table."""
    kernel = f"Linux {m['kernel']}; " if m.get("kernel") else ""
    return (f"machine: {m['cpu_model']}; {m['logical_cpus']} logical CPUs ({m['cpus_usable']} usable); "
            f"{m['memory_gib']} GiB; {kernel}load average at start {m['loadavg_at_start']}, "
            f"at end {m.get('loadavg_at_end')}")


def run_measured(cmd, env=None, cwd=None):
    """Run cmd in a fresh child; return wall time, the child's own peak RSS and its output.

    The command runs under _WRAPPER (see above), so peak_rss_bytes is that process's own
    peak, and wall_s is timed by the wrapper around spawn..exit (the wrapper's own start-up
    is not included).
    """
    cmd = [str(c) for c in cmd]
    fd, ru_path = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    try:
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            p = subprocess.run([sys.executable, "-S", "-c", _WRAPPER, ru_path] + cmd,
                               stdout=out, stderr=err, env=env, cwd=cwd)
            out.seek(0)
            err.seek(0)
            stdout = out.read().decode("utf-8", "replace")
            stderr = err.read().decode("utf-8", "replace")
        try:
            with open(ru_path) as f:
                ru = json.load(f)
        except (OSError, ValueError):
            sys.exit(f"measuring wrapper failed (exit {p.returncode}) for {' '.join(cmd)}\n{stderr[-2000:]}")
    finally:
        os.unlink(ru_path)
    return {
        "wall_s": ru["wall_s"],
        "peak_rss_bytes": ru["maxrss_kib"] * 1024,
        "user_s": ru["user_s"],
        "sys_s": ru["sys_s"],
        "rc": ru["rc"],
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


def busy_cpu_note():
    """The load averages now, for the end of a report (a busy machine skews every number)."""
    return [round(x, 2) for x in os.getloadavg()]
