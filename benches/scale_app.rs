//! The desktop app on a large set (millions of rows): UI work per frame while the set opens and
//! its first map is made, while a UMAP map is computed and animates, while the neighbour index
//! is built, and when rows are selected (the inspector's neighbours). The whole app runs in
//! egui_kittest; UI work is the app's own measure of one frame's egui pass (`frame_seconds`),
//! without the render, which under a software Vulkan driver says nothing about a GPU.
//!
//! `EMBEDSCOPE_SCALE_FILE=/path/to/synth-2m-300.npy cargo bench --bench scale_app` (release;
//! make the file with benches/peers/make_scale_data.py; `EMBEDSCOPE_SCALE_CACHE=DIR` uses the
//! cache folder where the CLI stored the set's index instead of a fresh one). Without the variable the bench uses a
//! 200,000 x 100 synthetic set written to a temporary folder. Prints one line per phase.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use embedscope::app::Command;
use embedscope::ui::{EmbedscopeApp, StartOptions};

fn synthetic(dir: &std::path::Path, n: usize, d: usize) -> PathBuf {
    let path = dir.join("synthetic.vec");
    let mut s = 0x9E37_79B9_7F4A_7C15_u64;
    let mut text = format!("{n} {d}\n");
    for i in 0..n {
        text.push_str(&format!("w{i}"));
        let c = (i % 50) as f32;
        for j in 0..d {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let noise = (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
            let centre = ((c * 7.0 + j as f32) * 0.37).sin();
            text.push_str(&format!(" {:.4}", centre + 0.3 * noise));
        }
        text.push('\n');
    }
    std::fs::write(&path, text).expect("write synthetic set");
    path
}

struct Phase {
    frames: Vec<f64>,
}

impl Phase {
    fn new() -> Self {
        Phase { frames: Vec::new() }
    }

    fn step(&mut self, h: &mut Harness<'_, EmbedscopeApp>) {
        h.step();
        self.frames.push(h.state().frame_seconds);
        std::thread::sleep(Duration::from_millis(16));
    }

    fn print(&mut self, what: &str, wall: f64) {
        if self.frames.is_empty() {
            println!("{what}: no frames");
            return;
        }
        self.frames.sort_by(f64::total_cmp);
        let n = self.frames.len();
        println!(
            "{what}: {wall:.1} s, {n} frames, UI work median {:.2} ms, p95 {:.2} ms, max {:.1} ms",
            self.frames[n / 2] * 1e3,
            self.frames[(n * 95 / 100).min(n - 1)] * 1e3,
            self.frames[n - 1] * 1e3
        );
    }
}

fn busy(h: &Harness<'_, EmbedscopeApp>) -> bool {
    !h.state().app.jobs.is_empty()
}

fn main() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = match std::env::var_os("EMBEDSCOPE_SCALE_FILE") {
        Some(f) => PathBuf::from(f),
        None => synthetic(tmp.path(), 200_000, 100),
    };
    // A private cache folder for this run, unless EMBEDSCOPE_SCALE_CACHE names one (where the
    // CLI stored the set's neighbour index: `neighbors --index ann`), so the app reopens it.
    let cache = std::env::var_os("EMBEDSCOPE_SCALE_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| tmp.path().join("cache"));
    // SAFETY: set before any other thread of this process starts.
    unsafe { std::env::set_var("EMBEDSCOPE_CACHE_DIR", &cache) };
    println!("file {}", file.display());

    let mut h = Harness::builder()
        .with_size([1280.0, 800.0])
        .build_eframe(|cc| {
            EmbedscopeApp::new(
                cc,
                StartOptions {
                    files: vec![file.clone()],
                    empty: false,
                    settings_path: None,
                },
            )
        });

    // Opening: the load job, the integrity scan and the first (PCA) map with its quality.
    let t = Instant::now();
    let mut open = Phase::new();
    while busy(&h)
        || h.state()
            .app
            .active_dataset()
            .is_none_or(|d| d.map.is_none())
    {
        open.step(&mut h);
        if t.elapsed() > Duration::from_secs(1800) {
            break;
        }
    }
    let rows = h.state().app.active_dataset().map_or(0, |d| d.set.rows());
    open.print(
        &format!("open {rows} rows + PCA map"),
        t.elapsed().as_secs_f64(),
    );

    // Idle frames with the map shown.
    let mut idle = Phase::new();
    for _ in 0..30 {
        idle.step(&mut h);
    }
    idle.print("idle, map shown", 0.0);

    // Selecting rows: the inspector's neighbours of each.
    let t = Instant::now();
    let mut select = Phase::new();
    for i in 0..20 {
        let row = (i * 7919) % rows.max(1);
        h.state_mut().app.apply(Command::Select { row, add: false });
        select.step(&mut h);
        while busy(&h) {
            select.step(&mut h);
        }
    }
    select.print("select 20 rows (neighbours)", t.elapsed().as_secs_f64());

    // A UMAP map, animated while it optimises.
    let t = Instant::now();
    let mut umap = Phase::new();
    // By cosine, the metric of the index the set got when it opened: UMAP takes its
    // neighbours from it.
    h.state_mut().app.apply(Command::Project(
        embedscope::engine::jobs::ProjectSpec::Umap(
            embedscope::analysis::project::umap::UmapParams {
                metric: embedscope::analysis::knn::Metric::Cosine,
                ..Default::default()
            },
        ),
    ));
    umap.step(&mut h);
    let mut next_report = 120.0;
    while busy(&h) {
        umap.step(&mut h);
        // A long phase (millions of rows): the frames so far every two minutes, with the job's
        // own progress line.
        if t.elapsed().as_secs_f64() >= next_report {
            next_report += 120.0;
            let status = h
                .state()
                .app
                .jobs
                .first()
                .map(|j| format!("{}: {}", j.label, j.text))
                .unwrap_or_default();
            Phase {
                frames: umap.frames.clone(),
            }
            .print(
                &format!("  UMAP so far ({status})"),
                t.elapsed().as_secs_f64(),
            );
        }
        if t.elapsed() > Duration::from_secs(3600) {
            break;
        }
    }
    umap.print("UMAP map (animated)", t.elapsed().as_secs_f64());
}
