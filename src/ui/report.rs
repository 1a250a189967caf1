//! The export report window (File > Export report...): the report's title, its sections, the
//! data sets compared (in order, each with the next), the WEAT tests of the bias section, where
//! to write it and in which format; what stops an export and what is worth knowing; the command
//! line that regenerates the report; Export. After an export, the preview: the files written
//! and the report as Markdown in a read-only monospace view.

use egui::{Color32, RichText};

use crate::analysis::bias;
use crate::analysis::drift::{DriftMethod, DriftParams};
use crate::app::privacy::PrivacyCommand;
use crate::app::report::{FORMATS, ReportCheck, ReportCommand, format_text};
use crate::app::{App, Command, JobKind};
use crate::report::{MapMethod, OutputFormat, Section};

/// The window's own fields (not part of the app state).
#[derive(Debug, Clone, Default)]
pub struct ReportUi {
    pub open: bool,
    /// Wrap the preview's long lines (tables are easier to read unwrapped, scrolled sideways).
    pub wrap: bool,
}

const ERROR: Color32 = Color32::from_rgb(220, 80, 70);
const WARN: Color32 = Color32::from_rgb(215, 160, 40);

fn cmd(cmds: &mut Vec<Command>, c: ReportCommand) {
    cmds.push(Command::Report(c));
}

/// What each section holds, on hover.
fn section_hover(s: Section) -> &'static str {
    match s {
        Section::Datasets => "each data set's source, format, sha256, size, model and load notes",
        Section::Integrity => "NaN, Inf and zero rows, duplicates and invalid UTF-8 of each set",
        Section::Vocabulary => {
            "shared and one-sided tokens of each pair; the tokenizer diff of model folders"
        }
        Section::Measures => "Jaccard@10/50, RBO, linear CKA, Procrustes and drift of each pair",
        Section::Words => "most and least changed, most displaced words with their neighbours",
        Section::Maps => "maps of every version in the first one's frame (Procrustes-aligned)",
        Section::Drift => {
            "each version's rows against the next one's as two samples of one space (one \
             model): six tests, the clusters whose share changed, the joint map"
        }
        Section::Bias => "the WEAT tests ticked below on every version, Holm-corrected",
        Section::Eval => "Google analogies, WordSim-353 and SimLex-999 on every version",
        Section::Parameters => "every parameter and seed behind the numbers",
    }
}

/// The window, while open.
pub fn window(app: &App, state: &mut ReportUi, ctx: &egui::Context, cmds: &mut Vec<Command>) {
    let mut open = state.open;
    crate::ui::two_pane_window(
        ctx,
        "Export report",
        "report_inputs",
        430.0,
        (&mut open, state),
        |_, ui| inputs(app, ui, cmds),
        |state, ui| preview(app, state, ui),
    );
    state.open = open;
}

fn inputs(app: &App, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
    let r = &app.report;
    ui.horizontal(|ui| {
        let l = ui.label("Title");
        let mut title = r.title.clone();
        if ui
            .add(egui::TextEdit::singleline(&mut title).desired_width(f32::INFINITY))
            .labelled_by(l.id)
            .changed()
        {
            cmd(cmds, ReportCommand::SetTitle(title));
        }
    });
    redact_checkbox(app, ui, cmds);
    ui.separator();
    ui.horizontal(|ui| {
        ui.heading("Sections");
        if ui.small_button("all").clicked() {
            cmd(cmds, ReportCommand::SelectAllSections(true));
        }
        if ui.small_button("none").clicked() {
            cmd(cmds, ReportCommand::SelectAllSections(false));
        }
    });
    egui::Grid::new("report_sections")
        .num_columns(2)
        .show(ui, |ui| {
            for (k, s) in Section::ALL.into_iter().enumerate() {
                let mut on = r.has(s);
                if ui
                    .checkbox(&mut on, s.title())
                    .on_hover_text(section_hover(s))
                    .changed()
                {
                    cmd(cmds, ReportCommand::SelectSection(s, on));
                }
                if k % 2 == 1 {
                    ui.end_row();
                }
            }
        });
    ui.add_enabled_ui(r.has(Section::Maps), |ui| {
        ui.horizontal(|ui| {
            ui.label("Maps");
            for (m, text, hover) in [
                (
                    MapMethod::Pca,
                    "principal axes",
                    "the first version's top two principal axes, every version aligned onto it",
                ),
                (
                    MapMethod::Umap,
                    "UMAP",
                    "a UMAP map of the first version (seeded); every later version aligned onto \
                     it and placed into the map without moving it",
                ),
            ] {
                if ui
                    .radio(r.map_method == m, text)
                    .on_hover_text(hover)
                    .clicked()
                {
                    cmd(cmds, ReportCommand::SetMapMethod(m));
                }
            }
        });
    });
    drift_options(app, ui, cmds);
    ui.separator();
    // Checked once per frame: the names the report gives the data sets, problems, the plan.
    let check = app.report_check();
    datasets(app, &check, ui, cmds);
    ui.separator();
    probes(app, ui, cmds);
    ui.separator();
    output(app, &check, ui, cmds);
}

/// The drift section's tests, permutations, clusters and model check (while it is ticked).
fn drift_options(app: &App, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
    let r = &app.report;
    let mut d = r.drift.clone();
    let mut changed = false;
    ui.add_enabled_ui(r.has(Section::Drift), |ui| {
        ui.horizontal_wrapped(|ui| {
            ui.label("Drift tests");
            for m in DriftMethod::ALL {
                let mut on = d.methods.contains(&m);
                if ui.checkbox(&mut on, m.name()).changed() {
                    d.methods.retain(|x| *x != m);
                    if on {
                        d.methods.push(m);
                        d.methods.sort_unstable();
                    }
                    changed = true;
                }
            }
        });
        ui.horizontal(|ui| {
            ui.label("permutations");
            changed |= ui
                .add(
                    egui::DragValue::new(&mut d.permutations)
                        .range(20..=DriftParams::MAX_PERMUTATIONS)
                        .speed(10),
                )
                .on_hover_text("per test; p = (b + 1) / (permutations + 1)")
                .changed();
            ui.label("clusters");
            changed |= ui
                .add(egui::DragValue::new(&mut d.clusters).range(0..=100))
                .on_hover_text("k-means clusters of the joint rows (0: none)")
                .changed();
            ui.label("listed");
            changed |= ui
                .add(egui::DragValue::new(&mut d.top).range(0..=100))
                .on_hover_text("clusters listed per pair, the largest changes of share first")
                .changed();
            changed |= ui
                .checkbox(&mut d.allow_other_models, "other models")
                .on_hover_text(
                    "study sets whose encoding records name different weights (said in the \
                     report); without it such a pair is left out with a note",
                )
                .changed();
        });
    });
    if changed {
        cmd(cmds, ReportCommand::SetDrift(d));
    }
}

fn datasets(app: &App, check: &ReportCheck, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
    ui.horizontal(|ui| {
        ui.heading("Data sets");
        if ui
            .small_button("default")
            .on_hover_text("the compare screen's versions in its order, else every loaded set")
            .clicked()
        {
            cmd(cmds, ReportCommand::ResetDatasets);
        }
    });
    ui.weak("Each version is compared with the next, in this order.");
    if app.datasets.is_empty() {
        ui.weak("none open: File > Open");
        return;
    }
    let chosen = app.report_datasets();
    let plan_names = check.plan.as_ref().map(|p| &p.names);
    egui::Grid::new("report_datasets")
        .num_columns(3)
        .show(ui, |ui| {
            for (pos, &i) in chosen.iter().enumerate() {
                let d = &app.datasets[i];
                ui.label(
                    RichText::new(crate::report::label(pos))
                        .strong()
                        .monospace(),
                );
                let mut on = true;
                let hover = match plan_names.as_ref().and_then(|n| n.get(pos)) {
                    Some(n) => format!("in the report: {n}\nsource: {}", d.set.provenance.source),
                    None => format!("source: {}", d.set.provenance.source),
                };
                if ui.checkbox(&mut on, &d.name).on_hover_text(hover).changed() {
                    cmd(cmds, ReportCommand::IncludeDataset(d.name.clone(), false));
                }
                ui.horizontal(|ui| {
                    if ui
                        .add_enabled(pos > 0, egui::Button::new("up").small())
                        .on_hover_text("compare earlier")
                        .clicked()
                    {
                        cmd(cmds, ReportCommand::MoveDataset(d.name.clone(), true));
                    }
                    if ui
                        .add_enabled(pos + 1 < chosen.len(), egui::Button::new("down").small())
                        .on_hover_text("compare later")
                        .clicked()
                    {
                        cmd(cmds, ReportCommand::MoveDataset(d.name.clone(), false));
                    }
                });
                ui.end_row();
            }
            for (i, d) in app.datasets.iter().enumerate() {
                if chosen.contains(&i) || d.kind == crate::core::RowKind::Occurrences {
                    continue;
                }
                ui.label("");
                let mut on = false;
                if ui
                    .checkbox(&mut on, &d.name)
                    .on_hover_text(d.set.provenance.source.as_str())
                    .changed()
                {
                    cmd(cmds, ReportCommand::IncludeDataset(d.name.clone(), true));
                }
                ui.label("");
                ui.end_row();
            }
        });
}

fn probes(app: &App, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
    let r = &app.report;
    let enabled = r.has(Section::Bias);
    ui.horizontal(|ui| {
        ui.heading("WEAT tests");
        if ui
            .add_enabled(enabled, egui::Button::new("all").small())
            .clicked()
        {
            cmd(cmds, ReportCommand::SelectAllProbes(true));
        }
        if ui
            .add_enabled(enabled, egui::Button::new("none").small())
            .clicked()
        {
            cmd(cmds, ReportCommand::SelectAllProbes(false));
        }
    });
    if !enabled {
        ui.weak("Tick the Bias probes section to run WEAT tests.");
    }
    egui::Grid::new("report_probes")
        .num_columns(5)
        .show(ui, |ui| {
            for (k, t) in bias::caliskan_tests().iter().enumerate() {
                let mut on = r.has_probe(&t.name);
                let resp = ui
                    .add_enabled(enabled, egui::Checkbox::new(&mut on, t.name.as_str()))
                    .on_hover_text(t.title())
                    .on_disabled_hover_text("tick the Bias probes section first");
                if resp.changed() {
                    cmd(cmds, ReportCommand::SelectProbe(t.name.clone(), on));
                }
                if k % 5 == 4 {
                    ui.end_row();
                }
            }
        });
}

fn output(app: &App, check: &ReportCheck, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
    let r = &app.report;
    ui.heading("Output");
    let mut label = None;
    ui.horizontal(|ui| {
        label = Some(ui.label("Save to").id);
        if ui
            .small_button("Browse...")
            .on_hover_text("choose with the system's dialog (or type the path below)")
            .clicked()
            && let Some(p) = browse(r.path.trim(), check.format)
        {
            cmd(cmds, ReportCommand::SetPath(p.display().to_string()));
        }
    });
    let mut path = r.path.clone();
    let resp = ui.add(
        egui::TextEdit::singleline(&mut path)
            .hint_text("/path/report.html, .md, .json, or a folder for CSV")
            .desired_width(f32::INFINITY),
    );
    let resp = match label {
        Some(id) => resp.labelled_by(id),
        None => resp,
    };
    if resp.changed() {
        cmd(cmds, ReportCommand::SetPath(path));
    }
    ui.horizontal(|ui| {
        ui.label("Format");
        let shown = match (r.format, check.format) {
            (Some(f), _) => format_text(f).to_string(),
            (None, Some(f)) => format!("from the path: {}", format_text(f)),
            (None, None) => "from the path".to_string(),
        };
        egui::ComboBox::from_id_salt("report_format")
            .selected_text(shown)
            .width(300.0)
            .show_ui(ui, |ui| {
                if ui
                    .selectable_label(r.format.is_none(), "from the path's extension")
                    .clicked()
                {
                    cmd(cmds, ReportCommand::SetFormat(None));
                }
                for (f, _, text) in FORMATS {
                    if ui.selectable_label(r.format == Some(f), text).clicked() {
                        cmd(cmds, ReportCommand::SetFormat(Some(f)));
                    }
                }
            });
    });
    for p in &check.problems {
        ui.label(RichText::new(p).color(ERROR));
    }
    for w in &check.warnings {
        ui.label(RichText::new(w).color(WARN).small());
    }
    if let Some(plan) = &check.plan {
        ui.add_space(4.0);
        ui.horizontal(|ui| {
            ui.label("Command line");
            if ui
                .small_button("Copy")
                .on_hover_text("copy the command that writes this report")
                .clicked()
            {
                ui.ctx().copy_text(plan.options.command.clone());
            }
        });
        ui.add(
            egui::Label::new(RichText::new(&plan.options.command).monospace().small())
                .wrap()
                .selectable(true),
        );
    }
    ui.add_space(6.0);
    let busy = r.busy();
    let reason = if busy {
        "a report is being written".to_string()
    } else {
        check.problems.join("\n")
    };
    ui.horizontal(|ui| {
        if ui
            .add_enabled(
                check.plan.is_some() && !busy,
                egui::Button::new(RichText::new("Export").strong()),
            )
            .on_hover_text("build the report and write it")
            .on_disabled_hover_text(reason)
            .clicked()
        {
            cmd(cmds, ReportCommand::Export);
        }
        if let Some(f) = check.format.filter(|_| check.plan.is_some()) {
            ui.weak(format!(
                "{} version{}, {} section{}, {}",
                check.plan.as_ref().map_or(0, |p| p.datasets.len()),
                if check.plan.as_ref().map_or(0, |p| p.datasets.len()) == 1 {
                    ""
                } else {
                    "s"
                },
                r.sections.len(),
                if r.sections.len() == 1 { "" } else { "s" },
                match f {
                    OutputFormat::Html => "HTML",
                    OutputFormat::Markdown => "Markdown",
                    OutputFormat::Json => "JSON",
                    OutputFormat::CsvDir => "CSV tables",
                }
            ));
        }
    });
    for j in app
        .jobs
        .iter()
        .filter(|j| j.kind == JobKind::Report && Some(j.id) == r.job)
    {
        super::job_row(ui, j, cmds);
    }
}

/// The system's save dialog (a folder picker for CSV tables); None without a desktop portal
/// or when cancelled.
fn browse(current: &str, format: Option<OutputFormat>) -> Option<std::path::PathBuf> {
    let current = std::path::Path::new(current);
    let mut d = rfd::FileDialog::new().set_title("Save the report");
    if let Some(dir) = current.parent().filter(|p| p.is_dir()) {
        d = d.set_directory(dir);
    }
    if format == Some(OutputFormat::CsvDir) {
        return d.pick_folder();
    }
    let name = current.file_name().map_or("report.html".to_string(), |n| {
        n.to_string_lossy().into_owned()
    });
    d.set_file_name(name)
        .add_filter("HTML", &["html", "htm"])
        .add_filter("Markdown", &["md", "markdown"])
        .add_filter("JSON", &["json"])
        .save_file()
}

fn preview(app: &App, state: &mut ReportUi, ui: &mut egui::Ui) {
    let r = &app.report;
    ui.heading("Preview");
    if r.busy() {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.weak("Writing the report...");
        });
    }
    if let Some(e) = &r.error {
        ui.label(RichText::new(format!("Export failed: {e}")).color(ERROR));
    }
    let Some(done) = &r.last else {
        if !r.busy() && r.error.is_none() {
            ui.weak("Export to see the report here, as Markdown, with the files written.");
        }
        return;
    };
    let run = &done.run;
    let n = run.files.len();
    ui.label(format!(
        "Wrote {n} file{} in {:.1} s ({} versions, {} sections):",
        if n == 1 { "" } else { "s" },
        run.seconds,
        run.versions.len(),
        run.sections.len()
    ));
    egui::ScrollArea::vertical()
        .id_salt("report_files")
        .max_height(90.0)
        .show(ui, |ui| {
            for f in &run.files {
                ui.add(
                    egui::Label::new(RichText::new(f.display().to_string()).monospace().small())
                        .selectable(true),
                );
            }
        });
    for w in &run.warnings {
        ui.label(RichText::new(w).color(WARN).small());
    }
    ui.add_space(4.0);
    ui.horizontal(|ui| {
        let what = if run.format == OutputFormat::Markdown {
            "Markdown (the file written)"
        } else {
            "Markdown (the same report; images are in the file written)"
        };
        ui.label(RichText::new(what).strong());
        if ui.small_button("Copy").clicked() {
            ui.ctx().copy_text(run.preview.clone());
        }
        ui.checkbox(&mut state.wrap, "wrap lines");
    });
    let mut text: &str = &run.preview;
    let wrap = state.wrap;
    // Read-only (a &str cannot be edited), selectable; unwrapped lines scroll sideways.
    let mut layouter = |ui: &egui::Ui, buf: &dyn egui::TextBuffer, wrap_width: f32| {
        let job = egui::text::LayoutJob::simple(
            buf.as_str().to_string(),
            egui::FontId::monospace(12.0),
            ui.visuals().text_color(),
            if wrap { wrap_width } else { f32::INFINITY },
        );
        ui.fonts_mut(|f| f.layout_job(job))
    };
    egui::ScrollArea::both()
        .id_salt("report_preview")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            ui.add(
                egui::TextEdit::multiline(&mut text)
                    .code_editor()
                    .desired_width(f32::INFINITY)
                    .desired_rows(30)
                    .layouter(&mut layouter),
            );
        });
}

/// "Redact personal data": the one switch every export follows (here, the File menu's export
/// items and the Documents panel's row exports), on by default when an open set has findings.
pub(crate) fn redact_checkbox(app: &App, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
    let mut on = app.redact_exports();
    let found: u64 = app.datasets.iter().filter_map(|d| d.pii.badge()).sum();
    let hover = if found > 0 {
        format!(
            "{found} findings of personal data or secrets in the open sets: each is masked \
             (j***@e***.com) in every export, and the report says what was masked"
        )
    } else {
        "mask e-mail addresses, phone numbers, card numbers, IBANs, IPs, URL credentials, \
         secrets and US SSNs in every export (nothing found in the open sets)"
            .to_string()
    };
    if ui
        .checkbox(&mut on, "Redact personal data")
        .on_hover_text(hover)
        .changed()
    {
        cmds.push(Command::Privacy(PrivacyCommand::SetRedact(on)));
    }
}
