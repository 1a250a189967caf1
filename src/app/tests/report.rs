//! The export report dialog.

use super::super::*;
use super::core::fixture;
use super::{demo_app, settle};

fn export(app: &mut App, c: report::ReportCommand) {
    app.apply(Command::Report(c));
}

/// The demo set and the compare fixture's first version (1,003 GloVe words), open.
fn demo_and_pair_a() -> App {
    let mut app = demo_app();
    app.apply(Command::OpenPath(fixture("pair_a.vec")));
    settle(&mut app);
    assert_eq!(app.datasets.len(), 2);
    app
}

/// Exports with the current state and waits; returns the result.
fn export_and_wait(app: &mut App) -> report::Exported {
    export(app, report::ReportCommand::Export);
    assert!(
        app.report.busy(),
        "export did not start: {:?}",
        app.report_check().problems
    );
    settle(app);
    assert!(!app.report.busy());
    assert_eq!(app.report.error, None);
    app.report.last.clone().expect("an export result")
}

#[test]
fn report_export_writes_every_format_with_the_chosen_sections_only() {
    use crate::report::{OutputFormat, Section};
    use report::ReportCommand as R;
    let dir = tempfile::tempdir().expect("tmp");
    let mut app = demo_and_pair_a();
    let demo_name = app.datasets[0].name.clone();
    let pair_a = fixture("pair_a.vec").display().to_string();
    // Defaults: every section, every loaded set in order, no WEAT test, the CLI's title.
    assert_eq!(app.report.sections, Section::ALL.to_vec());
    assert_eq!(app.report_datasets(), vec![0, 1]);
    assert!(app.report.probes.is_empty());
    assert_eq!(app.report.title, "Model comparison");

    // JSON with three sections and one bias test: exactly those sections in the file.
    export(&mut app, R::SelectAllSections(false));
    for s in [Section::Datasets, Section::Measures, Section::Bias] {
        export(&mut app, R::SelectSection(s, true));
    }
    export(&mut app, R::SelectProbe("weat1".into(), true));
    export(&mut app, R::SelectProbe("weat99".into(), true));
    assert_eq!(app.report.probes, vec!["weat1"]);
    export(&mut app, R::SetTitle("Demo vs pair A".into()));
    let json_path = dir.path().join("r.json");
    export(&mut app, R::SetPath(json_path.display().to_string()));
    let check = app.report_check();
    assert!(check.problems.is_empty(), "{:?}", check.problems);
    assert_eq!(check.format, Some(OutputFormat::Json));
    let done = export_and_wait(&mut app);
    assert_eq!(done.run.files, vec![json_path.clone()]);
    // Version names are the files as `embedscope report` takes them.
    assert_eq!(done.run.versions, vec!["demo".to_string(), pair_a.clone()]);
    // GloVe's tokens hold 30 US phone numbers (212-555-...): with findings open, exports are
    // redacted by default, and the command line says so.
    assert!(app.redact_exports());
    assert_eq!(
        done.command,
        format!(
            "embedscope report demo {pair_a} --title 'Demo vs pair A' --sections \
             datasets,measures,bias --probes weat1 --redact --out {}",
            json_path.display()
        )
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).expect("read")).expect("json");
    assert_eq!(v["title"], "Demo vs pair A");
    assert_eq!(v["command"], done.command.as_str());
    assert_eq!(
        v["sections"],
        serde_json::json!(["datasets", "measures", "bias"])
    );
    assert_eq!(v["datasets"].as_array().map(Vec::len), Some(2));
    assert_eq!(v["datasets"][0]["rows"], 50_107);
    for absent in ["integrity", "maps", "eval", "parameters"] {
        assert!(v.get(absent).is_none(), "{absent} written: {v}");
    }
    let pair = &v["pairs"][0];
    assert_eq!(pair["b"], pair_a.as_str());
    assert!(pair["measures"]["linear_cka"].as_f64().is_some());
    assert!(pair.get("words").is_none() && pair.get("vocabulary").is_none());
    assert_eq!(v["bias"]["tests"], serde_json::json!(["weat1"]));
    // weat1 runs on the demo; pair A lacks most of its words, which is said, not hidden.
    let results = v["bias"]["results"].as_array().expect("results");
    assert!(results.iter().any(|r| r["version"] == "demo"));
    assert!(!done.run.warnings.is_empty(), "pair A cannot run weat1");
    // The preview is the report as Markdown.
    assert!(
        done.run
            .preview
            .starts_with("# Demo vs pair A\n\n**embedscope"),
        "{}",
        &done.run.preview[..200.min(done.run.preview.len())]
    );
    assert!(done.run.preview.contains("## Global measures"));
    assert!(!done.run.preview.contains("## Integrity"));
    assert!(
        app.notifications
            .iter()
            .any(|n| n.title.contains("report written")
                && n.title.contains("r.json")
                && n.title.contains("in the export window"))
    );

    // HTML with every section (weat1 still ticked).
    export(&mut app, R::SelectAllSections(true));
    export(&mut app, R::SetTitle("Model comparison".into()));
    let html = dir.path().join("all.html");
    export(&mut app, R::SetPath(html.display().to_string()));
    let done = export_and_wait(&mut app);
    assert_eq!(done.run.files, vec![html.clone()]);
    assert_eq!(done.run.sections, Section::ALL.to_vec());
    let text = std::fs::read_to_string(&html).expect("html");
    assert!(text.contains("<title>Model comparison</title>"), "no title");
    for s in Section::ALL {
        assert!(
            done.run.preview.contains(&format!("## {}", s.title())),
            "{} missing from the preview",
            s.title()
        );
    }
    assert!(done.command.contains("--probes weat1"));
    assert!(!done.command.contains("--sections"));

    // Markdown: the images beside it, and the preview is the file's text.
    export(&mut app, R::SelectSection(Section::Eval, false));
    export(&mut app, R::SelectSection(Section::Bias, false));
    let md = dir.path().join("notes.md");
    export(&mut app, R::SetPath(md.display().to_string()));
    let done = export_and_wait(&mut app);
    assert_eq!(done.run.files.last(), Some(&md));
    assert!(done.run.files.len() >= 3, "{:?}", done.run.files);
    for f in &done.run.files {
        assert!(f.is_file(), "{} not written", f.display());
    }
    assert!(dir.path().join("notes_files").is_dir());
    let text = std::fs::read_to_string(&md).expect("md");
    assert_eq!(text, done.run.preview);
    assert!(text.contains("](notes_files/"));
    assert!(!text.contains("## Evaluation benchmarks") && !text.contains("## Bias probes"));
    // Probes are left out of the command once the bias section is.
    assert!(!done.command.contains("--probes"), "{}", done.command);

    // CSV tables into a folder (a path without extension), one file per table.
    let csv = dir.path().join("tables");
    export(&mut app, R::SetPath(csv.display().to_string()));
    assert_eq!(app.report_check().format, Some(OutputFormat::CsvDir));
    let done = export_and_wait(&mut app);
    assert!(done.run.files.len() >= 4, "{:?}", done.run.files);
    for f in &done.run.files {
        assert_eq!(f.parent(), Some(csv.as_path()));
        assert_eq!(f.extension().and_then(|e| e.to_str()), Some("csv"));
        let text = std::fs::read_to_string(f).expect("csv");
        assert!(text.lines().count() >= 2, "{}: {text}", f.display());
    }
    // The preview of a non-Markdown report links its images under preview/.
    assert!(done.run.preview.contains("](preview/"));

    // A format chosen over the path's extension: written as chosen, said in the command.
    let odd = dir.path().join("report.txt");
    export(&mut app, R::SetPath(odd.display().to_string()));
    assert!(!app.report_check().problems.is_empty(), "unknown extension");
    export(&mut app, R::SetFormat(Some(OutputFormat::Json)));
    let done = export_and_wait(&mut app);
    assert!(done.command.ends_with(" --as json"), "{}", done.command);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&odd).expect("read")).expect("json");
    assert_eq!(v["sections"].as_array().map(Vec::len), Some(8));
    // The data set order is the comparison order: swapped, the demo is version B.
    export(&mut app, R::MoveDataset(demo_name.clone(), false));
    assert_eq!(app.report_datasets(), vec![1, 0]);
    export(&mut app, R::SelectAllSections(false));
    export(&mut app, R::SelectSection(Section::Datasets, true));
    let swapped = dir.path().join("swapped.json");
    export(&mut app, R::SetFormat(None));
    export(&mut app, R::SetPath(swapped.display().to_string()));
    let done = export_and_wait(&mut app);
    assert_eq!(done.run.versions, vec![pair_a.clone(), "demo".to_string()]);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&swapped).expect("read")).expect("json");
    assert_eq!(v["datasets"][1]["name"], "demo");
    assert_eq!(v["datasets"][1]["label"], "B");
}

#[test]
fn report_export_validation_messages() {
    use crate::report::{OutputFormat, Section};
    use report::ReportCommand as R;
    let dir = tempfile::tempdir().expect("tmp");
    let problems = |app: &App| app.report_check().problems.join("\n");
    // Nothing open: fewer than two data sets, and no path.
    let mut app = App::new(Settings::default(), None);
    let p = problems(&app);
    assert!(
        p.contains("at least two data sets") && p.contains("(0 ticked)"),
        "{p}"
    );
    assert!(p.contains("Type where to save the report"), "{p}");
    // Export anyway: refused with the reasons as a notification, no job.
    export(&mut app, R::Export);
    assert!(!app.report.busy() && app.jobs.is_empty());
    let n = app.notifications.last().expect("notification");
    assert_eq!(n.level, Severity::Error);
    assert_eq!(n.title, "cannot export the report");
    assert!(
        n.details.contains("at least two data sets"),
        "{}",
        n.details
    );
    assert!(app.report.error.is_some());

    let mut app = demo_and_pair_a();
    let demo_name = app.datasets[0].name.clone();
    let good = dir.path().join("r.html");
    export(&mut app, R::SetPath(good.display().to_string()));
    assert_eq!(problems(&app), "");
    // One data set left.
    export(&mut app, R::IncludeDataset(demo_name.clone(), false));
    assert_eq!(app.report_datasets(), vec![1]);
    assert!(problems(&app).contains("(1 ticked)"), "{}", problems(&app));
    export(&mut app, R::IncludeDataset(demo_name.clone(), true));
    assert_eq!(app.report_datasets(), vec![1, 0], "re-ticked goes last");
    export(&mut app, R::ResetDatasets);
    assert_eq!(app.report_datasets(), vec![0, 1]);
    // No section.
    export(&mut app, R::SelectAllSections(false));
    assert_eq!(problems(&app), "Tick at least one section.");
    export(&mut app, R::SelectSection(Section::Words, true));
    export(&mut app, R::SelectSection(Section::Datasets, true));
    assert_eq!(app.report.sections, vec![Section::Datasets, Section::Words]);
    // An empty title.
    export(&mut app, R::SetTitle("  ".into()));
    assert_eq!(problems(&app), "Type a title.");
    export(&mut app, R::SetTitle("t".into()));
    // An empty path, and one of blanks.
    export(&mut app, R::SetPath("   ".into()));
    assert!(problems(&app).starts_with("Type where to save the report"));
    // An unknown extension.
    export(
        &mut app,
        R::SetPath(dir.path().join("r.docx").display().to_string()),
    );
    let p = problems(&app);
    assert!(
        p.contains("unknown report format .docx") && p.contains("choose a format"),
        "{p}"
    );
    // A folder for a single-file format.
    export(&mut app, R::SetPath(dir.path().display().to_string()));
    assert_eq!(app.report_check().format, Some(OutputFormat::CsvDir));
    assert_eq!(problems(&app), "");
    export(&mut app, R::SetFormat(Some(OutputFormat::Html)));
    let p = problems(&app);
    assert!(
        p.contains("is a folder: name a file") && p.contains("report.html"),
        "{p}"
    );
    export(
        &mut app,
        R::SetPath(format!("{}/new/", dir.path().display())),
    );
    assert!(problems(&app).contains("is a folder"), "{}", problems(&app));
    export(&mut app, R::SetFormat(None));
    // CSV tables onto an existing file.
    let file = dir.path().join("taken");
    std::fs::write(&file, "x").expect("write");
    export(&mut app, R::SetPath(file.display().to_string()));
    assert!(problems(&app).contains("is a file"), "{}", problems(&app));
    // A folder that does not exist.
    let p = dir.path().join("nope").join("r.md");
    export(&mut app, R::SetPath(p.display().to_string()));
    assert!(
        problems(&app).contains("does not exist"),
        "{}",
        problems(&app)
    );
    // Warnings do not stop an export: bias without a test, a file to be replaced.
    std::fs::write(&good, "old").expect("write");
    export(&mut app, R::SetPath(good.display().to_string()));
    export(&mut app, R::SelectSection(Section::Bias, true));
    let c = app.report_check();
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    let w = c.warnings.join("\n");
    assert!(
        w.contains("no WEAT test") && w.contains("will be replaced"),
        "{w}"
    );
    // The drift section's options: checked, and in the command line while it is ticked.
    let mut drift = app.report.drift.clone();
    drift.methods.clear();
    export(&mut app, R::SetDrift(drift.clone()));
    assert!(app.report_check().problems.is_empty(), "drift not ticked");
    export(&mut app, R::SelectSection(Section::Drift, true));
    assert_eq!(problems(&app), "Drift: no drift method chosen.");
    drift.methods = vec![crate::analysis::drift::DriftMethod::Mmd];
    drift.permutations = 99;
    drift.allow_other_models = true;
    export(&mut app, R::SetDrift(drift));
    let c = app.report_check();
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    let plan = c.plan.expect("plan");
    assert_eq!(plan.options.drift.permutations, 99);
    let cmd = &plan.options.command;
    assert!(
        cmd.contains(" --drift-methods mmd --drift-permutations 99 ")
            && cmd.contains(" --allow-other-models "),
        "{cmd}"
    );
    export(&mut app, R::SelectSection(Section::Drift, false));
    // The compare screen's versions are the default data sets, in its order.
    app.apply(Command::StartCompare(vec![1, 0]));
    assert_eq!(app.report_datasets(), vec![1, 0]);
    settle(&mut app);
}

#[test]
fn report_export_cancel_and_write_failure_are_reported() {
    use report::ReportCommand as R;
    let dir = tempfile::tempdir().expect("tmp");
    let mut app = demo_and_pair_a();
    // Every section (the benchmarks on 50k words take a while): cancelled, nothing written.
    let out = dir.path().join("r.html");
    export(&mut app, R::SetPath(out.display().to_string()));
    export(&mut app, R::Export);
    let id = app.report.job.expect("running");
    // A second export while one runs is refused.
    export(&mut app, R::Export);
    assert_eq!(app.report.job, Some(id));
    assert!(
        app.notifications
            .last()
            .is_some_and(|n| n.title.contains("being written"))
    );
    app.apply(Command::CancelJob(id));
    settle(&mut app);
    assert!(!app.report.busy() && app.report.last.is_none());
    assert_eq!(
        app.report.error.as_deref(),
        Some("cancelled; nothing was written")
    );
    assert!(!out.exists());
    assert!(
        app.notifications
            .iter()
            .any(|n| n.title.contains("report of 2 versions") && n.title.contains("cancelled"))
    );
    // The folder vanishes after the check: the write fails, as a notification.
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).expect("mkdir");
    let out = sub.join("r.json");
    export(&mut app, R::SetPath(out.display().to_string()));
    export(&mut app, R::Export);
    assert!(app.report.busy());
    std::fs::remove_dir(&sub).expect("rmdir");
    settle(&mut app);
    let e = app.report.error.clone().expect("an error");
    assert!(e.contains("r.json"), "{e}");
    let n = app.notifications.last().expect("notification");
    assert_eq!(n.level, Severity::Error);
    assert!(
        n.title.contains("failed") && n.details.contains("r.json"),
        "{n:?}"
    );
    assert!(app.report.last.is_none());
    // A version sharing no word with the demo: the report is written, and says what it lacks.
    let alien = dir.path().join("alien.vec");
    let rows: String = (0..20)
        .map(|i| format!("zzqx{i} {} 0.5 -0.25\n", i as f32 / 10.0))
        .collect();
    std::fs::write(&alien, format!("20 3\n{rows}")).expect("write");
    app.apply(Command::OpenPath(alien));
    settle(&mut app);
    assert_eq!(app.datasets.len(), 3);
    let pair_a_name = app.datasets[1].name.clone();
    export(&mut app, R::IncludeDataset(pair_a_name, false));
    assert_eq!(app.report_datasets(), vec![0, 2]);
    export(&mut app, R::SelectAllSections(false));
    export(
        &mut app,
        R::SelectSection(crate::report::Section::Datasets, true),
    );
    export(
        &mut app,
        R::SelectSection(crate::report::Section::Measures, true),
    );
    let out = dir.path().join("alien.json");
    export(&mut app, R::SetPath(out.display().to_string()));
    let done = export_and_wait(&mut app);
    assert!(out.is_file());
    assert!(
        done.run
            .warnings
            .iter()
            .any(|w| w.starts_with("measures: A vs B")),
        "{:?}",
        done.run.warnings
    );
}

#[test]
fn report_export_draws_umap_maps_when_chosen() {
    use crate::report::{MapMethod, Section};
    use report::ReportCommand as R;
    let dir = tempfile::tempdir().expect("tmp");
    let mut app = demo_and_pair_a();
    assert_eq!(app.report.map_method, MapMethod::Pca);
    export(&mut app, R::SelectAllSections(false));
    export(&mut app, R::SelectSection(Section::Maps, true));
    export(&mut app, R::SetMapMethod(MapMethod::Umap));
    let json_path = dir.path().join("r.json");
    export(&mut app, R::SetPath(json_path.display().to_string()));
    let done = export_and_wait(&mut app);
    assert!(
        done.command.contains(" --map-method umap "),
        "{}",
        done.command
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).expect("read")).expect("json");
    assert_eq!(v["maps"]["umap"]["method"], "umap", "{}", v["maps"]);
    assert_eq!(v["maps"]["umap"]["params"]["seed"], 0);
}
