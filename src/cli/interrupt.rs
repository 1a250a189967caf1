//! Ctrl+C and SIGTERM. Any command stops at once with exit code 130 and leaves no file behind:
//! the handler removes the temporary files being written (`formats::remove_temp_files_now`),
//! prints the error (one JSON object on stdout with `--json`, unless the result is already
//! being printed) and ends the process. A command that stops by itself between steps (`embed`:
//! after the current batch) asks for [`graceful`]; a second signal then ends it at once.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};

use embedscope::formats;

/// Set by the first signal while a command stops by itself.
static CANCEL: AtomicBool = AtomicBool::new(false);
/// The running command stops by itself on [`CANCEL`].
static GRACEFUL: AtomicBool = AtomicBool::new(false);
/// The result is being printed on stdout: the handler prints no second object.
static PRINTING: AtomicBool = AtomicBool::new(false);
/// What the handler writes on stderr and (with `--json`) on stdout, made before it is installed.
static MESSAGES: OnceLock<(Vec<u8>, Option<Vec<u8>>)> = OnceLock::new();

const MESSAGE: &str = "interrupted; nothing was written";

/// Installs the handler for the whole run; `json`: the error object goes on stdout too.
pub fn install(json: bool) {
    formats::track_temp_files();
    let out = json.then(|| {
        let v = serde_json::json!({"error": {"kind": "interrupted", "message": MESSAGE}});
        let mut b = serde_json::to_vec_pretty(&v).unwrap_or_default();
        b.push(b'\n');
        b
    });
    let _ = MESSAGES.set((format!("error: {MESSAGE}\n").into_bytes(), out));
    register();
}

/// The command stops by itself when the returned flag is set (the first signal); a second
/// signal ends the process as any other command.
pub fn graceful() -> &'static AtomicBool {
    GRACEFUL.store(true, SeqCst);
    &CANCEL
}

/// The result is about to be printed on stdout.
pub fn printing() {
    PRINTING.store(true, SeqCst);
}

#[cfg(unix)]
fn register() {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the handler only uses atomics, `unlink`, `write` and `_exit`, which are
        // async-signal-safe, and reads messages made before it was installed.
        let _ = unsafe { signal_hook_registry::register(sig, on_signal) };
    }
}

#[cfg(not(unix))]
fn register() {}

#[cfg(unix)]
fn on_signal() {
    if GRACEFUL.load(SeqCst) && !CANCEL.swap(true, SeqCst) {
        return;
    }
    formats::remove_temp_files_now();
    if let Some((err, out)) = MESSAGES.get() {
        write_all(2, err);
        if let Some(out) = out
            && !PRINTING.load(SeqCst)
        {
            write_all(1, out);
        }
    }
    // SAFETY: ends the process without running destructors or atexit handlers.
    unsafe { libc::_exit(130) };
}

#[cfg(unix)]
fn write_all(fd: libc::c_int, mut b: &[u8]) {
    while !b.is_empty() {
        // SAFETY: `b` is a valid slice for its length.
        let n = unsafe { libc::write(fd, b.as_ptr().cast(), b.len()) };
        if n <= 0 {
            return;
        }
        b = &b[n.unsigned_abs()..];
    }
}
