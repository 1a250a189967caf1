//! The session autosave: what is open (sets, maps, selections, filters, bookmarks) written every
//! few seconds to `<config dir>/autosave/<pid>-<start>.session.json` while it changes, and
//! removed when the app ends normally. A file left by a run that no longer runs is the work of a
//! run that crashed or was killed: the next start offers to restore it (the newest such file),
//! and keeps the one it was not asked to restore as `discarded.session.json` rather than
//! deleting it.
//!
//! Each running app writes its own file, so a second window never offers the first one's work.
//! A run is the process id (`kill(pid, 0)`) and, where the system gives it (Linux), the
//! process's start time, so an id reused by a later process does not hide a crashed run's file.
//! The write is atomic (a temporary file renamed), so a crash while writing leaves the previous
//! autosave whole.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::session::Session;
use crate::formats::{process_start, run_alive};

/// How often the session is compared with the last one written.
pub const AUTOSAVE_EVERY: Duration = Duration::from_secs(5);

/// A session a previous run left behind, offered for restoring.
#[derive(Debug, Clone)]
pub struct Recovered {
    pub file: PathBuf,
    pub session: Session,
    /// When it was last written (the file's modification time), if known.
    pub modified: Option<std::time::SystemTime>,
}

impl Recovered {
    /// One line per set it holds (the set's name and source), for the prompt.
    pub fn describe(&self) -> Vec<String> {
        self.session
            .datasets
            .iter()
            .map(|d| {
                if d.source.starts_with("embedded:") {
                    format!("{} (the bundled demo)", d.name)
                } else {
                    format!("{} ({})", d.name, d.source)
                }
            })
            .collect()
    }
}

/// The autosave of one running app.
#[derive(Debug)]
pub struct Autosave {
    /// The folder (None: off, as in tests without a settings file).
    dir: Option<PathBuf>,
    /// The session last written (or found empty), so unchanged state is not written again.
    last: Option<Session>,
    last_check: Option<Instant>,
    pub every: Duration,
    /// A previous run's session waiting for the user's answer; nothing is written meanwhile,
    /// so the file offered is never overwritten before it is restored or set aside.
    pub offer: Option<Recovered>,
    /// The last write error, said once until a write succeeds again.
    failing: bool,
}

impl Autosave {
    /// Off: nothing is read or written.
    pub fn off() -> Autosave {
        Autosave {
            dir: None,
            last: None,
            last_check: None,
            every: AUTOSAVE_EVERY,
            offer: None,
            failing: false,
        }
    }

    /// The autosave folder beside a settings file.
    pub fn beside(settings: &Path) -> Autosave {
        let dir = settings
            .parent()
            .map(|p| p.join("autosave"))
            .unwrap_or_else(|| PathBuf::from("autosave"));
        Autosave {
            dir: Some(dir),
            ..Autosave::off()
        }
    }

    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// This process's file: `<pid>-<start>.session.json` (the start time where the system
    /// gives it, so a later process that reuses the id does not pass for this run), else
    /// `<pid>.session.json`.
    pub fn file(&self) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join(own_name()))
    }

    /// Looks for sessions left by runs that ended without closing (their process is gone).
    /// The newest that reads as a session with something in it is offered; damaged files are
    /// named in the returned messages and set aside (renamed `.damaged`), never deleted.
    pub fn find_left_behind(&mut self) -> Vec<String> {
        let mut notes = Vec::new();
        let Some(dir) = self.dir.clone() else {
            return notes;
        };
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return notes;
        };
        let mut found: Vec<(Option<std::time::SystemTime>, PathBuf)> = Vec::new();
        for e in entries.flatten() {
            let path = e.path();
            let Some((pid, start)) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".session.json"))
                .and_then(run_of)
            else {
                continue;
            };
            if path.file_name().and_then(|n| n.to_str()) == Some(own_name().as_str())
                || run_alive(pid, start)
            {
                continue;
            }
            let modified = e.metadata().ok().and_then(|m| m.modified().ok());
            found.push((modified, path));
        }
        // Newest first.
        found.sort_by_key(|f| std::cmp::Reverse(f.0));
        for (modified, file) in found {
            match Session::load(&file) {
                Ok(session) if worth_offering(&session) => {
                    if self.offer.is_none() {
                        self.offer = Some(Recovered {
                            file,
                            session,
                            modified,
                        });
                    } else {
                        // An older left-behind session: kept aside, not offered twice.
                        set_aside(&file, "older.session.json");
                    }
                }
                Ok(_) => {
                    let _ = std::fs::remove_file(&file);
                }
                Err(e) => {
                    let to = file.with_extension("json.damaged");
                    let _ = std::fs::rename(&file, &to);
                    notes.push(format!(
                        "{e}; the file was kept as {} and not restored",
                        to.display()
                    ));
                }
            }
        }
        notes
    }

    /// Takes the offered session to restore it; its file is removed (this run's autosave takes
    /// over from the next tick).
    pub fn accept(&mut self) -> Option<Session> {
        let r = self.offer.take()?;
        let _ = std::fs::remove_file(&r.file);
        Some(r.session)
    }

    /// Declines the offered session: its file is kept as `discarded.session.json` (the one
    /// before is replaced), which File > Open session... can still open.
    pub fn decline(&mut self) -> Option<PathBuf> {
        let r = self.offer.take()?;
        set_aside(&r.file, "discarded.session.json")
    }

    /// Whether a check is due at `now`.
    pub fn due(&self, now: Instant) -> bool {
        self.dir.is_some()
            && self.offer.is_none()
            && self
                .last_check
                .is_none_or(|t| now.duration_since(t) >= self.every)
    }

    /// Writes `session` when it differs from the last one written; an empty session removes
    /// the file. Returns a message the first time a write fails.
    pub fn save(&mut self, now: Instant, session: Session) -> Option<String> {
        self.last_check = Some(now);
        if self.last.as_ref() == Some(&session) {
            return None;
        }
        let file = self.file()?;
        let result = if session.datasets.is_empty() && session.bookmarks.is_empty() {
            match std::fs::remove_file(&file) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(format!("{}: {e}", file.display()))
                }
                _ => Ok(()),
            }
        } else {
            std::fs::create_dir_all(file.parent().unwrap_or(Path::new(".")))
                .map_err(|e| format!("{}: {e}", file.display()))
                .and_then(|()| session.save(&file).map_err(|e| e.to_string()))
        };
        match result {
            Ok(()) => {
                self.last = Some(session);
                self.failing = false;
                None
            }
            Err(e) if !self.failing => {
                self.failing = true;
                Some(e)
            }
            Err(_) => None,
        }
    }

    /// The app ends normally: its autosave is removed (nothing to recover).
    pub fn finish(&mut self) {
        if let Some(f) = self.file() {
            let _ = std::fs::remove_file(f);
        }
        self.last = None;
    }
}

/// A session with more than the untouched demo in it.
/// This run's file name (the start time read once).
fn own_name() -> String {
    static START: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    let pid = std::process::id();
    match START.get_or_init(|| process_start(pid)) {
        Some(start) => format!("{pid}-{start}.session.json"),
        None => format!("{pid}.session.json"),
    }
}

/// The run an autosave file's stem names: `PID` or `PID-START`.
fn run_of(stem: &str) -> Option<(u32, Option<u64>)> {
    match stem.split_once('-') {
        Some((pid, start)) => Some((pid.parse().ok()?, Some(start.parse().ok()?))),
        None => Some((stem.parse().ok()?, None)),
    }
}

fn worth_offering(s: &Session) -> bool {
    !s.bookmarks.is_empty()
        || s.search.is_some()
        || s.datasets.iter().any(|d| {
            !d.source.starts_with("embedded:") || !d.selection.is_empty() || !d.filters.is_empty()
        })
}

/// Renames `file` to `name` in its folder; the new path, or None when that failed.
fn set_aside(file: &Path, name: &str) -> Option<PathBuf> {
    let to = file.with_file_name(name);
    std::fs::rename(file, &to).ok().map(|()| to)
}

/// A duration in words for the prompt ("40 s", "12 min", "3 h", "2 days").
pub fn ago(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..172_800 => format!("{} h", s / 3600),
        _ => format!("{} days", s / 86_400),
    }
}
