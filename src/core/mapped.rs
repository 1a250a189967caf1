//! Read-only memory maps of input files, and the one failure no bounds check can prevent: a
//! mapped file truncated by another program while it is in use. Reading a page past the new
//! end raises SIGBUS, which kills the process without a word.
//!
//! Copying every input instead of mapping it would cost its size in memory and a full read
//! before the first use (the point of mapping a 2 GB array or a model is to pay neither), and
//! checking the length before each access cannot close the window between the check and the
//! read. So inputs are still mapped, each map is registered here with its file's name, and on
//! Linux a SIGBUS handler turns a fault inside a registered map into a clear message on stderr
//! naming the file, then exits with status 1 (the process cannot go on: the data it was
//! reading is gone). A fault anywhere else is handed to the handler that was installed before
//! (by default: the signal's usual death).

use std::fs::File;
use std::path::Path;

use memmap2::Mmap;

/// Maps `file` (opened from `path`) read-only and registers the map, so that a SIGBUS inside
/// it (the file was truncated while mapped) ends the process with a message naming `path`.
pub fn map_readonly(file: &File, path: &Path) -> std::io::Result<Mmap> {
    // SAFETY: a read-only map; the one hazard, the file shrinking under the map, is turned into
    // a clear exit by the SIGBUS handler installed by `guard` (Linux).
    let map = unsafe { Mmap::map(file) }?;
    guard::register(map.as_ptr() as usize, map.len(), path);
    Ok(map)
}

#[cfg(target_os = "linux")]
mod guard {
    use std::path::Path;
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

    /// Maps remembered at once; the oldest entry is reused when more are registered (a map
    /// that old is normally gone; if not, its fault gets the message without a file name).
    const SLOTS: usize = 64;

    struct Slot {
        start: AtomicUsize,
        len: AtomicUsize,
        name: AtomicPtr<u8>,
        name_len: AtomicUsize,
    }

    #[allow(clippy::declare_interior_mutable_const)]
    const EMPTY: Slot = Slot {
        start: AtomicUsize::new(0),
        len: AtomicUsize::new(0),
        name: AtomicPtr::new(std::ptr::null_mut()),
        name_len: AtomicUsize::new(0),
    };
    static SLOTS_IN_USE: [Slot; SLOTS] = [EMPTY; SLOTS];
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    /// The SIGBUS action that was in place before ours.
    static PREVIOUS: OnceLock<libc::sigaction> = OnceLock::new();

    pub fn register(start: usize, len: usize, path: &Path) {
        install();
        // The name must outlive any map that may fault: it is leaked (a few bytes a map).
        let name: &'static mut [u8] =
            Box::leak(path.display().to_string().into_bytes().into_boxed_slice());
        let slot = &SLOTS_IN_USE[NEXT.fetch_add(1, Ordering::Relaxed) % SLOTS];
        slot.len.store(0, Ordering::SeqCst);
        slot.start.store(start, Ordering::SeqCst);
        slot.name_len.store(name.len(), Ordering::SeqCst);
        slot.name.store(name.as_mut_ptr(), Ordering::SeqCst);
        slot.len.store(len, Ordering::SeqCst);
    }

    fn install() {
        PREVIOUS.get_or_init(|| {
            // SAFETY: plain sigaction calls with zeroed, then filled, structs; the handler only
            // does async-signal-safe work (atomic loads, write(2), _exit, sigaction).
            unsafe {
                let mut ours: libc::sigaction = std::mem::zeroed();
                ours.sa_sigaction = on_sigbus as *const () as usize;
                ours.sa_flags = libc::SA_SIGINFO;
                libc::sigemptyset(&mut ours.sa_mask);
                let mut old: libc::sigaction = std::mem::zeroed();
                libc::sigaction(libc::SIGBUS, &ours, &mut old);
                old
            }
        });
    }

    fn write_stderr(bytes: &[u8]) {
        // SAFETY: write(2) on fd 2 with a valid buffer; async-signal-safe.
        unsafe {
            libc::write(2, bytes.as_ptr().cast(), bytes.len());
        }
    }

    extern "C" fn on_sigbus(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
        // SAFETY: the kernel passes a valid siginfo for an SA_SIGINFO handler.
        let addr = unsafe { (*info).si_addr() } as usize;
        for slot in &SLOTS_IN_USE {
            let len = slot.len.load(Ordering::SeqCst);
            let start = slot.start.load(Ordering::SeqCst);
            if len == 0 || addr < start || addr - start >= len {
                continue;
            }
            let name = slot.name.load(Ordering::SeqCst);
            let name_len = slot.name_len.load(Ordering::SeqCst);
            write_stderr(b"embedscope: ");
            if !name.is_null() {
                // SAFETY: the name was leaked with this length and is never freed.
                write_stderr(unsafe { std::slice::from_raw_parts(name, name_len) });
                write_stderr(b": ");
            }
            write_stderr(
                b"the file changed size while it was read (another program truncated or \
                  rewrote it while it was memory-mapped); stopping\n",
            );
            // SAFETY: _exit is async-signal-safe; nothing can be cleaned up after this fault.
            unsafe { libc::_exit(1) };
        }
        // Not one of ours: hand it to the handler that was there before (or the default
        // action, which the faulting instruction meets again on return).
        match PREVIOUS.get() {
            Some(old) if old.sa_sigaction != libc::SIG_DFL && old.sa_sigaction != libc::SIG_IGN => {
                if old.sa_flags & libc::SA_SIGINFO != 0 {
                    // SAFETY: the previous handler was installed with SA_SIGINFO: this signature.
                    let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                        unsafe { std::mem::transmute(old.sa_sigaction) };
                    f(sig, info, ctx);
                } else {
                    // SAFETY: a plain handler installed without SA_SIGINFO: this signature.
                    let f: extern "C" fn(libc::c_int) =
                        unsafe { std::mem::transmute(old.sa_sigaction) };
                    f(sig);
                }
            }
            _ => {
                // SAFETY: restores the default action; returning re-raises the fault.
                unsafe {
                    let mut dfl: libc::sigaction = std::mem::zeroed();
                    dfl.sa_sigaction = libc::SIG_DFL;
                    libc::sigaction(libc::SIGBUS, &dfl, std::ptr::null_mut());
                }
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod guard {
    pub fn register(_start: usize, _len: usize, _path: &std::path::Path) {}
}
