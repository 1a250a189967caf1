//! Panics of third-party decoders (Parquet, Arrow) caught and turned into errors without a
//! message on stderr.
//!
//! The process's panic hook is wrapped once (`Once`: thread-safe): inside a [`catch_quietly`]
//! scope on the current thread the wrapper only records the message and where it was raised;
//! anywhere else (other threads, code outside a scope) it calls the hook it replaced, so
//! panics elsewhere are reported as before. Scopes nest.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe, PanicHookInfo};
use std::sync::Once;

thread_local! {
    /// Open quiet scopes on this thread.
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    /// The location of the last panic silenced on this thread.
    static LAST: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info: &PanicHookInfo<'_>| {
            if DEPTH.with(Cell::get) > 0 {
                let at = info.location().map(|l| {
                    let file = l.file();
                    // A dependency's path from its crate folder (`parquet-60.1.0/src/...`),
                    // ours from the package root (`src/...`).
                    let own = file.strip_prefix(concat!(env!("CARGO_MANIFEST_DIR"), "/"));
                    let short = match (own, file.find("/registry/src/")) {
                        (Some(own), _) => own,
                        (None, Some(i)) => {
                            let rest = &file[i + "/registry/src/".len()..];
                            rest.split_once('/').map_or(rest, |(_, r)| r)
                        }
                        (None, None) => file,
                    };
                    format!("{short}:{}", l.line())
                });
                LAST.with(|last| *last.borrow_mut() = at);
            } else {
                previous(info);
            }
        }));
    });
}

/// A panic caught by [`catch_quietly`]: its message and where it was raised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Caught {
    pub message: String,
    /// `file:line` (a dependency's file from its crate folder); `None` if unknown.
    pub location: Option<String>,
}

impl std::fmt::Display for Caught {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        if let Some(at) = &self.location {
            write!(f, " (at {at})")?;
        }
        Ok(())
    }
}

/// Runs `f`, turning a panic on this thread into `Err` with nothing printed.
pub(crate) fn catch_quietly<T>(f: impl FnOnce() -> T) -> Result<T, Caught> {
    install();
    DEPTH.with(|d| d.set(d.get() + 1));
    LAST.with(|last| last.borrow_mut().take());
    let r = panic::catch_unwind(AssertUnwindSafe(f));
    DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    r.map_err(|payload| Caught {
        message: payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".into()),
        location: LAST.with(|last| last.borrow_mut().take()),
    })
}

#[cfg(test)]
mod tests {
    use super::catch_quietly;

    #[test]
    fn a_panic_in_scope_is_an_error_with_its_place() {
        let r: Result<(), _> = catch_quietly(|| panic!("boom {}", 7));
        let c = r.unwrap_err();
        assert_eq!(c.message, "boom 7");
        let at = c.location.clone().unwrap();
        assert!(at.starts_with("src/formats/quiet.rs:"), "{at}");
        assert!(
            c.to_string()
                .starts_with("boom 7 (at src/formats/quiet.rs:")
        );
        assert_eq!(catch_quietly(|| 5), Ok(5));
    }

    #[test]
    fn nested_scopes_and_other_threads() {
        let r = catch_quietly(|| {
            let inner: Result<(), _> = catch_quietly(|| panic!("inner"));
            assert_eq!(inner.unwrap_err().message, "inner");
            // Still quiet after the inner scope closed.
            panic!("outer")
        });
        let r: Result<(), _> = r;
        assert_eq!(r.unwrap_err().message, "outer");
        // A thread outside any scope still reaches the previous hook (and unwinds as usual);
        // a scoped test thread, joined here (the library's threads live in engine/).
        let t = std::thread::scope(|s| s.spawn(|| panic!("elsewhere")).join());
        assert!(t.is_err());
    }
}
