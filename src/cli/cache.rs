//! `embedscope cache list|clear`: the native cache's entries (vector copies and neighbour
//! indexes) with their sizes, last use and source, the total and the limit; clearing all of it,
//! the entries unused for a while, or the stale ones.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use embedscope::core::human_bytes;
use embedscope::formats::{self, CacheEntry, EntryState, cache_admin};
use serde_json::json;

use super::values::{byte_size, duration};
use super::{CliError, print_json, usage};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CacheAction {
    /// Every entry with its size, last use, source and state; the total and the limit.
    List,
    /// Remove every entry, or those unused for `--older-than`, or (`--stale`) those whose
    /// source changed or went.
    Clear,
}

#[derive(Args, Debug)]
pub struct CacheArgs {
    pub action: CacheAction,
    /// `clear`: only the entries last used longer ago than this (`90s`, `30m`, `12h`, `7d`, `2w`).
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub older_than: Option<std::time::Duration>,
    /// `clear`: only the entries whose source changed or is gone.
    #[arg(long)]
    pub stale: bool,
    /// Cache directory (default: $EMBEDSCOPE_CACHE_DIR, else ~/.cache/embedscope).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// The limit to report (default: $EMBEDSCOPE_CACHE_LIMIT, else 10% of the free disk space,
    /// between 256 MiB and 4 GiB).
    #[arg(long, value_name = "SIZE", value_parser = byte_size)]
    pub cache_limit: Option<u64>,
    #[arg(long)]
    pub json: bool,
}

fn state_name(s: EntryState) -> &'static str {
    match s {
        EntryState::Current => "current",
        EntryState::SourceChanged => "source changed",
        EntryState::SourceMissing => "source missing",
        EntryState::Unknown => "source unknown",
    }
}

fn entry_json(e: &CacheEntry) -> serde_json::Value {
    json!({
        "file": e.file.display().to_string(),
        "kind": e.kind,
        "bytes": e.bytes,
        "last_used": e.last_used,
        "source": e.source,
        "state": e.state,
    })
}

pub fn cache(a: &CacheArgs) -> Result<(), CliError> {
    let dir = a
        .cache_dir
        .clone()
        .or_else(formats::default_cache_dir)
        .ok_or_else(|| usage("no cache folder: give --cache-dir (HOME is not set)"))?;
    if a.action == CacheAction::List && (a.older_than.is_some() || a.stale) {
        return Err(usage("--older-than and --stale apply to `cache clear`"));
    }
    if a.older_than.is_some() && a.stale {
        return Err(usage("give --older-than or --stale, not both"));
    }
    let limit = cache_admin::limit(&dir, a.cache_limit);
    match a.action {
        CacheAction::List => {
            let mut es = cache_admin::entries(&dir);
            // Most recently used first.
            es.sort_by_key(|e| std::cmp::Reverse(e.last_used));
            let total: u64 = es.iter().map(|e| e.bytes).sum();
            if a.json {
                print_json(&json!({
                    "dir": dir.display().to_string(),
                    "entries": es.iter().map(entry_json).collect::<Vec<_>>(),
                    "total_bytes": total,
                    "limit_bytes": limit,
                }));
                return Ok(());
            }
            println!("cache  {}", dir.display());
            for e in &es {
                let name = e
                    .file
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default();
                let age = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs())
                    .saturating_sub(e.last_used);
                println!(
                    "{:>10}  {:>8} ago  {:<14}  {}  <- {}",
                    human_bytes(e.bytes),
                    short_age(age),
                    state_name(e.state),
                    name,
                    e.source.as_deref().unwrap_or("-")
                );
            }
            println!(
                "{} entries, {} of a {} limit",
                es.len(),
                human_bytes(total),
                human_bytes(limit)
            );
        }
        CacheAction::Clear => {
            let c = if a.stale {
                let mut c = formats::Cleanup::default();
                for e in cache_admin::entries(&dir) {
                    if e.state.is_stale() && cache_admin::remove_entry(&e) {
                        c.bytes_freed += e.bytes;
                        c.stale.push(e.file);
                    } else {
                        c.bytes_left += e.bytes;
                    }
                }
                c
            } else {
                cache_admin::clear(&dir, a.older_than)
            };
            let removed = c.stale.len() + c.evicted.len();
            if a.json {
                print_json(&json!({
                    "dir": dir.display().to_string(),
                    "removed": c.stale.iter().chain(&c.evicted).map(|p| p.display().to_string()).collect::<Vec<_>>(),
                    "bytes_freed": c.bytes_freed,
                    "total_bytes": c.bytes_left,
                    "limit_bytes": limit,
                }));
                return Ok(());
            }
            println!(
                "removed {removed} entries ({}); {} left of a {} limit",
                human_bytes(c.bytes_freed),
                human_bytes(c.bytes_left),
                human_bytes(limit)
            );
        }
    }
    Ok(())
}

/// `45s`, `12m`, `5h`, `3d`.
fn short_age(s: u64) -> String {
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}
