//! A comparison report of (named) versions, each with the next: `report::build` with the
//! tokenizer diffs of versions encoded from one corpus by two model folders, then
//! `report::write`; the Markdown text comes back as a preview.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use super::compare::tokenizer_diffs;
use crate::core::EmbeddingSet;
use crate::engine::EngineError;
use crate::engine::worker::{Job, JobContext};
use crate::model::tokdiff::TokenizerDiff;
use crate::report::{self, OutputFormat, ReportOptions, Section, Version};

#[derive(Debug, Clone)]
pub struct ReportJob {
    pub versions: Vec<(String, Arc<EmbeddingSet>)>,
    pub options: ReportOptions,
    pub out: PathBuf,
    pub format: OutputFormat,
}

/// What a report job wrote.
#[derive(Debug, Clone)]
pub struct ReportRun {
    pub out: PathBuf,
    pub format: OutputFormat,
    /// Every file written (images before the Markdown that links them).
    pub files: Vec<PathBuf>,
    /// The report as Markdown: for a Markdown report the text of the file written, else the
    /// same report with its image links pointing into `preview/`.
    pub preview: String,
    pub sections: Vec<Section>,
    /// The version names, in report order.
    pub versions: Vec<String>,
    /// Things the report could not include (a tokenizer diff that failed, a comparison or map
    /// that could not be computed, bias tests that could not run on a version).
    pub warnings: Vec<String>,
    pub seconds: f64,
}

impl Job for ReportJob {
    type Output = ReportRun;

    /// The sections' needs (`report::memory_estimate`): the kept comparisons and the largest
    /// step among the comparisons, drift studies, maps, bias probes and benchmarks.
    fn memory(&self) -> Option<crate::analysis::memory::Estimate> {
        let sets: Vec<&EmbeddingSet> = self.versions.iter().map(|v| v.1.as_ref()).collect();
        Some(report::memory_estimate(&sets, &self.options))
    }

    fn label(&self) -> String {
        format!(
            "report of {} versions to {}",
            self.versions.len(),
            self.out
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_else(|| self.out.display().to_string())
        )
    }

    fn run(&self, ctx: &JobContext) -> Result<ReportRun, EngineError> {
        let (versions, options, path, format) =
            (&self.versions, &self.options, &self.out, self.format);
        let t = Instant::now();
        let mut warnings = Vec::new();
        // The tokenizers of consecutive model-folder versions (vocabulary section only).
        let tokenizers: Vec<Option<TokenizerDiff>> =
            if options.sections.contains(&Section::Vocabulary) {
                let refs: Vec<&EmbeddingSet> = versions.iter().map(|v| v.1.as_ref()).collect();
                tokenizer_diffs(&refs, ctx)
                    .into_iter()
                    .enumerate()
                    .map(|(p, d)| match d {
                        Some(Ok(d)) => Some(d),
                        Some(Err(e)) => {
                            warnings.push(format!(
                                "tokenizers of {} and {}: {e}",
                                versions[p].0,
                                versions[p + 1].0
                            ));
                            None
                        }
                        None => None,
                    })
                    .collect()
            } else {
                Vec::new()
            };
        ctx.check()?;
        let list: Vec<Version> = versions
            .iter()
            .map(|(name, set)| Version {
                name: name.clone(),
                set: set.as_ref(),
            })
            .collect();
        // Building takes nearly all the time; writing (charts, files) the rest.
        let mut progress = |share: f32, step: &str| {
            ctx.progress(Some(0.95 * share.clamp(0.0, 1.0)), step);
        };
        let r = report::build(
            &list,
            &tokenizers,
            options,
            &mut progress,
            ctx.cancel_flag(),
        )?;
        ctx.check()?;
        // Parts that could not be computed (the rest of the report stands).
        warnings.extend(r.notes.iter().cloned());
        if let Some(b) = &r.bias {
            warnings.extend(b.errors.iter().map(|e| format!("bias: {e}")));
        }
        ctx.progress(Some(0.95), format!("writing {}", path.display()));
        let files = report::write(&r, path, format)?;
        let image_dir = match format {
            report::OutputFormat::Markdown => report::render::image_dir_name(path),
            _ => "preview".to_string(),
        };
        let (preview, _) = report::render::markdown(&r, &image_dir)?;
        Ok(ReportRun {
            out: path.to_path_buf(),
            format,
            files,
            preview,
            sections: r.sections.clone(),
            versions: versions.iter().map(|v| v.0.clone()).collect(),
            warnings,
            seconds: t.elapsed().as_secs_f64(),
        })
    }
}
