//! The app's flows without egui: commands in, state out (real jobs), one file per area.

use std::time::{Duration, Instant};

use super::*;

/// Polls until no job runs (or panics after a minute).
pub(super) fn settle(app: &mut App) {
    let t = Instant::now();
    loop {
        app.poll();
        if !app.busy() {
            return;
        }
        assert!(t.elapsed() < Duration::from_secs(120), "jobs still running");
        std::thread::sleep(Duration::from_millis(5));
    }
}

pub(super) fn demo_app() -> App {
    let mut app = App::new(Settings::default(), None);
    app.apply(Command::OpenDemo);
    settle(&mut app);
    app
}

mod autosave;
mod bias;
mod clusters;
mod core;
mod density;
mod documents;
mod drift;
mod index;
mod place;
mod privacy;
mod report;
mod table;
