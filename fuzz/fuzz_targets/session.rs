//! Session files and the settings file of the app, and what a restore derives from them (the
//! maps' parameters checked, the filters).
//!
//! Mode byte: bit 0 the settings file (else a session).
#![no_main]

use embedscope::analysis::project::axes::AxisSpec;
use embedscope::app::session::{Session, Settings};
use embedscope::engine::jobs::ProjectSpec;
use embedscope_fuzz::{Input, file};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let input = Input::new(data);
    if input.mode & 1 != 0 {
        let p = file("settings.json", input.rest);
        let (settings, _msg) = Settings::load(&p);
        std::hint::black_box(settings);
        return;
    }
    let p = file("session.json", input.rest);
    let Ok(s) = Session::load(&p) else {
        return;
    };
    for d in &s.datasets {
        // The checks a restored map's parameters meet before the map is made again.
        match d.map.spec() {
            ProjectSpec::Pca => {}
            ProjectSpec::Tsne(p) => {
                let _ = p.check();
            }
            ProjectSpec::Umap(p) => {
                let _ = p.check();
            }
            ProjectSpec::Axes { x, y } => {
                let _ = AxisSpec::parse(&x);
                if let Some(y) = y {
                    let _ = AxisSpec::parse(&y);
                }
            }
        }
        for f in &d.filters {
            std::hint::black_box((f.column(), f.filter()));
        }
    }
});
