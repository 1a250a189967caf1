//! The Encode panel: model folder (with what it is: type, dimension, pooling, prompts, max
//! length), corpus, text column, skipping empty records, level, prompt, truncation, backend and
//! batch size; the backend the last job ran on; running encode jobs.

use std::path::PathBuf;

use egui::Color32;

use crate::app::{App, Command, JobKind};
use crate::engine::device::{BackendChoice, BackendKind};
use crate::engine::encode::Level;
use crate::engine::jobs::EncodeSpec;
use crate::formats::corpus::{CorpusFormat, CorpusOptions};
use crate::model::{ModelSummary, PromptChoice};
use crate::ui::job_row;

/// What the user is choosing in the panel.
pub struct EncodePanel {
    /// The model folder, as typed.
    pub model: String,
    corpus: String,
    level: Level,
    backend: BackendChoice,
    text_column: String,
    /// Skip empty records; `None` follows the corpus format's default.
    skip_empty: Option<bool>,
    batch_size: usize,
    /// The folder's description, for the path it was read for.
    summary: Option<(String, Result<ModelSummary, String>)>,
    prompt: PromptChoice,
    /// The text of a custom prompt while it is being typed.
    prompt_text: String,
    truncate: Option<usize>,
}

impl Default for EncodePanel {
    fn default() -> Self {
        EncodePanel {
            model: String::new(),
            corpus: String::new(),
            level: Level::Sentence,
            backend: BackendChoice::Auto,
            text_column: String::new(),
            skip_empty: None,
            batch_size: 32,
            summary: None,
            prompt: PromptChoice::FolderDefault,
            prompt_text: String::new(),
            truncate: None,
        }
    }
}

impl EncodePanel {
    /// The form filled from the last model and corpus used.
    pub fn new(app: &App) -> EncodePanel {
        let mut p = EncodePanel::default();
        if let Some(m) = &app.settings.last_model {
            p.model = m.display().to_string();
        }
        if let Some(c) = &app.settings.last_corpus {
            p.corpus = c.display().to_string();
        }
        p
    }

    pub fn show(&mut self, app: &App, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
        ui.heading("Encode a corpus");
        if let Some(p) = &app.pending_corpus {
            self.corpus = p.display().to_string();
            ui.colored_label(
                Color32::from_rgb(230, 180, 60),
                "A corpus was opened: choose a model folder and a level, then Encode.",
            );
        }
        let mut model_label = None;
        ui.horizontal(|ui| {
            model_label = Some(ui.label("model folder").id);
            if ui
                .small_button("…")
                .on_hover_text("choose a folder")
                .clicked()
                && let Some(p) = rfd::FileDialog::new().pick_folder()
            {
                self.model = p.display().to_string();
            }
        });
        let r = ui.text_edit_singleline(&mut self.model);
        if let Some(id) = model_label {
            r.labelled_by(id);
        }
        self.model_info(ui);
        let mut corpus_label = None;
        ui.horizontal(|ui| {
            corpus_label = Some(ui.label("corpus").id);
            if ui
                .small_button("…")
                .on_hover_text("choose a file")
                .clicked()
                && let Some(p) = rfd::FileDialog::new().pick_file()
            {
                self.corpus = p.display().to_string();
            }
        });
        let r = ui.text_edit_singleline(&mut self.corpus);
        if let Some(id) = corpus_label {
            r.labelled_by(id);
        }
        ui.horizontal(|ui| {
            let l = ui.label("text column / field");
            ui.text_edit_singleline(&mut self.text_column)
                .labelled_by(l.id);
        });
        let default_skip = CorpusFormat::from_path(std::path::Path::new(self.corpus.trim()))
            .skips_empty_by_default();
        let mut skip = self.skip_empty.unwrap_or(default_skip);
        if ui
            .checkbox(&mut skip, "skip empty records")
            .on_hover_text(
                "Off: every record is one row (an empty or unreadable text is encoded as the \
                 empty text), so row i is record i. On: such records are left out and listed in \
                 the provenance. The default is on for plain text (blank lines separate \
                 documents), off for CSV, JSONL and Parquet.",
            )
            .changed()
        {
            self.skip_empty = Some(skip);
        }
        ui.horizontal(|ui| {
            ui.radio_value(&mut self.level, Level::Sentence, "sentence");
            ui.radio_value(&mut self.level, Level::Word, "word");
        });
        ui.horizontal(|ui| {
            ui.label("backend");
            for b in BackendChoice::ALL {
                ui.radio_value(&mut self.backend, b, b.name());
            }
        });
        if self.level == Level::Sentence {
            self.prompt_choice(ui);
        }
        self.truncation(ui);
        ui.add(egui::Slider::new(&mut self.batch_size, 1..=256).text("batch size"));
        let ready = !self.model.trim().is_empty() && !self.corpus.trim().is_empty();
        if ui.add_enabled(ready, egui::Button::new("Encode")).clicked() {
            cmds.push(Command::Encode(EncodeSpec {
                model: PathBuf::from(self.model.trim()),
                corpus: PathBuf::from(self.corpus.trim()),
                corpus_options: CorpusOptions {
                    format: None,
                    text_field: Some(self.text_column.trim().to_string()).filter(|s| !s.is_empty()),
                    skip_empty: self.skip_empty,
                    shard: None,
                    max_doc_bytes: None,
                },
                level: self.level,
                backend: self.backend,
                pooling: None,
                prompt: if self.level == Level::Sentence {
                    self.prompt.clone()
                } else {
                    PromptChoice::None
                },
                truncate_dim: self.truncate,
                batch_size: self.batch_size,
            }));
        }
        if let Some(b) = &app.encode_backend {
            let text = b.describe();
            if b.software || b.kind == BackendKind::Cpu {
                ui.colored_label(Color32::from_rgb(230, 180, 60), text);
            } else {
                ui.label(text);
            }
        }
        for j in app.jobs.iter().filter(|j| j.kind == JobKind::Encode) {
            job_row(ui, j, cmds);
        }
    }
}

impl EncodePanel {
    /// The folder's summary, read again only when the path changes.
    fn summary(&mut self) -> Option<&Result<ModelSummary, String>> {
        let path = self.model.trim().to_string();
        if path.is_empty() {
            self.summary = None;
            return None;
        }
        if self.summary.as_ref().is_none_or(|(p, _)| *p != path) {
            let read = ModelSummary::read(std::path::Path::new(&path)).map_err(|e| e.to_string());
            // A new folder starts from its own default prompt.
            self.prompt = PromptChoice::FolderDefault;
            self.truncate = None;
            self.summary = Some((path, read));
        }
        self.summary.as_ref().map(|(_, s)| s)
    }

    fn model_info(&mut self, ui: &mut egui::Ui) {
        match self.summary() {
            Some(Ok(s)) => {
                ui.label(s.line())
                    .on_hover_text(if s.sentence_transformers {
                        "from the folder's sentence-transformers files"
                    } else {
                        "a plain Hugging Face folder: mean pooling, no normalisation"
                    });
            }
            Some(Err(e)) => {
                ui.colored_label(Color32::from_rgb(220, 80, 80), e.clone());
            }
            None => {}
        }
    }

    fn prompt_choice(&mut self, ui: &mut egui::Ui) {
        let Some(Ok(s)) = self.summary().cloned() else {
            return;
        };
        let shown = match &self.prompt {
            PromptChoice::FolderDefault => match &s.default_prompt {
                Some(n) => format!("folder default ({n})"),
                None => "none (folder default)".into(),
            },
            PromptChoice::None => "none".into(),
            PromptChoice::Named(n) => n.clone(),
            PromptChoice::Text(_) => "custom".into(),
        };
        ui.horizontal(|ui| {
            let l = ui.label("prompt");
            egui::ComboBox::from_id_salt("encode_prompt")
                .selected_text(shown)
                .show_ui(ui, |ui| {
                    ui.selectable_value(
                        &mut self.prompt,
                        PromptChoice::FolderDefault,
                        "folder default",
                    );
                    ui.selectable_value(&mut self.prompt, PromptChoice::None, "none");
                    for (name, text) in &s.prompts {
                        ui.selectable_value(
                            &mut self.prompt,
                            PromptChoice::Named(name.clone()),
                            format!("{name}: \"{text}\""),
                        );
                    }
                    let custom = PromptChoice::Text(self.prompt_text.clone());
                    ui.selectable_value(&mut self.prompt, custom, "custom text");
                })
                .response
                .labelled_by(l.id);
        });
        if let PromptChoice::Text(t) = &mut self.prompt {
            ui.horizontal(|ui| {
                let l = ui.label("prompt text");
                if ui.text_edit_singleline(t).labelled_by(l.id).changed() {
                    self.prompt_text = t.clone();
                }
            });
        }
    }

    fn truncation(&mut self, ui: &mut egui::Ui) {
        let Some(Ok(s)) = self.summary().cloned() else {
            return;
        };
        ui.horizontal(|ui| {
            let mut on = self.truncate.is_some();
            if ui
                .checkbox(&mut on, "keep the first")
                .on_hover_text("Matryoshka models: the leading dimensions carry the most")
                .changed()
            {
                self.truncate = on.then_some(s.dim.min(256));
            }
            if let Some(d) = &mut self.truncate {
                ui.add(egui::DragValue::new(d).range(1..=s.dim));
                ui.label(format!("of {} dimensions", s.dim));
            }
        });
    }
}
