//! The memory this process can still use, read from the system: the smallest of
//! `MemAvailable` (`/proc/meminfo`), the cgroup's limit minus its usage (v2 `memory.max` /
//! `memory.current`, v1 `memory.limit_in_bytes` / `memory.usage_in_bytes`), and the address-space
//! limit (`RLIMIT_AS`, as `prlimit --as` sets it) minus the process's virtual size (`VmSize`).
//! `EMBEDSCOPE_MEMORY_LIMIT` (bytes, or `512M`, `2G`...) lowers the result further (tests, or a
//! user who wants a margin); `EMBEDSCOPE_MEMORY_LIMIT=off` turns the guard off.
//!
//! [`guard`] checks a job's estimate (`analysis::memory`) against it before the job starts.

use std::path::{Path, PathBuf};

use crate::analysis::memory::{Available, Estimate, LoadKind, MemoryRefusal, parse_bytes};

/// The variable that lowers (or, with `off`, lifts) the memory the guard allows.
pub const LIMIT_VAR: &str = "EMBEDSCOPE_MEMORY_LIMIT";

/// A value in kB from a `Key:   1234 kB` line of a /proc file.
fn kb_field(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let rest = l.strip_prefix(key)?.strip_prefix(':')?;
        let num = rest.split_whitespace().next()?.parse::<u64>().ok()?;
        Some(num.saturating_mul(1024))
    })
}

/// `/proc/meminfo`'s MemAvailable.
pub fn mem_available(meminfo: &str) -> Option<u64> {
    kb_field(meminfo, "MemAvailable")
}

/// The soft address-space limit from `/proc/self/limits` (`Max address space  N  N  bytes`),
/// `None` when unlimited.
pub fn address_space_limit(limits: &str) -> Option<u64> {
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max address space"))?;
    let soft = line
        .trim_start_matches("Max address space")
        .split_whitespace()
        .next()?;
    soft.parse::<u64>().ok()
}

/// A cgroup limit file's value (`max` or a huge v1 value is no limit).
fn limit_value(s: &str) -> Option<u64> {
    let v = s.trim().parse::<u64>().ok()?;
    // cgroup v1 writes "no limit" as the largest page-aligned i64.
    (v < (1u64 << 62)).then_some(v)
}

/// The cgroup folders to look in, from `/proc/self/cgroup`: the process's own group (v2 line
/// `0::/path`, v1 line `N:memory:/path`) under the mount, then the mount's root (a container
/// sees its own group there).
fn cgroup_dirs(proc_cgroup: &str, root: &Path) -> Vec<(PathBuf, bool)> {
    let mut dirs = Vec::new();
    for line in proc_cgroup.lines() {
        let mut it = line.splitn(3, ':');
        let (_, ctrl, path) = match (it.next(), it.next(), it.next()) {
            (Some(a), Some(b), Some(c)) => (a, b, c),
            _ => continue,
        };
        let rel = path.trim_start_matches('/');
        if ctrl.is_empty() {
            dirs.push((root.join(rel), true));
        } else if ctrl.split(',').any(|c| c == "memory") {
            dirs.push((root.join("memory").join(rel), false));
        }
    }
    dirs.push((root.to_path_buf(), true));
    dirs.push((root.join("memory"), false));
    dirs
}

/// The cgroup's limit minus its usage, where a limit is set.
pub fn cgroup_headroom(proc_cgroup: &str, root: &Path) -> Option<u64> {
    for (dir, v2) in cgroup_dirs(proc_cgroup, root) {
        let (lim, cur) = if v2 {
            ("memory.max", "memory.current")
        } else {
            ("memory.limit_in_bytes", "memory.usage_in_bytes")
        };
        let Ok(l) = std::fs::read_to_string(dir.join(lim)) else {
            continue;
        };
        let Some(limit) = limit_value(&l) else {
            // This group has no limit; an outer one may, but it is not visible here.
            continue;
        };
        let used = std::fs::read_to_string(dir.join(cur))
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or(0);
        return Some(limit.saturating_sub(used));
    }
    None
}

/// The memory available now: the smallest bound, and which it is.
pub fn available() -> Option<Available> {
    let override_ = std::env::var(LIMIT_VAR).ok();
    if override_
        .as_deref()
        .is_some_and(|v| v.eq_ignore_ascii_case("off"))
    {
        return None;
    }
    let mut best: Option<Available> = None;
    let mut offer = |bytes: u64, source: String| {
        if best.as_ref().is_none_or(|b| bytes < b.bytes) {
            best = Some(Available { bytes, source });
        }
    };
    if let Some(b) = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .as_deref()
        .and_then(mem_available)
    {
        offer(b, "MemAvailable in /proc/meminfo".into());
    }
    if let Ok(cg) = std::fs::read_to_string("/proc/self/cgroup")
        && let Some(b) = cgroup_headroom(&cg, Path::new("/sys/fs/cgroup"))
    {
        offer(b, "the cgroup's memory limit minus its usage".into());
    }
    if let Some(limit) = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .as_deref()
        .and_then(address_space_limit)
    {
        let size = std::fs::read_to_string("/proc/self/status")
            .ok()
            .as_deref()
            .and_then(|s| kb_field(s, "VmSize"))
            .unwrap_or(0);
        offer(
            limit.saturating_sub(size),
            format!(
                "the address-space limit (RLIMIT_AS, {}) minus the process's size",
                crate::analysis::memory::human_bytes(limit)
            ),
        );
    }
    if let Some(b) = override_.as_deref().and_then(parse_bytes) {
        offer(b, LIMIT_VAR.to_string());
    }
    best
}

/// Refuses `estimate` when it exceeds the memory available (never when that cannot be read).
pub fn guard(estimate: &Estimate) -> Result<(), MemoryRefusal> {
    match available() {
        Some(a) => estimate.check(&a),
        None => Ok(()),
    }
}

/// The heap of `set`'s tokens and metadata (`analysis::memory::labels`), for jobs that copy
/// them (hard debiasing writes a new set).
pub fn labels_bytes(set: &crate::core::EmbeddingSet) -> u64 {
    let columns = set.metadata.columns();
    let cells: usize = columns.iter().map(|c| c.values.len()).sum();
    let meta: u64 = columns
        .iter()
        .flat_map(|c| c.values.iter())
        .map(|v| v.len() as u64)
        .sum();
    crate::analysis::memory::labels(
        set.rows(),
        set.vocab.byte_len() as u64,
        set.vocab.counts().is_some(),
        cells,
        meta,
    )
}

/// The peak resident size of this process so far (`VmHWM`), for measurements.
pub fn peak_rss() -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .as_deref()
        .and_then(|s| kb_field(s, "VmHWM"))
}

/// How loading `path` fills memory, from its extension and (for npy) the dtype in its header:
/// little-endian f32 npy/safetensors and `.esv` files are memory-mapped.
pub fn load_kind(path: &Path) -> LoadKind {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "esv" => LoadKind::Mapped,
        "parquet" | "arrow" | "ipc" | "feather" => LoadKind::Table,
        "npy" | "safetensors" => {
            use std::io::Read;
            let mut head = [0u8; 512];
            let n = std::fs::File::open(path)
                .and_then(|mut f| f.read(&mut head))
                .unwrap_or(0);
            let head = String::from_utf8_lossy(&head[..n]);
            if head.contains("'<f4'") || head.contains("\"F32\"") {
                LoadKind::Mapped
            } else {
                LoadKind::Binary
            }
        }
        _ if path.is_dir() => LoadKind::Table,
        _ => LoadKind::Text,
    }
}

/// The estimate of loading `path` (a file, or a folder of parts: their total size).
pub fn load_estimate(path: &Path) -> Estimate {
    let size = if path.is_dir() {
        std::fs::read_dir(path)
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .filter_map(|e| e.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    } else {
        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| path.display().to_string());
    crate::analysis::memory::load(&name, size, load_kind(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_proc_formats() {
        let meminfo =
            "MemTotal:       32768000 kB\nMemFree:         1000 kB\nMemAvailable:   22549120 kB\n";
        assert_eq!(mem_available(meminfo), Some(22_549_120 * 1024));
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max cpu time              unlimited            unlimited            seconds   \n\
                      Max address space         2147483648           unlimited            bytes     \n";
        assert_eq!(address_space_limit(limits), Some(2_147_483_648));
        let unlimited =
            "Max address space         unlimited            unlimited            bytes\n";
        assert_eq!(address_space_limit(unlimited), None);
        assert_eq!(limit_value("max\n"), None);
        assert_eq!(limit_value("9223372036854771712\n"), None);
        assert_eq!(limit_value("1073741824\n"), Some(1 << 30));
    }

    #[test]
    fn cgroup_files_v1_and_v2() {
        let root = tempfile::tempdir().unwrap();
        // v2: the process's own group.
        let g = root.path().join("user.slice/app");
        std::fs::create_dir_all(&g).unwrap();
        std::fs::write(g.join("memory.max"), "1000000\n").unwrap();
        std::fs::write(g.join("memory.current"), "400000\n").unwrap();
        assert_eq!(
            cgroup_headroom("0::/user.slice/app\n", root.path()),
            Some(600_000)
        );
        // v1: the memory controller's folder; an unlimited group reads as none.
        let root1 = tempfile::tempdir().unwrap();
        let m = root1.path().join("memory/box");
        std::fs::create_dir_all(&m).unwrap();
        std::fs::write(m.join("memory.limit_in_bytes"), "9223372036854771712\n").unwrap();
        std::fs::write(m.join("memory.usage_in_bytes"), "5\n").unwrap();
        assert_eq!(cgroup_headroom("4:memory:/box\n", root1.path()), None);
        std::fs::write(m.join("memory.limit_in_bytes"), "500\n").unwrap();
        assert_eq!(cgroup_headroom("4:memory:/box\n", root1.path()), Some(495));
    }

    #[test]
    fn this_process_has_a_bound() {
        // Linux always has /proc/meminfo; the override lowers it.
        let a = available().expect("memory available");
        assert!(a.bytes > 0);
        assert!(peak_rss().is_some_and(|p| p > 0));
    }
}
