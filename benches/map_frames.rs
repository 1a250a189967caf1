//! Map frame times while panning and zooming: the WGSL point renderer vs egui_plot's `Points`,
//! at 10k, 100k and 1M points, rendered through egui_kittest's wgpu renderer (the machine's GPU,
//! or Mesa lavapipe: then the figures are relative). Also the hover lookup (spatial grid vs a
//! full scan) and the time from start to the first demo map.
//!
//! `cargo bench --bench map_frames` (release). Prints one table; `--quick` uses fewer frames.

use std::sync::Arc;
use std::time::Instant;

use egui_kittest::Harness;
use embedscope::app::grid::Grid;
use embedscope::app::{App, Command, Settings};
use embedscope::ui::points::{self, Instance, PointsCallback};

fn cloud(n: usize) -> Vec<[f32; 2]> {
    let mut s = 0x2545_F491_4F6C_DD1D_u64;
    let mut r = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 40) as f32 / (1u64 << 24) as f32
    };
    (0..n)
        .map(|i| {
            let c = (i % 7) as f32;
            let a = r() * std::f32::consts::TAU;
            let d = r().sqrt() * 2.0;
            [c * 3.0 + d * a.cos(), (c * 1.7).sin() * 5.0 + d * a.sin()]
        })
        .collect()
}

/// Median seconds per rendered frame over `frames` frames of a camera moving every frame.
fn frames_custom(pts: &[[f32; 2]], frames: usize) -> f64 {
    let instances: Arc<Vec<Instance>> = Arc::new(
        pts.iter()
            .enumerate()
            .map(|(i, p)| Instance {
                pos: *p,
                color: points::pack(embedscope::app::colors::PALETTE[i % 12]),
                flags: 0,
            })
            .collect(),
    );
    let rs = egui_kittest::wgpu::create_render_state(
        egui_kittest::wgpu::default_wgpu_setup(),
        eframe::egui_wgpu::RendererOptions::PREDICTABLE,
    );
    points::install(&rs);
    let mut frame = 0usize;
    let mut h = Harness::builder()
        .with_size([1280.0, 800.0])
        .renderer(egui_kittest::wgpu::WgpuTestRenderer::from_render_state(rs))
        .build_ui(move |ui| {
            let rect = ui.max_rect();
            let t = frame as f32 * 0.05;
            frame += 1;
            let cb = PointsCallback {
                map_id: 1,
                key: 1,
                instances: instances.clone(),
                overlay_key: 1,
                overlay: Default::default(),
                center: [10.0 + t.sin() * 3.0, t.cos() * 2.0],
                zoom: 40.0 * (1.0 + 0.5 * (t * 0.7).sin()),
                size: [rect.width(), rect.height()],
                pixels_per_point: 1.0,
                radius_points: 2.0,
                dim_unflagged: false,
            };
            ui.painter()
                .add(eframe::egui_wgpu::Callback::new_paint_callback(rect, cb));
        });
    time_frames(&mut h, frames)
}

fn frames_plot(pts: &[[f32; 2]], frames: usize) -> f64 {
    let data: Vec<[f64; 2]> = pts.iter().map(|p| [p[0] as f64, p[1] as f64]).collect();
    let mut frame = 0usize;
    let mut h = Harness::builder()
        .with_size([1280.0, 800.0])
        .wgpu()
        .build_ui(move |ui| {
            let t = frame as f64 * 0.05;
            frame += 1;
            let (cx, cy) = (10.0 + t.sin() * 3.0, t.cos() * 2.0);
            let half = 16.0 / (1.0 + 0.5 * (t * 0.7).sin());
            egui_plot::Plot::new("bench")
                .include_x(cx - half)
                .include_x(cx + half)
                .include_y(cy - half * 0.6)
                .include_y(cy + half * 0.6)
                .show(ui, |p| {
                    p.points(egui_plot::Points::new("points", data.clone()).radius(2.0));
                });
        });
    time_frames(&mut h, frames)
}

fn time_frames<S>(h: &mut Harness<'_, S>, frames: usize) -> f64 {
    // Warm-up: pipeline creation, buffer upload, shader compilation.
    for _ in 0..3 {
        h.step();
        let _ = h.render();
    }
    let mut t: Vec<f64> = (0..frames)
        .map(|_| {
            let s = Instant::now();
            h.step();
            let _ = h.render();
            s.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let frames = if quick { 5 } else { 15 };
    println!("map frame time (median of {frames} frames, 1280x800, camera moving every frame)");
    println!(
        "{:>9}  {:>16}  {:>16}  {:>7}",
        "points", "WGSL renderer", "egui_plot", "ratio"
    );
    for n in [10_000usize, 100_000, 1_000_000] {
        let pts = cloud(n);
        let custom = frames_custom(&pts, frames);
        let plot = if n <= 100_000 || !quick {
            Some(frames_plot(&pts, frames.min(5)))
        } else {
            None
        };
        println!(
            "{n:>9}  {:>13.2} ms  {:>16}  {:>7}",
            custom * 1e3,
            plot.map_or("-".into(), |p| format!("{:.2} ms", p * 1e3)),
            plot.map_or("-".into(), |p| format!("{:.1}x", p / custom))
        );
    }
    println!();
    println!("hover lookup (nearest point within 8 px at zoom 40; 10,000 lookups)");
    for n in [10_000usize, 100_000, 1_000_000] {
        let pts = cloud(n);
        let t = Instant::now();
        let g = Grid::new(&pts);
        let build = t.elapsed().as_secs_f64();
        let qs: Vec<[f32; 2]> = cloud(10_000).iter().map(|p| [p[0] + 0.01, p[1]]).collect();
        let t = Instant::now();
        let mut hits = 0;
        for q in &qs {
            hits += usize::from(g.nearest(&pts, *q, 8.0 / 40.0).is_some());
        }
        let grid = t.elapsed().as_secs_f64() / qs.len() as f64;
        let t = Instant::now();
        for q in qs.iter().take(100) {
            let mut best = (f32::INFINITY, 0);
            for (i, p) in pts.iter().enumerate() {
                let d = (p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2);
                if d < best.0 {
                    best = (d, i);
                }
            }
            std::hint::black_box(best);
        }
        let scan = t.elapsed().as_secs_f64() / 100.0;
        println!(
            "{n:>9} points: grid {:.2} µs/lookup (built in {:.1} ms), full scan {:.1} µs ({} hits)",
            grid * 1e6,
            build * 1e3,
            scan * 1e6,
            hits
        );
    }
    println!();
    let t = Instant::now();
    let mut app = App::new(Settings::default(), None);
    app.apply(Command::OpenDemo);
    let mut first_map = None;
    while !app
        .active_dataset()
        .is_some_and(|d| d.map.as_ref().is_some_and(|m| m.finished))
    {
        app.poll();
        if first_map.is_none() && app.active_dataset().is_some_and(|d| d.map.is_some()) {
            first_map = Some(t.elapsed().as_secs_f64());
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    println!(
        "start to the demo's PCA map (50,107 x 50): map drawn after {:.0} ms, its quality after {:.0} ms",
        first_map.unwrap_or(f64::NAN) * 1e3,
        t.elapsed().as_secs_f64() * 1e3
    );
    println!();
    busy_frames(frames);
}

/// The whole app's frames (UI work + render) on the demo while t-SNE of all 50,107 points runs
/// in the background and animates the map.
fn busy_frames(frames: usize) {
    use embedscope::ui::{EmbedscopeApp, StartOptions};
    let mut h = Harness::builder()
        .with_size([1280.0, 800.0])
        .wgpu()
        .build_eframe(|cc| EmbedscopeApp::new(cc, StartOptions::default()));
    while !h
        .state()
        .app
        .active_dataset()
        .is_some_and(|d| d.map.as_ref().is_some_and(|m| m.finished))
    {
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let idle = time_frames(&mut h, frames);
    h.state_mut().app.apply(Command::Project(
        embedscope::engine::jobs::ProjectSpec::Tsne(Default::default()),
    ));
    // Wait for the first animated layout, then time frames while it keeps moving.
    while h
        .state()
        .app
        .active_dataset()
        .is_none_or(|d| d.map.as_ref().is_none_or(|m| m.finished))
    {
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let mut ui_work: Vec<f64> = Vec::new();
    let mut total: Vec<f64> = Vec::new();
    for _ in 0..frames * 2 {
        let s = Instant::now();
        h.step();
        let _ = h.render();
        total.push(s.elapsed().as_secs_f64());
        ui_work.push(h.state().frame_seconds);
        std::thread::sleep(std::time::Duration::from_millis(30));
    }
    for id in h.state().app.jobs.iter().map(|j| j.id).collect::<Vec<_>>() {
        h.state_mut().app.apply(Command::CancelJob(id));
    }
    let med = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[v.len() - 1])
    };
    let (ui_med, ui_max) = med(&mut ui_work);
    let (tot_med, tot_max) = med(&mut total);
    println!(
        "full app on the demo (50,107 points): idle frame {:.1} ms; while t-SNE runs and animates: \
         UI work median {:.1} ms (max {:.1}), frame incl. render median {:.1} ms (max {:.1})",
        idle * 1e3,
        ui_med * 1e3,
        ui_max * 1e3,
        tot_med * 1e3,
        tot_max * 1e3
    );
}
