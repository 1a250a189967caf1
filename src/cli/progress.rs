//! Terminal progress bars for work that takes more than a second (never drawn when stderr is
//! not a terminal, so JSON output and logs stay clean).

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar that appears only after `DELAY` and only on a terminal.
pub struct Bar {
    inner: Mutex<Option<ProgressBar>>,
    start: Instant,
    label: &'static str,
    bytes: bool,
    enabled: bool,
}

const DELAY: Duration = Duration::from_secs(1);

impl Bar {
    pub fn new(label: &'static str, bytes: bool) -> Arc<Bar> {
        Arc::new(Bar {
            inner: Mutex::new(None),
            start: Instant::now(),
            label,
            bytes,
            enabled: std::io::stderr().is_terminal(),
        })
    }

    pub fn update(&self, done: u64, total: u64) {
        if !self.enabled || self.start.elapsed() < DELAY {
            return;
        }
        let Ok(mut guard) = self.inner.lock() else {
            return;
        };
        let bar = guard.get_or_insert_with(|| {
            let template = if self.bytes {
                "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}"
            } else {
                "{msg} [{bar:30}] {pos}/{len} {per_sec} eta {eta}"
            };
            let style = ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
            let b = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
                .with_style(style);
            b.set_message(self.label);
            b
        });
        if total > 0 {
            bar.set_length(total);
        }
        bar.set_position(done);
    }

    pub fn finish(&self) {
        if let Ok(mut g) = self.inner.lock()
            && let Some(b) = g.take()
        {
            b.finish_and_clear();
        }
    }

    /// A callback for the loaders.
    pub fn callback(self: &Arc<Self>) -> Arc<dyn Fn(u64, u64) + Send + Sync> {
        let me = Arc::clone(self);
        Arc::new(move |d, t| me.update(d, t))
    }
}
