//! The desktop app driven through its widgets (egui_kittest, rendered with wgpu: Mesa's
//! lavapipe where there is no GPU). Flows: start on the demo, search "king" and see "queen"
//! among its neighbours; run PCA; run a small t-SNE to the end; cancel a job; open a malformed
//! file and get an error while the app keeps running; the point renderer really draws.
#![cfg(feature = "gui")]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use embedscope::ui::{EmbedscopeApp, StartOptions};

fn harness(opts: StartOptions) -> Harness<'static, EmbedscopeApp> {
    Harness::builder()
        .with_size([1280.0, 800.0])
        .wgpu()
        .build_eframe(move |cc| EmbedscopeApp::new(cc, opts))
}

/// Steps frames until `done` holds (panics after `secs`).
fn until(
    h: &mut Harness<'static, EmbedscopeApp>,
    secs: u64,
    what: &str,
    done: impl Fn(&EmbedscopeApp) -> bool,
) {
    let t = Instant::now();
    loop {
        h.step();
        if done(h.state()) {
            return;
        }
        if t.elapsed() >= Duration::from_secs(secs) {
            let a = h.state();
            let jobs: Vec<String> = a
                .app
                .jobs
                .iter()
                .map(|j| format!("{} ({:?}, {})", j.label, j.kind, j.text))
                .collect();
            let notes: Vec<&str> = a
                .app
                .notifications
                .iter()
                .map(|n| n.title.as_str())
                .collect();
            panic!(
                "timed out waiting for {what}; running: {jobs:?}; data sets: {}; notes: {notes:?}",
                a.app.datasets.len()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn map_ready(a: &EmbedscopeApp) -> bool {
    !a.app.busy()
        && a.app
            .active_dataset()
            .is_some_and(|d| d.map.as_ref().is_some_and(|m| m.finished))
}

fn small_vectors(n: usize) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tmp");
    let set = embedscope::formats::demo_set(Some(n)).expect("demo");
    let p = dir.path().join(format!("glove{n}.vec"));
    embedscope::formats::save(&set, &p, None).expect("save");
    (dir, p)
}

#[test]
fn demo_search_king_shows_queen_and_pca_reruns() {
    let mut h = harness(StartOptions::default());
    until(&mut h, 120, "the demo map", map_ready);
    {
        let a = h.state();
        let d = a.app.active_dataset().expect("demo open");
        assert!(d.set.rows() > 50_000);
        assert_eq!(d.map.as_ref().expect("map").method, "UMAP");
    }
    h.get_by_label("Find token").focus();
    h.step();
    h.get_by_label("Find token").type_text("king");
    h.step();
    h.get_by_label("Find").click();
    h.step();
    h.step();
    {
        let a = h.state();
        let d = a.app.active_dataset().expect("d");
        let primary = d.primary().expect("king selected");
        assert_eq!(d.token(primary), "king");
    }
    // "queen" is a link in the neighbour list.
    h.get_by_label("queen");
    // Run PCA from the projection panel (it shows the method of the map on screen: UMAP).
    let before = h
        .state()
        .app
        .active_dataset()
        .and_then(|d| d.map.as_ref().map(|m| m.version))
        .expect("version");
    h.get_by_role_and_label(egui::accesskit::Role::Button, "PCA")
        .click();
    h.step();
    h.get_by_label("Run projection").click();
    h.step();
    until(&mut h, 120, "the new PCA map", |a| {
        map_ready(a)
            && a.app
                .active_dataset()
                .and_then(|d| d.map.as_ref())
                .is_some_and(|m| m.version != before && m.method == "PCA")
    });
    // The point renderer drew the map: many pixels in the map area differ from its background.
    let image = h.render().expect("render");
    let rect = h.state().map_state().rect;
    let ppp = 1.0;
    let (x0, y0) = (
        (rect.left() * ppp) as u32 + 5,
        (rect.top() * ppp) as u32 + 5,
    );
    let (x1, y1) = (
        (rect.right() * ppp) as u32 - 5,
        (rect.bottom() * ppp) as u32 - 5,
    );
    let bg = image.get_pixel(x0, y0).0;
    let mut lit = 0;
    for y in (y0..y1).step_by(2) {
        for x in (x0..x1).step_by(2) {
            let p = image.get_pixel(x, y).0;
            if p.iter().zip(bg).any(|(a, b)| a.abs_diff(b) > 40) {
                lit += 1;
            }
        }
    }
    assert!(lit > 2_000, "only {lit} map pixels drawn");
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ui_demo_king.png");
    image.save(&out).expect("save screenshot");
    eprintln!("screenshot: {}", out.display());
}

#[test]
fn small_tsne_runs_to_the_end_and_a_long_one_cancels() {
    let (_dir, path) = small_vectors(800);
    let mut h = harness(StartOptions {
        files: vec![path],
        ..StartOptions::default()
    });
    until(&mut h, 120, "the PCA map of the small set", map_ready);
    h.get_by_label("t-SNE").click();
    h.step();
    h.get_by_label("Run projection").click();
    h.step();
    until(&mut h, 300, "t-SNE to finish", |a| {
        map_ready(a)
            && a.app
                .active_dataset()
                .and_then(|d| d.map.as_ref())
                .is_some_and(|m| m.method == "t-SNE")
    });
    let q = h
        .state()
        .app
        .active_dataset()
        .and_then(|d| d.map.as_ref())
        .and_then(|m| m.quality.clone())
        .expect("quality shown with the map");
    assert!(q.trustworthiness > 0.8, "{}", q.trustworthiness);
    h.get_by_label_contains("trustworthiness@10");
    // A t-SNE of the whole demo set takes long: cancel it from its progress row.
    h.get_by_label("File").click();
    h.run_steps(3);
    h.get_by_label("Open demo").click();
    h.step();
    until(&mut h, 120, "the demo", |a| {
        map_ready(a) && a.app.datasets.len() == 2
    });
    h.get_by_label("Run projection").click();
    until(&mut h, 60, "the t-SNE job", |a| a.app.busy());
    h.step();
    h.get_by_label("Cancel").click();
    until(&mut h, 120, "the cancellation", |a| {
        !a.app.busy()
            && a.app
                .notifications
                .iter()
                .any(|n| n.title.contains("cancelled"))
    });
    h.get_by_label_contains("cancelled");
}

#[test]
fn a_malformed_file_gives_an_error_and_the_app_keeps_running() {
    let dir = tempfile::tempdir().expect("tmp");
    let bad = dir.path().join("broken.vec");
    std::fs::write(&bad, "2 3\nalpha 1 2 3\nbeta 1 nope 3\n").expect("write");
    let mut h = harness(StartOptions {
        files: vec![bad],
        ..StartOptions::default()
    });
    until(&mut h, 60, "the error", |a| {
        !a.app.busy() && !a.app.notifications.is_empty()
    });
    h.get_by_label_contains("failed");
    // The details (where, and what was expected) show under the title, and fold away.
    h.get_by_label("hide details");
    let t = Instant::now();
    while h.query_by_label_contains("line 3").is_none() {
        h.step();
        assert!(t.elapsed() < Duration::from_secs(20), "details not shown");
        std::thread::sleep(Duration::from_millis(10));
    }
    let n = &h.state().app.notifications[0];
    assert!(n.title.contains("broken.vec") && n.details.contains("broken.vec"));
    // Still responsive: the demo opens and gets its map.
    h.state_mut().app.apply(embedscope::app::Command::OpenDemo);
    until(&mut h, 120, "the demo after the error", map_ready);
    assert_eq!(h.state().app.datasets.len(), 1);
}

fn compare_fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/compare")
        .join(name)
}

#[test]
fn compare_two_versions_through_the_picker_and_pick_a_word_from_the_list() {
    let mut h = harness(StartOptions {
        files: vec![compare_fixture("pair_a.vec"), compare_fixture("pair_b.vec")],
        ..StartOptions::default()
    });
    until(&mut h, 120, "two data sets", |a| {
        !a.app.busy() && a.app.datasets.len() == 2
    });
    // Tick both versions in order and press Compare.
    h.get_by_label("pair_a.vec").click();
    h.step();
    h.get_by_label("pair_b.vec").click();
    h.step();
    h.get_by_label("Compare").click();
    until(&mut h, 120, "the comparison", |a| {
        a.app
            .compare
            .as_ref()
            .is_some_and(|c| !c.busy() && !c.results.is_empty())
    });
    // The header shows the global measures; the ranked list the most changed words.
    h.get_by_label_contains("Jaccard@10 0.264");
    h.get_by_label_contains("CKA 0.628");
    h.get_by_label("is").click();
    h.step();
    h.step();
    let cv = h.state().app.compare.as_ref().expect("compare");
    assert_eq!(cv.selected.as_deref(), Some("is"));
    assert!(cv.maps.iter().all(|m| m.view.selection.len() == 1));
    h.get_by_label_contains("'is' (rank");
    if let Ok(dir) = std::env::var("EMBEDSCOPE_SCREENSHOT_DIR")
        && let Ok(img) = h.render()
    {
        let _ = img.save(PathBuf::from(dir).join("compare.png"));
    }
    // Frames stay fast on the compare screen.
    h.step();
    assert!(
        h.state().frame_seconds < 0.25,
        "{}",
        h.state().frame_seconds
    );
    h.get_by_label("Close").click();
    h.step();
    assert!(h.state().app.compare.is_none());
}

#[test]
fn bias_probes_weat_direct_bias_and_debias_through_the_window() {
    let mut h = harness(StartOptions::default());
    until(&mut h, 120, "the demo map", map_ready);
    h.get_by_label("Analysis").click();
    h.run_steps(3);
    h.get_by_label("Bias probes").click();
    h.run_steps(3);
    // Tick two bundled tests and run them on the demo.
    h.get_by_label("weat1").click();
    h.step();
    h.get_by_label("weat7").click();
    h.step();
    assert_eq!(h.state().app.bias.selected, vec!["weat1", "weat7"]);
    h.get_by_label("Run WEAT").click();
    until(&mut h, 120, "the WEAT results", |a| {
        !a.app.bias.busy() && a.app.bias.weat.is_some()
    });
    h.run_steps(2);
    // The table: each test's row (beside its checkbox), the effect size as WEFE has it.
    assert_eq!(h.query_all_by_label("weat1").count(), 2);
    assert_eq!(h.query_all_by_label("weat7").count(), 2);
    h.get_by_label("1.0916");
    h.get_by_label("1.5442");
    // Direct bias, then hard debiasing into a new data set.
    h.get_by_label("Run direct bias").click();
    until(&mut h, 120, "the direct bias", |a| {
        !a.app.bias.busy() && a.app.bias.result.is_some()
    });
    h.run_steps(2);
    h.get_by_label_contains("direct bias DB_1 = ");
    h.get_by_label("Debias").click();
    until(&mut h, 120, "the debiased set", |a| {
        !a.app.busy() && a.app.datasets.len() == 2
    });
    h.run_steps(2);
    let name = h.state().app.datasets[1].name.clone();
    assert!(name.ends_with(" (hard-debiased)"), "{name}");
    // In the data-set list, and as a WEAT data set beside the original.
    assert!(h.query_all_by_label_contains("(hard-debiased)").count() >= 2);
    h.get_by_label_contains("direct bias on the new set");
    if let Ok(dir) = std::env::var("EMBEDSCOPE_SCREENSHOT_DIR")
        && let Ok(img) = h.render()
    {
        let _ = img.save(PathBuf::from(dir).join("bias_direct.png"));
    }
    h.get_by_label("Run WEAT").click();
    until(&mut h, 120, "WEAT on both sets", |a| {
        !a.app.bias.busy() && a.app.bias.weat.as_ref().is_some_and(|r| r.cells.len() == 4)
    });
    h.run_steps(3);
    h.get_by_label("Differences of effect sizes");
    assert_eq!(
        h.state()
            .app
            .bias
            .weat
            .as_ref()
            .map(|r| r.differences.len()),
        Some(2)
    );
    if let Ok(dir) = std::env::var("EMBEDSCOPE_SCREENSHOT_DIR")
        && let Ok(img) = h.render()
    {
        let _ = img.save(PathBuf::from(dir).join("bias.png"));
    }
    // The window closes; the app keeps its results.
    h.get_by_label("Close window").click();
    h.step();
    assert!(h.state().app.bias.weat.is_some());
}

#[test]
fn export_report_window_writes_markdown_and_shows_the_preview() {
    let (dir, second) = small_vectors(3000);
    let mut h = harness(StartOptions::default());
    until(&mut h, 120, "the demo map", map_ready);
    h.state_mut()
        .app
        .apply(embedscope::app::Command::OpenPath(second));
    until(&mut h, 120, "two data sets", |a| {
        !a.app.busy() && a.app.datasets.len() == 2
    });
    h.get_by_label("File").click();
    h.run_steps(3);
    h.get_by_label("Export report...").click();
    h.run_steps(3);
    // Every section ticked; untick the benchmarks.
    assert_eq!(
        h.state().app.report.sections,
        embedscope::report::Section::ALL.to_vec()
    );
    h.get_by_label("Evaluation benchmarks").click();
    h.step();
    assert!(!h.state().app.report.has(embedscope::report::Section::Eval));
    // Without a path, Export waits (disabled) and says why.
    h.get_by_label_contains("Type where to save the report");
    let out = dir.path().join("report.md");
    h.get_by_label("Save to").focus();
    h.step();
    h.get_by_label("Save to")
        .type_text(&out.display().to_string());
    h.run_steps(2);
    assert_eq!(h.state().app.report.path, out.display().to_string());
    assert!(h.query_by_label_contains("Type where to save").is_none());
    h.get_by_label_contains("embedscope report demo ");
    h.get_by_label("Export").click();
    h.step();
    assert!(h.state().app.report.busy(), "the export started");
    until(&mut h, 180, "the report", |a| {
        !a.app.report.busy() && (a.app.report.last.is_some() || a.app.report.error.is_some())
    });
    h.run_steps(3);
    assert_eq!(h.state().app.report.error, None);
    // The preview: the files written, and the Markdown text in a read-only view.
    assert!(out.is_file());
    let text = std::fs::read_to_string(&out).expect("read the report");
    assert!(text.starts_with("# Model comparison"));
    assert!(!text.contains("## Evaluation benchmarks"));
    assert!(text.contains("## Global measures"));
    h.get_by_label_contains("Wrote ");
    h.get_by_label(&out.display().to_string());
    h.get_by_label("Markdown (the file written)");
    let shown = h
        .query_by(|n| {
            n.value()
                .is_some_and(|v| v.starts_with("# Model comparison") && v.contains("## Integrity"))
        })
        .is_some();
    assert!(shown, "the Markdown preview is shown");
    if let Ok(dir) = std::env::var("EMBEDSCOPE_SCREENSHOT_DIR")
        && let Ok(img) = h.render()
    {
        let _ = img.save(PathBuf::from(dir).join("report_dialog.png"));
    }
    h.get_by_label("Close window").click();
    h.step();
    assert!(h.state().app.report.last.is_some());
}

#[test]
fn the_encode_panel_describes_the_model_folder_and_offers_its_prompts() {
    let dir = tempfile::tempdir().expect("tmp");
    let model = std::fs::canonicalize("tests/fixtures/encoder/tiny-xlm-roberta").expect("fixture");
    let settings = dir.path().join("settings.json");
    std::fs::write(
        &settings,
        serde_json::json!({ "last_model": model }).to_string(),
    )
    .expect("settings");
    let mut h = harness(StartOptions {
        empty: true,
        settings_path: Some(settings),
        ..StartOptions::default()
    });
    for _ in 0..5 {
        h.step();
    }
    h.get_by_label_contains("xlm-roberta, 2 layers, 32 dimensions, mean pooling");
    h.get_by_label_contains("up to 32 tokens");
    // The folder names "query" as its default prompt: the prompt box shows it.
    h.get_by_value("folder default (query)");
}

/// Twelve short documents (`docs.npy` + vocabulary + metadata with a `text`, a `fruit` and a
/// `score` column: 0, 10, ..., 110), so the table fits on screen.
fn small_documents() -> (tempfile::TempDir, PathBuf) {
    use embedscope::core::{MetaColumn, Metadata};
    let n = 12;
    let fruit = |i: usize| ["apple", "pear", "plum"][i % 3];
    let mut meta = Metadata::new();
    meta.push(
        MetaColumn {
            name: "text".into(),
            values: (0..n)
                .map(|i| format!("note {i} about {}", fruit(i)))
                .collect(),
        },
        n,
    )
    .expect("text");
    meta.push(
        MetaColumn {
            name: "fruit".into(),
            values: (0..n).map(|i| fruit(i).to_string()).collect(),
        },
        n,
    )
    .expect("fruit");
    meta.push(
        MetaColumn {
            name: "score".into(),
            values: (0..n).map(|i| format!("{}", i * 10)).collect(),
        },
        n,
    )
    .expect("score");
    documents_file(meta, n, "docs.npy")
}

/// `n` documents with `meta`, saved as `name` (4 dimensions of fixed values, rows `d0`...) in a
/// new temporary folder.
fn documents_file(
    meta: embedscope::core::Metadata,
    n: usize,
    name: &str,
) -> (tempfile::TempDir, PathBuf) {
    use embedscope::core::{EmbeddingSet, Matrix, Provenance, Vocab};
    let data: Vec<f32> = (0..n * 4)
        .map(|k| ((k * 7919 % 101) as f32 / 101.0) - 0.5)
        .collect();
    let set = EmbeddingSet::new(
        Vocab::from_unique((0..n).map(|i| format!("d{i}"))).expect("vocab"),
        Matrix::from_vec(n, 4, data).expect("matrix"),
        meta,
        Provenance::default(),
    )
    .expect("set");
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join(name);
    embedscope::formats::save(&set, &p, None).expect("save");
    (dir, p)
}

/// Steps until a widget labelled `label` shows (panics after `secs`).
fn until_shown(h: &mut Harness<'static, EmbedscopeApp>, secs: u64, label: &str) {
    let t = Instant::now();
    while h.query_by_label(label).is_none() {
        h.step();
        if t.elapsed() >= Duration::from_secs(secs) {
            let shown: Vec<String> = h
                .query_all(egui_kittest::kittest::by())
                .filter_map(|n| n.accesskit_node().label())
                .collect();
            panic!("timed out waiting for {label:?}; labels shown: {shown:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn document_table_row_opens_the_reader_and_a_category_filters_the_table() {
    let (_dir, path) = small_documents();
    let mut h = harness(StartOptions {
        files: vec![path],
        ..StartOptions::default()
    });
    until(&mut h, 120, "the map of the documents", map_ready);
    // The Documents panel opens from its one-line bar and lists the rows.
    h.get_by_label("Documents").click();
    until_shown(&mut h, 20, "note 2 about plum");
    h.get_by_label("note 0 about apple");
    h.get_by_label("note 1 about pear");
    h.get_by_label("12 rows");
    // Clicking a row selects it, the reader shows its text, and the map centres on it.
    h.get_by_label("note 2 about plum").click();
    until(&mut h, 10, "the row selected", |a| {
        a.app.active_dataset().is_some_and(|d| d.selection == [2])
    });
    h.run_steps(2);
    h.get_by_label("d2 · row 2");
    assert!(
        h.get_all_by_label("note 2 about plum").count() >= 2,
        "the table's cell and the reader"
    );
    let centre = h.state().map_state().center;
    let p = h
        .state()
        .app
        .active_dataset()
        .and_then(|d| d.map.as_ref())
        .and_then(|m| m.position(2))
        .expect("on the map");
    assert_eq!(centre, p, "the map is centred on the row");
    // The table still lists every row (a row picked from it does not narrow it).
    h.get_by_label("12 rows");
    h.key_press(egui::Key::Escape);
    until(&mut h, 10, "the selection cleared", |a| {
        a.app
            .active_dataset()
            .is_some_and(|d| d.selection.is_empty())
    });

    // The filter: open the section, click a category of the fruit chart.
    let filter = h.get_by_label("Filter");
    filter.scroll_to_me();
    h.step();
    h.get_by_label("Filter").click();
    until(&mut h, 20, "the filter charts", |a| {
        a.app
            .active_dataset()
            .is_some_and(|d| d.table.cross_filter().is_some())
    });
    until_shown(&mut h, 10, "apple · 4 of 4");
    let apple = h.get_by_label("apple · 4 of 4");
    apple.scroll_to_me();
    h.step();
    h.get_by_label("apple · 4 of 4").click();
    until(&mut h, 10, "the filter", |a| {
        a.app
            .active_dataset()
            .is_some_and(|d| d.table.kept().map(|m| m.count()) == Some(4))
    });
    h.run_steps(3);
    // Only the apple rows are listed; the counts follow.
    for i in [0, 3, 6, 9] {
        h.get_by_label(&format!("note {i} about apple"));
    }
    assert!(h.query_by_label("note 1 about pear").is_none());
    assert!(h.query_by_label("note 2 about plum").is_none());
    assert!(h.get_all_by_label_contains("4 of 12 rows").count() >= 2);
    if let Ok(dir) = std::env::var("EMBEDSCOPE_SCREENSHOT_DIR")
        && let Ok(img) = h.render()
    {
        let _ = img.save(PathBuf::from(dir).join("documents_filter.png"));
    }
}

#[test]
fn dragging_across_a_histogram_keeps_a_range_and_the_set_without_text_offers_a_column() {
    let (_dir, path) = small_documents();
    let mut h = harness(StartOptions {
        files: vec![path],
        ..StartOptions::default()
    });
    until(&mut h, 120, "the map of the documents", map_ready);
    h.get_by_label("Filter").scroll_to_me();
    h.step();
    h.get_by_label("Filter").click();
    until_shown(&mut h, 20, "score histogram");
    h.get_by_label("score histogram").scroll_to_me();
    h.step();
    // Drag from the left edge to the middle of the bars.
    let r = h.get_by_label("score histogram").rect();
    let y = r.center().y;
    let (x0, x1) = (r.left() + 1.0, r.left() + r.width() * 0.5);
    h.hover_at(egui::pos2(x0, y));
    h.step();
    h.drag_at(egui::pos2(x0, y));
    h.step();
    for k in 1..=8 {
        h.hover_at(egui::pos2(x0 + (x1 - x0) * k as f32 / 8.0, y));
        h.step();
    }
    h.drop_at(egui::pos2(x1, y));
    h.run_steps(3);
    let (lo, hi, kept) = {
        let d = h.state().app.active_dataset().expect("set");
        let cf = d.table.cross_filter().expect("charts");
        let col = cf.column_index("score").expect("score chart");
        let Some(embedscope::app::filter::Filter::Range { lo, hi }) = cf.filter(col).cloned()
        else {
            panic!("no range kept: {:?}", cf.filter(col));
        };
        let kept: Vec<usize> = d.table.kept().expect("filtered").iter().collect();
        (lo, hi, kept)
    };
    // The range starts at the smallest value and ends about half way (0..110).
    assert_eq!(lo, 0.0);
    assert!((40.0..=70.0).contains(&hi), "{hi}");
    let direct: Vec<usize> = (0..12).filter(|&i| (i * 10) as f64 <= hi).collect();
    assert_eq!(kept, direct);
    h.get_by_label_contains("kept: 0 to");
    // The table lists those rows only.
    h.get_by_label("Documents").click();
    until_shown(&mut h, 20, "note 0 about apple");
    assert!(h.query_by_label("note 11 about plum").is_none());
    h.get_by_label("Clear all").click();
    until(&mut h, 10, "the filter cleared", |a| {
        a.app
            .active_dataset()
            .is_some_and(|d| d.table.kept().is_none())
    });

    // A set without a text column: the reader says so and offers its columns.
    let set = embedscope::formats::demo_set(Some(50)).expect("demo");
    let mut meta = embedscope::core::Metadata::new();
    meta.push(
        embedscope::core::MetaColumn {
            name: "gloss".into(),
            values: (0..50).map(|i| format!("gloss of word {i}")).collect(),
        },
        50,
    )
    .expect("gloss");
    let set = embedscope::core::EmbeddingSet::new(
        set.vocab.clone(),
        set.matrix.clone(),
        meta,
        Default::default(),
    )
    .expect("set");
    let words = _dir.path().join("words.npy");
    embedscope::formats::save(&set, &words, None).expect("save");
    h.state_mut()
        .app
        .apply(embedscope::app::Command::OpenPath(words));
    until(&mut h, 120, "the word set", |a| {
        map_ready(a) && a.app.datasets.len() == 2
    });
    h.state_mut()
        .app
        .apply(embedscope::app::Command::Select { row: 3, add: false });
    until_shown(&mut h, 10, "This set has no text column.");
    h.get_by_value("choose a column").click();
    h.run_steps(3);
    h.get_by_role_and_label(egui::accesskit::Role::Button, "column gloss")
        .click();
    until(&mut h, 10, "the text column picked", |a| {
        a.app
            .active_dataset()
            .is_some_and(|d| d.text_column_override.as_deref() == Some("gloss"))
    });
    h.run_steps(2);
    assert!(h.get_all_by_label("gloss of word 3").count() >= 1);
    assert!(h.query_by_label("This set has no text column.").is_none());
}

#[test]
fn density_contours_turn_on_and_off_from_the_view_menu() {
    let (_dir, path) = small_vectors(2000);
    let mut h = harness(StartOptions {
        files: vec![path],
        ..StartOptions::default()
    });
    until(&mut h, 120, "the PCA map of the small set", map_ready);
    let holds = |a: &EmbedscopeApp| {
        a.app
            .active_dataset()
            .is_some_and(|d| d.density.contours.as_ref().is_some_and(|c| c.is_current(d)))
    };
    assert!(!holds(h.state()), "off by default");
    // View > Density contours (the menu opened first when the click closed it).
    let toggle = |h: &mut Harness<'static, EmbedscopeApp>| {
        if h.query_by_label("Density contours").is_none() {
            h.get_by_label("View").click();
            h.run_steps(3);
        }
        h.get_by_label("Density contours").click();
        h.run_steps(2);
    };
    toggle(&mut h);
    until(&mut h, 20, "the density contours of the map", |a| {
        a.app.settings.density && holds(a)
    });
    {
        let d = h.state().app.active_dataset().expect("set");
        let c = d.density.contours.as_ref().expect("contours");
        assert_eq!(c.levels.len(), 4);
        assert!(c.levels.iter().all(|l| !l.lines.is_empty()), "{:?}", c.note);
        assert_eq!(c.points, d.map.as_ref().expect("map").coords.len());
    }
    if let Ok(dir) = std::env::var("EMBEDSCOPE_SCREENSHOT_DIR") {
        if h.query_by_label("Density contours").is_some() {
            h.get_by_label("View").click();
            h.run_steps(3);
        }
        if let Ok(img) = h.render() {
            let _ = img.save(PathBuf::from(dir).join("density_contours.png"));
        }
    }
    toggle(&mut h);
    until(&mut h, 20, "the contours dropped", |a| {
        !a.app.settings.density && a.app.datasets.iter().all(|d| d.density.contours.is_none())
    });
}

/// A corpus of support tickets encoded in the app with the tiny test encoder (its record names
/// the model folder), then the atlas flows through the widgets: hover shows a document's text,
/// a search by meaning lists scored documents and a click selects one, a text search lists
/// matches, k-means clusters are found and one is selected from the list, and the cluster table
/// and the filtered rows are exported from the File menu.
#[test]
fn tickets_hover_search_by_meaning_and_text_cluster_and_export() {
    use embedscope::app::{Command, SearchMode};
    let dir = tempfile::tempdir().expect("tmp");
    let corpus = dir.path().join("tickets.jsonl");
    let topics = [
        "refund for my order never arrived",
        "password reset link does not work",
        "the parcel came late and broken",
        "charged twice on my credit card",
    ];
    let lines: String = (0..40)
        .map(|i| {
            format!(
                "{{\"text\": \"ticket {i}: {}\", \"channel\": \"{}\"}}\n",
                topics[i % 4],
                ["mail", "chat"][i % 2]
            )
        })
        .collect();
    std::fs::write(&corpus, lines).expect("corpus");
    let mut h = harness(StartOptions {
        empty: true,
        ..StartOptions::default()
    });
    h.state_mut()
        .app
        .apply(Command::Encode(embedscope::engine::jobs::EncodeSpec {
            model: PathBuf::from("tests/fixtures/encoder/tiny-bert"),
            corpus,
            corpus_options: Default::default(),
            level: embedscope::engine::encode::Level::Sentence,
            backend: embedscope::engine::device::BackendChoice::Cpu,
            pooling: None,
            prompt: embedscope::model::PromptChoice::FolderDefault,
            truncate_dim: None,
            batch_size: 8,
        }));
    until(&mut h, 120, "the encoded tickets and their map", map_ready);

    // The map stays left of the inspector (nothing of it drawn under the panel).
    let inspector_left = h.get_by_label("Inspector").rect().left();
    assert!(
        h.state().map_state().rect.right() <= inspector_left,
        "map {:?} runs under the inspector at {inspector_left}",
        h.state().map_state().rect
    );
    // Hover: the point under the cursor, its text in the tooltip.
    let (row, pos) = {
        let a = h.state();
        let d = a.app.active_dataset().expect("set");
        let m = d.map.as_ref().expect("map");
        let st = a.map_state();
        let p = st.to_screen(st.rect, m.coords[0]);
        (m.rows[0] as usize, p)
    };
    h.hover_at(pos);
    h.run_steps(2);
    {
        let a = h.state();
        let hovered = a.map_state().hovered.expect("a point under the cursor");
        let d = a.app.active_dataset().expect("set");
        let lines = d.hover_lines(hovered);
        assert!(
            lines.iter().any(|l| l.starts_with("ticket ")),
            "the tooltip shows the text: {lines:?}"
        );
        assert!(
            lines.iter().any(|l| l.starts_with("channel: ")),
            "{lines:?}"
        );
        let _ = row;
    }

    // Search by meaning through the search box.
    h.get_by_label("mode").click();
    h.run_steps(2);
    h.get_by_role_and_label(egui::accesskit::Role::Button, "meaning")
        .click();
    h.run_steps(2);
    h.get_by_label("Find text").focus();
    h.step();
    h.get_by_label("Find text")
        .type_text("money back for a missing order");
    h.step();
    h.get_by_label("Find").click();
    until(&mut h, 60, "documents ranked by meaning", |a| {
        a.app.search.meaning_job.is_none() && !a.app.search.ranked.is_empty()
    });
    h.run_steps(2);
    h.get_by_label_contains("closest in meaning");
    let (best, best_label) = {
        let a = h.state();
        let d = a.app.active_dataset().expect("set");
        let r = a.app.search.ranked[0].0;
        (r, d.set.row_label(r, 60))
    };
    assert_eq!(h.state().app.search.ranked.len(), 20);
    h.get_all_by_label(&best_label)
        .next()
        .expect("the best document listed")
        .click();
    h.run_steps(2);
    assert_eq!(
        h.state().app.active_dataset().and_then(|d| d.primary()),
        Some(best)
    );

    // Text search: whole words.
    h.get_by_label("mode").click();
    h.run_steps(2);
    h.get_by_role_and_label(egui::accesskit::Role::Button, "whole word")
        .click();
    h.run_steps(2);
    retype(&mut h, "Find text", "password");
    h.get_by_label("Find").click();
    h.run_steps(2);
    assert_eq!(h.state().app.search.mode, SearchMode::WholeWord);
    h.get_by_label("10 matches");

    // Clusters: k-means on the map, a cluster picked from the list.
    h.get_by_label("Clusters").scroll_to_me();
    h.step();
    h.get_by_label("Clusters").click();
    h.run_steps(2);
    h.get_by_label("k-means").click();
    h.run_steps(2);
    h.get_by_label("Find clusters").click();
    until(&mut h, 60, "the clusters", |a| {
        !a.app.busy()
            && a.app
                .active_dataset()
                .is_some_and(|d| d.map_clusters.is_some())
    });
    h.run_steps(2);
    let (first_name, members) = {
        let d = h.state().app.active_dataset().expect("set");
        let c = d.map_clusters.as_ref().expect("clusters");
        let big = c
            .fine
            .clusters
            .iter()
            .max_by_key(|k| (k.summary.size, std::cmp::Reverse(k.summary.id)))
            .expect("a cluster");
        (big.summary.label.clone(), big.summary.size)
    };
    h.get_all_by_label(&first_name)
        .next()
        .expect("listed")
        .click();
    h.run_steps(2);
    assert_eq!(
        h.state().app.active_dataset().map(|d| d.selection.len()),
        Some(members)
    );

    // Exports from the File menu: the cluster table, then the selection's rows as CSV.
    let out = dir.path().join("clusters.csv");
    h.get_by_label("File").click();
    h.run_steps(2);
    retype(&mut h, "Export to (path):", &out.display().to_string());
    h.get_by_label("Export clusters as CSV").click();
    h.run_steps(3);
    let text = std::fs::read_to_string(&out).expect("cluster table written");
    assert!(
        text.starts_with("level,cluster,size,share,label,keywords,x,y\n"),
        "{text}"
    );
    let rows_out = dir.path().join("rows.csv");
    h.get_by_label("File").click();
    h.run_steps(2);
    retype(&mut h, "Export to (path):", &rows_out.display().to_string());
    h.get_by_label("Export rows").hover();
    h.run_steps(3);
    h.get_by_label(&format!("selection ({members} rows) as CSV"))
        .click();
    h.run_steps(2);
    until(&mut h, 30, "the rows written", |a| !a.app.busy());
    let text = std::fs::read_to_string(&rows_out).expect("rows written");
    assert_eq!(
        csv::Reader::from_reader(text.as_bytes()).records().count(),
        members
    );
    if let Ok(dir) = std::env::var("EMBEDSCOPE_SCREENSHOT_DIR") {
        h.run_steps(2);
        if let Ok(img) = h.render() {
            let _ = img.save(PathBuf::from(dir).join("tickets_atlas.png"));
        }
    }
}

/// Replaces the text of the field labelled `label` (focused, emptied, typed).
fn retype(h: &mut Harness<'static, EmbedscopeApp>, label: &str, text: &str) {
    h.get_by_label(label).focus();
    h.step();
    let old = h
        .get_by_label(label)
        .accesskit_node()
        .value()
        .map_or(0, |v| v.chars().count());
    for _ in 0..old {
        h.key_press(egui::Key::Backspace);
    }
    h.step();
    h.get_by_label(label).type_text(text);
    h.run_steps(2);
}

/// 400 tickets of 16 dimensions with a text and a date column: January's first, then June's,
/// whose last 40 point another way and are about refunds.
fn dated_tickets() -> (tempfile::TempDir, PathBuf) {
    use embedscope::core::{EmbeddingSet, Matrix, MetaColumn, Metadata, Provenance, Vocab};
    let (n, dim) = (400, 16);
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut noise = || {
        // A sum of uniforms: close enough to normal for a planted region to stand out.
        (0..4)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
            })
            .sum::<f64>()
    };
    let mut data = Vec::with_capacity(n * dim);
    for i in 0..n {
        for j in 0..dim {
            let lean = match (i >= 360, j) {
                (false, 0) | (true, 3) => 3.0,
                _ => 0.0,
            };
            data.push((noise() + lean) as f32);
        }
    }
    let words = ["login", "invoice", "shipping", "delay", "colour", "size"];
    let mut meta = Metadata::new();
    meta.push(
        MetaColumn {
            name: "text".into(),
            values: (0..n)
                .map(|i| {
                    if i >= 360 {
                        "refund password reset".to_string()
                    } else {
                        format!("{} {}", words[i % 6], words[(i / 6) % 6])
                    }
                })
                .collect(),
        },
        n,
    )
    .expect("text");
    meta.push(
        MetaColumn {
            name: "date".into(),
            values: (0..n)
                .map(|i| if i < 200 { "2024-01-15" } else { "2024-06-15" }.into())
                .collect(),
        },
        n,
    )
    .expect("date");
    let set = EmbeddingSet::new(
        Vocab::from_unique((0..n).map(|i| format!("t{i}"))).expect("vocab"),
        Matrix::from_vec(n, dim, data).expect("matrix"),
        meta,
        Provenance::default(),
    )
    .expect("set");
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("tickets.npy");
    embedscope::formats::save(&set, &p, None).expect("save");
    (dir, p)
}

#[test]
fn drift_window_splits_a_set_by_date_runs_the_tests_and_shows_the_new_region() {
    let (_dir, path) = dated_tickets();
    let mut h = harness(StartOptions {
        files: vec![path],
        ..StartOptions::default()
    });
    until(&mut h, 120, "the tickets' map", map_ready);
    h.get_by_label("Analysis").click();
    h.run_steps(3);
    h.get_by_label("Drift").click();
    h.run_steps(3);
    until_shown(&mut h, 10, "Run drift tests");
    // One set split by its date column before March.
    h.get_by_label("one set, split").click();
    h.run_steps(2);
    h.get_by_value("(choose)").click();
    h.run_steps(3);
    h.get_by_label("date").click();
    h.run_steps(2);
    assert_eq!(h.state().app.drift.form.column, "date");
    retype(&mut h, "value", "2024-03-01");
    assert_eq!(h.state().app.drift.form.value, "2024-03-01");
    h.get_by_label("Run drift tests").click();
    until(&mut h, 120, "the drift results", |a| {
        !a.app.drift.busy() && a.app.drift.run.is_some()
    });
    h.run_steps(3);
    let a = &h.state().app;
    let run = a.drift.run.as_ref().expect("results");
    assert_eq!((run.study.report.n_ref, run.study.report.n_cur), (200, 200));
    // The methods table: each method's checkbox and its row.
    for m in embedscope::analysis::drift::DriftMethod::ALL {
        assert_eq!(h.query_all_by_label(m.name()).count(), 2, "{}", m.name());
    }
    h.get_by_label_contains("reference 200 rows, current 200 rows");
    // The new region leads the clusters (k-means may cut it in two), is chosen, and its
    // documents are listed.
    let top = run.study.clusters[0].clone();
    assert!(top.drift.ratio > 0.99, "{top:?}");
    assert_eq!(a.drift.cluster, Some(top.drift.id));
    let label = format!("+1.00 new · 0 -> {} · ", top.drift.n_cur);
    h.get_by_label_contains(&label);
    let docs = h.query_all_by_label("refund password reset").count();
    assert_eq!(docs, top.drift.n_cur);
    if let Ok(dir) = std::env::var("EMBEDSCOPE_SCREENSHOT_DIR")
        && let Ok(img) = h.render()
    {
        let _ = img.save(PathBuf::from(dir).join("drift.png"));
    }
    // Unchoosing the cluster hides its documents; choosing it again lists them.
    h.get_by_label_contains(&label).click();
    h.run_steps(2);
    assert_eq!(h.state().app.drift.cluster, None);
    assert_eq!(h.query_all_by_label("refund password reset").count(), 0);
    h.get_by_label_contains(&label).click();
    h.run_steps(2);
    assert_eq!(h.state().app.drift.cluster, Some(top.drift.id));
    // Its rows selected on the main map.
    h.get_by_label("Select on the map").click();
    h.run_steps(2);
    let selected = h.state().app.datasets[0].selection.clone();
    assert_eq!(selected.len(), top.drift.n_cur);
    assert!(selected.iter().all(|&r| r >= 360), "{selected:?}");
}

#[test]
fn a_session_left_by_a_crashed_run_is_offered_at_the_start_and_restored() {
    let (dir, vectors) = small_vectors(2000);
    // What a run that was killed left: one set with "paris" selected, under a process id that
    // does not run (above Linux's largest pid_max).
    let mut app = embedscope::app::App::new(Default::default(), None);
    app.apply(embedscope::app::Command::OpenPath(vectors.clone()));
    let t = Instant::now();
    while app.busy() || app.datasets.is_empty() {
        app.poll();
        assert!(t.elapsed() < Duration::from_secs(120));
        std::thread::sleep(Duration::from_millis(10));
    }
    let row = app.datasets[0].set.vocab.get("paris").expect("paris");
    app.apply(embedscope::app::Command::Select { row, add: false });
    let autosave = dir.path().join("config/autosave");
    std::fs::create_dir_all(&autosave).expect("dir");
    app.session()
        .save(&autosave.join("4194305.session.json"))
        .expect("save");
    // The next start asks before opening anything (no demo behind the prompt).
    let mut h = harness(StartOptions {
        settings_path: Some(dir.path().join("config/settings.json")),
        ..StartOptions::default()
    });
    h.run_steps(3);
    h.get_by_label("Restore the last session?");
    h.get_by_label_contains("glove2000.vec");
    assert!(h.state().app.datasets.is_empty());
    if let Some(dir) = std::env::var_os("EMBEDSCOPE_SCREENSHOT_DIR")
        && let Ok(img) = h.render()
    {
        let _ = img.save(PathBuf::from(dir).join("restore.png"));
    }
    h.get_by_label("Restore").click();
    until(&mut h, 120, "the restored set", |a| {
        map_ready(a) && a.app.datasets.len() == 1
    });
    let d = h.state().app.active_dataset().expect("restored");
    assert_eq!(d.selection, vec![row]);
    assert!(h.query_by_label("Restore the last session?").is_none());
    assert!(!autosave.join("4194305.session.json").exists());
}

/// Ten short documents, three of which carry personal data in their text (an e-mail address
/// on rows 2 and 6, a phone number on row 4).
fn pii_documents() -> (tempfile::TempDir, PathBuf) {
    use embedscope::core::{MetaColumn, Metadata};
    let n = 10;
    let mut meta = Metadata::new();
    meta.push(
        MetaColumn {
            name: "text".into(),
            values: (0..n)
                .map(|i| match i {
                    2 | 6 => format!("note {i}: mail john.smith@example.com"),
                    4 => format!("note {i}: call +44 20 7946 0958"),
                    _ => format!("note {i}: nothing personal"),
                })
                .collect(),
        },
        n,
    )
    .expect("text");
    documents_file(meta, n, "pii_docs.npy")
}

/// The app with [`pii_documents`] open, its map made and its privacy scan done.
fn pii_harness() -> (tempfile::TempDir, Harness<'static, EmbedscopeApp>) {
    let (dir, path) = pii_documents();
    let mut h = harness(StartOptions {
        files: vec![path],
        ..StartOptions::default()
    });
    until(&mut h, 120, "the map and the privacy scan", |a| {
        map_ready(a)
            && a.app
                .active_dataset()
                .is_some_and(|d| d.pii.findings.is_some())
    });
    (dir, h)
}

#[test]
fn a_set_with_personal_data_shows_a_badge_whose_window_lists_the_findings() {
    let (_dir, mut h) = pii_harness();
    h.run_steps(2);
    // The badge beside the set; no window yet.
    assert!(h.query_by_label_contains("Personal data in").is_none());
    h.get_by_label("PII 3").click();
    until_shown(&mut h, 10, "Personal data in pii_docs.npy");
    // The counts per kind and per column, then each finding, masked.
    h.get_by_label_contains("3 findings in 10 of 10 rows");
    assert!(
        h.get_all_by_label("email").count() >= 3,
        "kind count and two rows"
    );
    assert!(h.get_all_by_label("phone").count() >= 2);
    assert!(
        h.get_all_by_label("text").count() >= 4,
        "column count and three rows"
    );
    assert_eq!(h.get_all_by_label("j***@e***.com").count(), 2);
    h.get_by_label("+** ** **** **58");
    for row in ["row 2", "row 4", "row 6"] {
        h.get_by_label(row);
    }
    assert!(h.query_by_label_contains("john.smith").is_none());
    assert!(h.query_by_label_contains("7946").is_none());
    // A click on a finding selects its row and centres the map on it.
    h.get_by_label("row 4").click();
    until(&mut h, 10, "row 4 selected", |a| {
        a.app.active_dataset().is_some_and(|d| d.selection == [4])
    });
    h.run_steps(2);
    let p = h
        .state()
        .app
        .active_dataset()
        .and_then(|d| d.map.as_ref())
        .and_then(|m| m.position(4))
        .expect("on the map");
    assert_eq!(h.state().map_state().center, p);
    // Exports mask by default now; the switch is in the File menu.
    assert!(h.state().app.redact_exports());
    h.get_by_label("File").click();
    h.run_steps(3);
    h.get_by_label("Redact personal data").click();
    h.run_steps(2);
    assert!(!h.state().app.redact_exports());
}

/// Every text painted on the map in the harness's last frame.
fn painted_texts(h: &Harness<'static, EmbedscopeApp>) -> Vec<String> {
    fn walk(s: &egui::Shape, map: egui::Rect, out: &mut Vec<String>) {
        match s {
            egui::Shape::Text(t) if map.contains(t.pos) => out.push(t.galley.text().to_owned()),
            egui::Shape::Vec(v) => v.iter().for_each(|s| walk(s, map, out)),
            _ => {}
        }
    }
    let map = h.state().map_state().rect;
    let mut out = Vec::new();
    for c in &h.output().shapes {
        walk(&c.shape, map, &mut out);
    }
    out
}

/// The PNG map export with redaction on: the frame it captures shows the map's labels masked
/// (the address, cut short by the label's length, is still found) and no tooltip; the map on
/// screen shows them as they are before and after.
#[test]
fn the_png_map_export_masks_the_labels_it_captures() {
    let (dir, mut h) = pii_harness();
    h.get_by_label("PII 3").click();
    until_shown(&mut h, 10, "Personal data in pii_docs.npy");
    h.get_by_label("row 2").click();
    until(&mut h, 10, "row 2 selected", |a| {
        a.app.active_dataset().is_some_and(|d| d.selection == [2])
    });
    h.run_steps(2);
    let on_screen = painted_texts(&h);
    assert!(
        on_screen.iter().any(|t| t.contains("mail john.smith@")),
        "{on_screen:?}"
    );
    assert!(h.state().app.redact_exports());
    let out = dir.path().join("map.png");
    h.get_by_label("File").click();
    h.run_steps(2);
    retype(&mut h, "Export to (path):", &out.display().to_string());
    h.get_by_label("Export map as PNG").click();
    h.step();
    let captured = painted_texts(&h);
    assert!(
        !captured.iter().any(|t| t.contains("john.smith")),
        "{captured:?}"
    );
    assert!(
        captured.iter().any(|t| t.contains("mail j***@e***.com")),
        "{captured:?}"
    );
    for _ in 0..20 {
        if out.exists() {
            break;
        }
        h.step();
    }
    let png = std::fs::read(&out).unwrap_or_else(|e| {
        let notes: Vec<String> = h
            .state()
            .app
            .notifications
            .iter()
            .map(|n| format!("{}: {}", n.title, n.details))
            .collect();
        panic!("the PNG not written ({e}): {notes:?}")
    });
    assert!(png.starts_with(b"\x89PNG"));
    // Once written, the map shows the text again.
    h.run_steps(2);
    let after = painted_texts(&h);
    assert!(
        after.iter().any(|t| t.contains("mail john.smith@")),
        "{after:?}"
    );
}

/// File > Native cache shows the folder and what it holds; "Clear cache" empties it, and the
/// submenu, opened again at once, says so (what it shows is read at most once a second, and
/// again after each change made there).
#[test]
fn the_cache_submenu_shows_what_the_cache_holds_and_clears_it() {
    use embedscope::formats::cache_admin;
    let dir = tempfile::tempdir().expect("tmp");
    let cache = dir.path().join("cache");
    let mut h = harness(StartOptions {
        empty: true,
        ..StartOptions::default()
    });
    h.state_mut().app.cache_dir = Some(cache.clone());
    let vectors =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/compare/pair_a.vec");
    h.state_mut()
        .app
        .apply(embedscope::app::Command::OpenPath(vectors));
    until(&mut h, 60, "the file open", |a| {
        a.app.datasets.len() == 1 && !a.app.busy()
    });
    let held: u64 = cache_admin::entries(&cache).iter().map(|e| e.bytes).sum();
    assert!(held > 0, "the open file is cached");
    let open_submenu = |h: &mut Harness<'static, EmbedscopeApp>| {
        h.get_by_label("File").click();
        h.run_steps(2);
        h.get_by_label("Native cache").hover();
        h.run_steps(3);
    };
    open_submenu(&mut h);
    h.get_by_label(&cache.display().to_string());
    h.get_by_label_contains(&format!("{} held of ", embedscope::core::human_bytes(held)));
    h.get_by_label("Clear cache").click();
    h.run_steps(3);
    assert!(cache_admin::entries(&cache).is_empty(), "cleared");
    open_submenu(&mut h);
    h.get_by_label_contains("0 B held of ");
}
