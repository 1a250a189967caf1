//! The "Export report" dialog's state (egui-free): which report sections are ticked, which data
//! sets take part and in which order (each version is compared with the next), which bundled
//! WEAT tests the bias section runs, the drift section's options, the title, the output path and format, and the last
//! export's result (the files written and the report as Markdown for the preview) or error.
//! `App::report_check` validates all of it and builds the plan the export job (`engine::jobs::ReportJob`)
//! runs, with the `embedscope report ...` command line that regenerates the same report.

use std::path::{MAIN_SEPARATOR, Path, PathBuf};

use super::{App, JobKind};
use crate::analysis::bias;
use crate::engine::encode;
use crate::engine::jobs::{JobId, ReportJob, ReportRun};
use crate::formats;
use crate::report::{
    self, DriftOptions, MapMethod, OutputFormat, ReportError, ReportOptions, Section,
};

/// The formats offered, with the name `embedscope report --as` takes.
pub const FORMATS: [(OutputFormat, &str, &str); 4] = [
    (OutputFormat::Html, "html", "HTML (one self-contained page)"),
    (
        OutputFormat::Markdown,
        "md",
        "Markdown (images in NAME_files/ beside it)",
    ),
    (OutputFormat::Json, "json", "JSON (every number)"),
    (
        OutputFormat::CsvDir,
        "csv",
        "CSV tables (one file per table in a folder)",
    ),
];

/// The `--as` name of a format.
pub fn format_name(f: OutputFormat) -> &'static str {
    FORMATS
        .iter()
        .find(|(g, _, _)| *g == f)
        .map_or("html", |(_, n, _)| n)
}

/// A format in words, for the dialog.
pub fn format_text(f: OutputFormat) -> &'static str {
    FORMATS
        .iter()
        .find(|(g, _, _)| *g == f)
        .map_or("", |(_, _, t)| t)
}

/// A finished export.
#[derive(Debug, Clone)]
pub struct Exported {
    pub run: ReportRun,
    /// The command line that regenerates it.
    pub command: String,
}

/// The export dialog.
#[derive(Debug, Clone)]
pub struct ReportState {
    /// Ticked sections, in report order.
    pub sections: Vec<Section>,
    /// The data sets (by name) in report order, once the user chose them; None: the compare
    /// screen's versions when it is open, else every loaded set.
    pub datasets: Option<Vec<String>>,
    /// Bundled WEAT tests ticked for the bias section (names, in the bundled order).
    pub probes: Vec<String>,
    pub title: String,
    /// How the maps section lays the versions out.
    pub map_method: MapMethod,
    /// The drift section's tests, clusters and model check.
    pub drift: DriftOptions,
    /// The output path as typed.
    pub path: String,
    /// The format chosen over the path's extension (None: from the path).
    pub format: Option<OutputFormat>,
    /// The export running, and its command line.
    pub job: Option<JobId>,
    pending_command: String,
    /// The last export's result, or why it failed.
    pub last: Option<Exported>,
    pub error: Option<String>,
}

impl Default for ReportState {
    fn default() -> Self {
        ReportState {
            sections: Section::ALL.to_vec(),
            datasets: None,
            probes: Vec::new(),
            title: ReportOptions::default().title,
            map_method: MapMethod::Pca,
            drift: DriftOptions::default(),
            path: String::new(),
            format: None,
            job: None,
            pending_command: String::new(),
            last: None,
            error: None,
        }
    }
}

impl ReportState {
    pub fn has(&self, s: Section) -> bool {
        self.sections.contains(&s)
    }

    pub fn has_probe(&self, name: &str) -> bool {
        self.probes.iter().any(|p| p == name)
    }

    pub fn busy(&self) -> bool {
        self.job.is_some()
    }
}

/// Changes to the export dialog.
#[derive(Debug, Clone)]
pub enum ReportCommand {
    /// Tick or untick a section.
    SelectSection(Section, bool),
    /// Every section (true) or none.
    SelectAllSections(bool),
    /// Include a data set (by name; it goes last) or leave it out.
    IncludeDataset(String, bool),
    /// Move an included data set one place earlier (true) or later.
    MoveDataset(String, bool),
    /// Back to the default data sets (the compare screen's versions, else every loaded set).
    ResetDatasets,
    /// Tick or untick a bundled WEAT test for the bias section.
    SelectProbe(String, bool),
    /// Every bundled test (true) or none.
    SelectAllProbes(bool),
    SetTitle(String),
    /// How the maps are laid out (principal axes or UMAP).
    SetMapMethod(MapMethod),
    /// The drift section's options.
    SetDrift(DriftOptions),
    SetPath(String),
    /// The format over the path's extension (None: from the path).
    SetFormat(Option<OutputFormat>),
    /// Build and write the report.
    Export,
}

/// What an export will do, once everything checks.
#[derive(Debug, Clone)]
pub struct ReportPlan {
    /// Indices into `App::datasets`, in report order.
    pub datasets: Vec<usize>,
    /// Version names: the file each data set came from as `embedscope report` takes it
    /// (`demo` for the bundled set, the model folder for encoded sets), so the command line
    /// regenerates the same report; sets made in the app keep their name.
    pub names: Vec<String>,
    pub options: ReportOptions,
    pub out: PathBuf,
    pub format: OutputFormat,
}

/// The dialog's inputs checked: what stops an export, what the user should know, the plan.
#[derive(Debug, Clone, Default)]
pub struct ReportCheck {
    /// Why the export cannot run (empty when it can).
    pub problems: Vec<String>,
    /// Worth knowing, not in the way (files replaced, what the command line cannot redo).
    pub warnings: Vec<String>,
    /// The format the export writes, when known.
    pub format: Option<OutputFormat>,
    pub plan: Option<ReportPlan>,
}

/// The file argument `embedscope report` takes for a data set, and a note when the command
/// line cannot load it as the app did.
fn file_argument(d: &super::Dataset) -> (String, Option<String>) {
    let p = &d.set.provenance;
    if p.params.contains_key("debias") || p.source.is_empty() {
        return (
            d.name.clone(),
            Some(format!(
                "{} was made in the app and has no file: the command line cannot load it",
                d.name
            )),
        );
    }
    if let Some((model, _)) = encode::encoded_from(p) {
        return (model.display().to_string(), None);
    }
    if p.source.starts_with("embedded:") {
        let note = p.params.get("limit").map(|l| {
            format!(
                "{}: the app read only the first {l} rows; add --limit {l} to the command line",
                d.name
            )
        });
        return (formats::DEMO_NAME.to_string(), note);
    }
    let loaded_with: Vec<String> = p.params.iter().map(|(k, v)| format!("{k} = {v}")).collect();
    let note = (!loaded_with.is_empty()).then(|| {
        format!(
            "{} was loaded with {}: add the matching options to the command line \
             (embedscope report --help)",
            d.name,
            loaded_with.join(", ")
        )
    });
    (p.source.clone(), note)
}

/// Whether a typed path names a folder (an existing one, or one ending in a separator).
fn names_folder(text: &str, path: &Path) -> bool {
    path.is_dir() || text.ends_with('/') || text.ends_with(MAIN_SEPARATOR)
}

impl App {
    /// The data sets (indices) the report compares, in order.
    pub fn report_datasets(&self) -> Vec<usize> {
        let by_name = |n: &String| self.datasets.iter().position(|d| &d.name == n);
        let mut out: Vec<usize> = match (&self.report.datasets, &self.compare) {
            (Some(list), _) => list.iter().filter_map(by_name).collect(),
            (None, Some(c)) => c.names.iter().filter_map(by_name).collect(),
            (None, None) => (0..self.datasets.len()).collect(),
        };
        let mut seen = Vec::with_capacity(out.len());
        out.retain(|i| {
            let new = !seen.contains(i);
            seen.push(*i);
            new
        });
        out
    }

    /// The format the export writes: the one chosen, else the path's.
    pub fn report_format(&self) -> Result<OutputFormat, ReportError> {
        match self.report.format {
            Some(f) => Ok(f),
            None => OutputFormat::from_path(Path::new(self.report.path.trim())),
        }
    }

    /// Checks the dialog's inputs; the plan is there when nothing is in the way.
    pub fn report_check(&self) -> ReportCheck {
        let r = &self.report;
        let mut problems = Vec::new();
        let mut warnings = Vec::new();
        let chosen = self.report_datasets();
        if chosen.len() < 2 {
            problems.push(format!(
                "Tick at least two data sets: a report compares each version with the next \
                 ({} ticked).",
                chosen.len()
            ));
        }
        if r.sections.is_empty() {
            problems.push("Tick at least one section.".to_string());
        }
        if r.title.trim().is_empty() {
            problems.push("Type a title.".to_string());
        }
        let text = r.path.trim();
        let out = PathBuf::from(text);
        let mut format = None;
        if text.is_empty() {
            problems.push(
                "Type where to save the report: NAME.html, NAME.md, NAME.json, or a folder for \
                 CSV tables."
                    .to_string(),
            );
        } else {
            match self.report_format() {
                Err(e) => problems.push(format!(
                    "{e} (or choose a format; the path is then used as typed)"
                )),
                Ok(f) => {
                    format = Some(f);
                    path_problems(text, &out, f, &mut problems, &mut warnings);
                }
            }
        }
        if r.has(Section::Bias) && r.probes.is_empty() {
            warnings.push(
                "Bias probes is ticked but no WEAT test is: the section will only say that none \
                 were chosen."
                    .to_string(),
            );
        }
        if r.has(Section::Drift) {
            let options = ReportOptions {
                drift: r.drift.clone(),
                ..ReportOptions::default()
            };
            if let Err(e) = options.drift_params() {
                problems.push(format!("Drift: {e}."));
            }
        }
        let mut names = Vec::with_capacity(chosen.len());
        for &i in &chosen {
            let (name, note) = file_argument(&self.datasets[i]);
            names.push(name);
            warnings.extend(note);
        }
        // Encoded versions: the command line encodes the corpus again with each folder.
        let encoded: Vec<(PathBuf, Option<String>)> = chosen
            .iter()
            .filter_map(|&i| {
                let p = &self.datasets[i].set.provenance;
                encode::encoded_from(p).map(|(_, c)| (c, p.params.get("level").cloned()))
            })
            .collect();
        let mut extra: Vec<String> = Vec::new();
        if let Some((corpus, level)) = encoded.first() {
            if encoded.iter().all(|e| e == &encoded[0]) {
                extra.push("--corpus".into());
                extra.push(report::shell_quote(&corpus.display().to_string()));
                if level.as_deref() == Some("sentence") {
                    extra.push("--level sentence".into());
                }
            } else {
                warnings.push(
                    "The encoded versions come from different corpora or levels: the command \
                     line encodes one corpus with every model folder, so it cannot redo them."
                        .to_string(),
                );
            }
        }
        if let (Some(f), Some(_)) = (format, r.format)
            && OutputFormat::from_path(&out).ok() != Some(f)
        {
            extra.push(format!("--as {}", format_name(f)));
        }
        let plan = problems.is_empty().then(|| {
            let mut options = ReportOptions {
                title: r.title.trim().to_string(),
                sections: r.sections.clone(),
                map_method: r.map_method,
                drift: r.drift.clone(),
                redact: self.redact_exports(),
                ..ReportOptions::default()
            };
            // As `embedscope report` sets it (`--words` is also the comparison's list length);
            // ReportOptions::default() has 20 there, which the command line would not repeat.
            options.compare.top = options.words;
            if r.has(Section::Bias) {
                options.probes = bias::caliskan_tests()
                    .iter()
                    .filter(|t| r.has_probe(&t.name))
                    .cloned()
                    .collect();
            }
            let mut command = report::command_line(&names, &options, text);
            for e in &extra {
                command.push(' ');
                command.push_str(e);
            }
            options.command = command;
            ReportPlan {
                datasets: chosen.clone(),
                names: names.clone(),
                options,
                out: out.clone(),
                format: format.unwrap_or(OutputFormat::Html),
            }
        });
        ReportCheck {
            problems,
            warnings,
            format,
            plan,
        }
    }

    pub(super) fn apply_report(&mut self, cmd: ReportCommand) {
        match cmd {
            ReportCommand::SelectSection(s, on) => {
                let list = &mut self.report.sections;
                list.retain(|x| *x != s);
                if on {
                    list.push(s);
                    list.sort_unstable();
                }
            }
            ReportCommand::SelectAllSections(on) => {
                self.report.sections = if on {
                    Section::ALL.to_vec()
                } else {
                    Vec::new()
                };
            }
            ReportCommand::IncludeDataset(name, on) => {
                let mut list = self.report_dataset_names();
                list.retain(|n| *n != name);
                if on && self.datasets.iter().any(|d| d.name == name) {
                    list.push(name);
                }
                self.report.datasets = Some(list);
            }
            ReportCommand::MoveDataset(name, earlier) => {
                let mut list = self.report_dataset_names();
                if let Some(i) = list.iter().position(|n| *n == name) {
                    let j = if earlier {
                        i.checked_sub(1)
                    } else {
                        Some(i + 1).filter(|&j| j < list.len())
                    };
                    if let Some(j) = j {
                        list.swap(i, j);
                    }
                }
                self.report.datasets = Some(list);
            }
            ReportCommand::ResetDatasets => self.report.datasets = None,
            ReportCommand::SelectProbe(name, on) => {
                self.report.probes.retain(|p| *p != name);
                if on && bias::caliskan_tests().iter().any(|t| t.name == name) {
                    self.report.probes.push(name);
                }
                // The bundled order.
                let order = |n: &String| bias::caliskan_tests().iter().position(|t| &t.name == n);
                self.report.probes.sort_by_key(order);
            }
            ReportCommand::SelectAllProbes(on) => {
                self.report.probes = if on {
                    bias::caliskan_test_names()
                } else {
                    Vec::new()
                };
            }
            ReportCommand::SetTitle(t) => self.report.title = t,
            ReportCommand::SetMapMethod(m) => self.report.map_method = m,
            ReportCommand::SetDrift(d) => self.report.drift = d,
            ReportCommand::SetPath(p) => self.report.path = p,
            ReportCommand::SetFormat(f) => self.report.format = f,
            ReportCommand::Export => self.export_report(),
        }
    }

    /// The included data sets' names, in order.
    fn report_dataset_names(&self) -> Vec<String> {
        self.report_datasets()
            .into_iter()
            .map(|i| self.datasets[i].name.clone())
            .collect()
    }

    fn export_report(&mut self) {
        if self.report.job.is_some() {
            self.error(
                "a report is being written",
                "Wait for it to finish, or cancel it, before exporting another.",
            );
            return;
        }
        let check = self.report_check();
        let Some(plan) = check.plan else {
            let details = check.problems.join("\n");
            self.report.error = Some(details.clone());
            self.error("cannot export the report", details);
            return;
        };
        let versions = plan
            .datasets
            .iter()
            .zip(&plan.names)
            .map(|(&i, n)| (n.clone(), self.datasets[i].set.clone()))
            .collect();
        self.report.pending_command = plan.options.command.clone();
        let job = ReportJob {
            versions,
            options: plan.options,
            out: plan.out,
            format: plan.format,
        };
        let id = self.start(job, JobKind::Report, None, |app, view, run| {
            app.finish_report(view.id, run)
        });
        self.report.job = Some(id);
        self.report.last = None;
        self.report.error = None;
    }

    /// A report job ended with its files.
    fn finish_report(&mut self, id: JobId, run: ReportRun) {
        if self.report.job != Some(id) {
            return;
        }
        self.report.job = None;
        let n = run.files.len();
        let notes = match run.warnings.len() {
            0 => String::new(),
            1 => "; 1 note in the export window".to_string(),
            k => format!("; {k} notes in the export window"),
        };
        self.info(format!(
            "report written: {} ({n} file{}{notes})",
            run.out.display(),
            if n == 1 { "" } else { "s" }
        ));
        self.report.last = Some(Exported {
            run,
            command: std::mem::take(&mut self.report.pending_command),
        });
    }

    /// A report job failed (`error`) or was cancelled (None).
    pub(super) fn report_job_ended(&mut self, id: JobId, error: Option<&str>) {
        if self.report.job != Some(id) {
            return;
        }
        self.report.job = None;
        self.report.pending_command.clear();
        self.report.error = Some(match error {
            Some(e) => e.to_string(),
            None => "cancelled; nothing was written".to_string(),
        });
    }
}

/// What is wrong (or worth knowing) about writing `format` to the typed path.
fn path_problems(
    text: &str,
    out: &Path,
    format: OutputFormat,
    problems: &mut Vec<String>,
    warnings: &mut Vec<String>,
) {
    let folder = names_folder(text, out);
    match format {
        OutputFormat::CsvDir => {
            if out.is_file() {
                problems.push(format!(
                    "{} is a file: CSV tables are written into a folder (name a folder, or \
                     choose another format).",
                    out.display()
                ));
                return;
            }
        }
        f => {
            if folder {
                problems.push(format!(
                    "{} is a folder: name a file for {} (e.g. {}), or choose CSV tables.",
                    out.display(),
                    format_text(f),
                    Path::new(text.trim_end_matches(['/', MAIN_SEPARATOR]))
                        .join(format!("report.{}", format_name(f)))
                        .display()
                ));
                return;
            }
        }
    }
    // The folder the report goes in must exist (a CSV folder itself is created).
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.is_dir()
    {
        problems.push(format!("The folder {} does not exist.", parent.display()));
        return;
    }
    match format {
        OutputFormat::CsvDir if out.is_dir() => warnings.push(format!(
            "{}: CSV files of the same names in this folder will be replaced.",
            out.display()
        )),
        OutputFormat::CsvDir => {}
        OutputFormat::Markdown => {
            if out.exists() {
                warnings.push(format!("{} exists and will be replaced.", out.display()));
            }
            let images = out.with_file_name(report::render::image_dir_name(out));
            if images.is_dir() {
                warnings.push(format!("Images in {} will be replaced.", images.display()));
            }
        }
        _ => {
            if out.exists() {
                warnings.push(format!("{} exists and will be replaced.", out.display()));
            }
        }
    }
}
