//! What a model folder is, read from its small files without loading the weights: for the
//! app's Encode panel (shown when a folder is picked) and `info` on a folder.

use std::collections::BTreeMap;
use std::path::Path;

use super::ModelError;
use super::config::BertConfig;
use super::pipeline::{Pipeline, Pooling, Stage};

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ModelSummary {
    pub model_type: String,
    pub layers: usize,
    /// The transformer's width.
    pub hidden: usize,
    /// The dimension of the sentence vectors (after Dense modules).
    pub dim: usize,
    pub pooling: Pooling,
    pub normalize: bool,
    /// Dense modules after the pooling, as `in -> out activation`.
    pub dense: Vec<String>,
    /// The most tokens a text keeps (longer texts are cut).
    pub max_tokens: usize,
    pub prompts: BTreeMap<String, String>,
    pub default_prompt: Option<String>,
    pub sentence_transformers: bool,
}

impl ModelSummary {
    /// Reads `config.json` and the sentence-transformers files of `dir`, with the same checks
    /// as loading the encoder (an unsupported folder is refused the same way).
    pub fn read(dir: &Path) -> Result<ModelSummary, ModelError> {
        let config = BertConfig::read(dir)?;
        let pipeline = Pipeline::read(dir)?;
        let max_tokens = pipeline
            .max_seq_length
            .unwrap_or(config.max_tokens())
            .min(config.max_tokens());
        Ok(ModelSummary {
            model_type: config.model_type.clone().unwrap_or_else(|| "bert".into()),
            layers: config.num_hidden_layers,
            hidden: config.hidden_size,
            dim: pipeline.output_dim(config.hidden_size),
            pooling: pipeline.pooling,
            normalize: pipeline.normalize(),
            dense: pipeline
                .stages
                .iter()
                .filter_map(|s| match s {
                    Stage::Dense(d) => Some(format!(
                        "{} -> {} {:?}",
                        d.in_features, d.out_features, d.activation
                    )),
                    Stage::Normalize => None,
                })
                .collect(),
            max_tokens,
            prompts: pipeline.prompts,
            default_prompt: pipeline.default_prompt_name,
            sentence_transformers: pipeline.sentence_transformers,
        })
    }

    /// One line: "mpnet, 12 layers, 768 dimensions, mean pooling, normalised, up to 384 tokens".
    pub fn line(&self) -> String {
        let mut parts = vec![
            self.model_type.clone(),
            format!("{} layers", self.layers),
            format!("{} dimensions", self.dim),
            format!("{} pooling", self.pooling),
        ];
        parts.extend(self.dense.iter().map(|d| format!("Dense {d}")));
        if self.normalize {
            parts.push("normalised".into());
        }
        parts.push(format!("up to {} tokens", self.max_tokens));
        parts.join(", ")
    }
}
