//! The sentence-transformers modules after the transformer, as a folder declares them:
//! `modules.json` (Transformer, Pooling, Dense, Normalize, in order), `1_Pooling/config.json`
//! (every pooling mode and `include_prompt`), `N_Dense/config.json`,
//! `sentence_bert_config.json` (`max_seq_length`) and `config_sentence_transformers.json`
//! (`prompts`, `default_prompt_name`). A plain Hugging Face folder is a transformer with mean
//! pooling.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::ModelError;

/// How token vectors become one vector per text (sentence-transformers' pooling modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Pooling {
    /// Mean of the tokens (`pooling_mode_mean_tokens`).
    Mean,
    /// The first token (`pooling_mode_cls_token`).
    Cls,
    /// Per-dimension maximum over the tokens (`pooling_mode_max_tokens`).
    Max,
    /// Sum of the tokens divided by the square root of their count
    /// (`pooling_mode_mean_sqrt_len_tokens`).
    #[serde(rename = "mean_sqrt_len_tokens")]
    MeanSqrtLen,
    /// Mean weighted by position, 1 for the first token (`pooling_mode_weightedmean_tokens`).
    #[serde(rename = "weightedmean")]
    WeightedMean,
    /// The last token (`pooling_mode_lasttoken`).
    #[serde(rename = "lasttoken")]
    LastToken,
}

impl Pooling {
    pub const ALL: [Pooling; 6] = [
        Pooling::Mean,
        Pooling::Cls,
        Pooling::Max,
        Pooling::MeanSqrtLen,
        Pooling::WeightedMean,
        Pooling::LastToken,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Pooling::Mean => "mean",
            Pooling::Cls => "cls",
            Pooling::Max => "max",
            Pooling::MeanSqrtLen => "mean_sqrt_len_tokens",
            Pooling::WeightedMean => "weightedmean",
            Pooling::LastToken => "lasttoken",
        }
    }
}

impl std::fmt::Display for Pooling {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Pooling {
    type Err = String;

    /// A mode's name (`mean`, `cls`, `max`, `mean_sqrt_len_tokens`, `weightedmean`,
    /// `lasttoken`), in any case.
    fn from_str(s: &str) -> Result<Pooling, String> {
        Pooling::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                let names = Pooling::ALL.map(Pooling::name);
                format!(
                    "unknown pooling '{s}'; expected one of: {}",
                    names.join(", ")
                )
            })
    }
}

/// The activation after a Dense module (sentence-transformers writes the torch class name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DenseActivation {
    Identity,
    Tanh,
    Relu,
    Sigmoid,
    Gelu,
}

impl DenseActivation {
    /// From `activation_function`, e.g. `torch.nn.modules.activation.Tanh`.
    fn parse(name: &str) -> Option<DenseActivation> {
        match name.rsplit('.').next().unwrap_or(name) {
            "Identity" => Some(DenseActivation::Identity),
            "Tanh" => Some(DenseActivation::Tanh),
            "ReLU" => Some(DenseActivation::Relu),
            "Sigmoid" => Some(DenseActivation::Sigmoid),
            "GELU" => Some(DenseActivation::Gelu),
            _ => None,
        }
    }
}

/// A Dense module: a linear map of the pooled vector and an activation.
#[derive(Debug, Clone, PartialEq)]
pub struct DenseSpec {
    /// Its folder (holding `config.json` and `model.safetensors`).
    pub dir: PathBuf,
    pub in_features: usize,
    pub out_features: usize,
    pub bias: bool,
    pub activation: DenseActivation,
}

/// A module after pooling, in the folder's order.
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    Dense(DenseSpec),
    Normalize,
}

/// What a sentence-transformers folder says about the pipeline after the transformer.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    pub pooling: Pooling,
    /// Whether the prompt's tokens count in the pooling (`include_prompt`, default true).
    pub include_prompt: bool,
    /// Dense and Normalize modules after the pooling, in order.
    pub stages: Vec<Stage>,
    pub max_seq_length: Option<usize>,
    /// True when read from a sentence-transformers folder (modules.json).
    pub sentence_transformers: bool,
    /// Named prompts (`config_sentence_transformers.json`), e.g. `query` -> `"query: "`.
    pub prompts: BTreeMap<String, String>,
    /// The prompt used when none is asked for.
    pub default_prompt_name: Option<String>,
}

impl Pipeline {
    /// Whether the output is L2-normalised (a Normalize module).
    pub fn normalize(&self) -> bool {
        self.stages.contains(&Stage::Normalize)
    }

    /// The dimension of the output for a transformer of width `hidden`: the last Dense
    /// module's `out_features`, else `hidden`.
    pub fn output_dim(&self, hidden: usize) -> usize {
        self.stages
            .iter()
            .rev()
            .find_map(|s| match s {
                Stage::Dense(d) => Some(d.out_features),
                Stage::Normalize => None,
            })
            .unwrap_or(hidden)
    }
}

/// Refuses a module path of `modules.json` that leads outside the model folder (absolute,
/// through `..`, or through a symbolic link that points elsewhere): a model folder is read as a
/// unit, and its files never name others on the machine.
fn module_inside(dir: &Path, modules_path: &Path, module: &str) -> Result<(), ModelError> {
    use std::path::Component;
    let rel = Path::new(module);
    let outside = |why: &str| {
        Err(ModelError::Invalid(
            modules_path.to_path_buf(),
            format!(
                "module path \"{module}\" {why}: expected a folder inside the model folder {}",
                dir.display()
            ),
        ))
    };
    if rel
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return outside("leaves the model folder (absolute, or through \"..\")");
    }
    if let (Ok(base), Ok(target)) = (
        std::fs::canonicalize(dir),
        std::fs::canonicalize(dir.join(rel)),
    ) && !target.starts_with(&base)
    {
        return outside(&format!(
            "leads outside the model folder (to {}, through a symbolic link)",
            target.display()
        ));
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
struct ModuleEntry {
    #[serde(default)]
    path: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Debug, Deserialize)]
struct PoolingConfig {
    #[serde(default)]
    pooling_mode_cls_token: bool,
    #[serde(default)]
    pooling_mode_mean_tokens: bool,
    #[serde(default)]
    pooling_mode_max_tokens: bool,
    #[serde(default)]
    pooling_mode_mean_sqrt_len_tokens: bool,
    #[serde(default)]
    pooling_mode_weightedmean_tokens: bool,
    #[serde(default)]
    pooling_mode_lasttoken: bool,
    /// sentence-transformers >= 5 writes the mode by name instead of the flags.
    #[serde(default)]
    pooling_mode: Option<String>,
    #[serde(default = "yes")]
    include_prompt: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
struct DenseConfig {
    in_features: usize,
    out_features: usize,
    #[serde(default = "yes")]
    bias: bool,
    #[serde(default = "identity")]
    activation_function: String,
}

fn identity() -> String {
    "torch.nn.modules.linear.Identity".into()
}

#[derive(Debug, Deserialize, Default)]
struct SbertConfig {
    #[serde(default)]
    max_seq_length: Option<usize>,
}

#[derive(Debug, Deserialize, Default)]
struct StConfig {
    #[serde(default)]
    prompts: BTreeMap<String, String>,
    #[serde(default)]
    default_prompt_name: Option<String>,
}

/// A model folder's small JSON file as text: a regular file of at most 1 MiB (a device, a
/// folder or a huge file is refused before anything is read into memory).
pub(crate) fn read_small(path: &Path) -> Result<String, ModelError> {
    const LIMIT: u64 = 1 << 20;
    let meta = std::fs::metadata(path).map_err(|e| ModelError::io(path, e))?;
    if !meta.is_file() {
        return Err(ModelError::Invalid(
            path.to_path_buf(),
            "not a regular file (expected a JSON file)".into(),
        ));
    }
    if meta.len() > LIMIT {
        return Err(ModelError::Invalid(
            path.to_path_buf(),
            format!("{} bytes: a model config is at most 1 MiB", meta.len()),
        ));
    }
    std::fs::read_to_string(path).map_err(|e| ModelError::io(path, e))
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ModelError> {
    let text = read_small(path)?;
    serde_json::from_str(&text).map_err(|e| ModelError::Invalid(path.to_path_buf(), e.to_string()))
}

fn pooling_of(path: &Path) -> Result<(Pooling, bool), ModelError> {
    let c: PoolingConfig = read_json(path)?;
    let modes = [
        (c.pooling_mode_cls_token, Pooling::Cls),
        (c.pooling_mode_max_tokens, Pooling::Max),
        (c.pooling_mode_mean_tokens, Pooling::Mean),
        (c.pooling_mode_mean_sqrt_len_tokens, Pooling::MeanSqrtLen),
        (c.pooling_mode_weightedmean_tokens, Pooling::WeightedMean),
        (c.pooling_mode_lasttoken, Pooling::LastToken),
    ];
    let mut on: Vec<Pooling> = modes.iter().filter(|m| m.0).map(|m| m.1).collect();
    if let Some(name) = &c.pooling_mode {
        // Names as sentence-transformers writes them (`mean`, `cls`, `max`, `mean_sqrt_len`,
        // `weightedmean`, `lasttoken`), several joined by `_` not supported.
        let p = match name.as_str() {
            "mean_sqrt_len" | "mean_sqrt_len_tokens" => Ok(Pooling::MeanSqrtLen),
            other => other.parse::<Pooling>(),
        }
        .map_err(|e| ModelError::Unsupported(path.to_path_buf(), format!("pooling_mode: {e}")))?;
        if !on.contains(&p) {
            on.push(p);
        }
    }
    match on.as_slice() {
        [one] => Ok((*one, c.include_prompt)),
        [] => Err(ModelError::Invalid(
            path.to_path_buf(),
            "no pooling mode is switched on".into(),
        )),
        many => Err(ModelError::Unsupported(
            path.to_path_buf(),
            format!(
                "pooling modes {} combined (concatenated): one mode at a time is supported",
                many.iter()
                    .map(|p| p.name())
                    .collect::<Vec<_>>()
                    .join(" + ")
            ),
        )),
    }
}

fn dense_of(dir: &Path) -> Result<DenseSpec, ModelError> {
    let path = dir.join("config.json");
    let c: DenseConfig = read_json(&path)?;
    let Some(activation) = DenseActivation::parse(&c.activation_function) else {
        return Err(ModelError::Unsupported(
            path,
            format!(
                "Dense activation_function \"{}\" (supported: Identity, Tanh, ReLU, Sigmoid, GELU)",
                c.activation_function
            ),
        ));
    };
    Ok(DenseSpec {
        dir: dir.to_path_buf(),
        in_features: c.in_features,
        out_features: c.out_features,
        bias: c.bias,
        activation,
    })
}

impl Pipeline {
    /// Reads modules.json & co; a plain HF folder gets mean pooling without normalisation.
    pub fn read(dir: &Path) -> Result<Pipeline, ModelError> {
        let sbert_path = dir.join("sentence_bert_config.json");
        let max_seq_length = if sbert_path.is_file() {
            read_json::<SbertConfig>(&sbert_path)?.max_seq_length
        } else {
            None
        };
        let st_path = dir.join("config_sentence_transformers.json");
        let st = if st_path.is_file() {
            read_json::<StConfig>(&st_path)?
        } else {
            StConfig::default()
        };
        if let Some(name) = &st.default_prompt_name
            && !st.prompts.contains_key(name)
        {
            return Err(ModelError::Invalid(
                st_path,
                format!("default_prompt_name \"{name}\" is not one of its prompts"),
            ));
        }
        let mut pipeline = Pipeline {
            pooling: Pooling::Mean,
            include_prompt: true,
            stages: Vec::new(),
            max_seq_length,
            sentence_transformers: false,
            prompts: st.prompts,
            default_prompt_name: st.default_prompt_name,
        };
        let modules_path = dir.join("modules.json");
        if !modules_path.is_file() {
            return Ok(pipeline);
        }
        pipeline.sentence_transformers = true;
        let modules: Vec<ModuleEntry> = read_json(&modules_path)?;
        for m in &modules {
            module_inside(dir, &modules_path, &m.path)?;
            let kind = m.kind.rsplit('.').next().unwrap_or("");
            match kind {
                "Transformer" => {}
                "Pooling" => {
                    let (pooling, include_prompt) =
                        pooling_of(&dir.join(&m.path).join("config.json"))?;
                    pipeline.pooling = pooling;
                    pipeline.include_prompt = include_prompt;
                }
                "Dense" => pipeline
                    .stages
                    .push(Stage::Dense(dense_of(&dir.join(&m.path))?)),
                "Normalize" => pipeline.stages.push(Stage::Normalize),
                other => {
                    return Err(ModelError::Unsupported(
                        modules_path.clone(),
                        format!(
                            "sentence-transformers module \"{}\" ({other}) is not supported \
                             (supported: Transformer, Pooling, Dense, Normalize)",
                            m.kind
                        ),
                    ));
                }
            }
        }
        Ok(pipeline)
    }
}
