//! What the fuzz targets share: a scratch folder for the files a reader opens, the input cut
//! into the parts of a multi-file input, and the allocation bound.
//!
//! Input layout of the targets that read more than one file or have a mode: the first byte
//! chooses the mode ([`Input::mode`]), then [`Input::parts`] cuts the rest into parts, each
//! but the last preceded by its length as a little-endian `u16`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The largest single allocation a reader may make from one fuzz input: 256 MiB (override with
/// `EMBEDSCOPE_FUZZ_MALLOC_LIMIT_MB`). Inputs are at most a few hundred KiB, so anything near
/// this is a size taken from the file without a check. libFuzzer's own `-malloc_limit_mb`
/// needs a sanitizer's allocator hooks; this allocator enforces the bound without one.
pub const DEFAULT_MALLOC_LIMIT_MB: usize = 256;

static LIMIT: AtomicUsize = AtomicUsize::new(0);

fn limit() -> usize {
    let l = LIMIT.load(Ordering::Relaxed);
    if l != 0 {
        return l;
    }
    // First call: read the environment without allocating through this allocator's check
    // (the bound is in place before the value is known, so set a provisional one first).
    LIMIT.store(DEFAULT_MALLOC_LIMIT_MB << 20, Ordering::Relaxed);
    let mb = std::env::var("EMBEDSCOPE_FUZZ_MALLOC_LIMIT_MB")
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
        .filter(|&m| m > 0)
        .unwrap_or(DEFAULT_MALLOC_LIMIT_MB);
    let bytes = mb.saturating_mul(1 << 20);
    LIMIT.store(bytes, Ordering::Relaxed);
    bytes
}

/// The system allocator, aborting (a crash for libFuzzer, with the size on stderr) on a single
/// request above [`limit`].
pub struct Bounded;

fn over(size: usize) -> ! {
    // Digits written into a stack buffer: no allocation while reporting one.
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = size;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    let parts: [&[u8]; 3] = [
        b"embedscope-fuzz: an allocation of ",
        &digits[i..],
        b" bytes exceeds the bound (EMBEDSCOPE_FUZZ_MALLOC_LIMIT_MB)\n",
    ];
    for p in parts {
        // SAFETY: writing a live buffer to the standard error descriptor.
        unsafe {
            libc::write(2, p.as_ptr().cast(), p.len());
        }
    }
    std::process::abort()
}

// SAFETY: every call is forwarded to `System` with the same layout and pointer.
unsafe impl GlobalAlloc for Bounded {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > limit() {
            over(layout.size());
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() > limit() {
            over(layout.size());
        }
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > limit() {
            over(new_size);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Bounded = Bounded;

/// Where scratch folders go: `EMBEDSCOPE_FUZZ_TMP`, else the system's temporary folder.
pub fn base() -> PathBuf {
    std::env::var_os("EMBEDSCOPE_FUZZ_TMP")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
}

/// This process's scratch folder (removed by nobody: it holds the last input's files only, a
/// few KiB, under the system's temporary folder, one per process).
pub fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = base().join(format!("embedscope-fuzz-{}", std::process::id()));
        // A failure here is the harness's, not a reader's: say so and stop.
        if let Err(e) = std::fs::create_dir_all(&dir) {
            eprintln!("embedscope-fuzz: cannot create {}: {e}", dir.display());
            std::process::exit(2);
        }
        dir
    })
}

/// Writes `bytes` to `name` in the scratch folder (replacing what was there).
pub fn file(name: &str, bytes: &[u8]) -> PathBuf {
    let p = scratch().join(name);
    if let Err(e) = std::fs::write(&p, bytes) {
        eprintln!("embedscope-fuzz: cannot write {}: {e}", p.display());
        std::process::exit(2);
    }
    p
}

/// Removes `name` from the scratch folder if it is there.
pub fn remove(name: &str) {
    let _ = std::fs::remove_file(scratch().join(name));
}

/// A fuzz input: a mode byte and parts.
pub struct Input<'a> {
    pub mode: u8,
    pub rest: &'a [u8],
}

impl<'a> Input<'a> {
    pub fn new(data: &'a [u8]) -> Input<'a> {
        match data.split_first() {
            Some((&mode, rest)) => Input { mode, rest },
            None => Input { mode: 0, rest: &[] },
        }
    }

    /// `n` parts: each of the first `n - 1` is a `u16` little-endian length and that many
    /// bytes (fewer where the input ends); the last is what remains.
    pub fn parts(&self, n: usize) -> Vec<&'a [u8]> {
        let mut out = Vec::with_capacity(n);
        let mut rest = self.rest;
        for _ in 1..n {
            let len = match rest {
                [a, b, tail @ ..] => {
                    rest = tail;
                    usize::from(u16::from_le_bytes([*a, *b]))
                }
                _ => {
                    rest = &[];
                    0
                }
            };
            let (head, tail) = rest.split_at(len.min(rest.len()));
            out.push(head);
            rest = tail;
        }
        out.push(rest);
        out
    }
}

/// Builds an input from a mode and parts (the inverse of [`Input::parts`]), for seeds.
pub fn join(mode: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut out = vec![mode];
    for (i, p) in parts.iter().enumerate() {
        if i + 1 < parts.len() {
            let len = u16::try_from(p.len()).unwrap_or(u16::MAX);
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(&p[..usize::from(len)]);
        } else {
            out.extend_from_slice(p);
        }
    }
    out
}

/// Fails the run (a crash) when an error message shows a panic caught inside embedscope's own
/// code: a caught panic in a third-party decoder is an error for the user, one in our code is a
/// bug the fuzzer must report. A third-party one is counted, and its first 20 inputs are kept
/// in `decoder-panics/` under [`base`] with the message (for regression tests).
pub fn no_own_panic(msg: &str, input: &[u8]) {
    if !msg.contains("decoder failed") {
        return;
    }
    if msg.contains("(at src/") {
        panic!("a panic inside embedscope was caught and turned into an error: {msg}");
    }
    static KEPT: AtomicUsize = AtomicUsize::new(0);
    let n = KEPT.fetch_add(1, Ordering::Relaxed);
    if n < 20 {
        let dir = base().join("decoder-panics");
        let _ = std::fs::create_dir_all(&dir);
        let name = format!("{}-{n}", std::process::id());
        let _ = std::fs::write(dir.join(format!("{name}.input")), input);
        let _ = std::fs::write(dir.join(format!("{name}.txt")), msg);
    }
}
