//! Hugging Face `config.json` of the BERT-family encoders (the sentence-transformers files are
//! read in `pipeline.rs`).

use std::path::Path;

use serde::Deserialize;

use super::ModelError;
use super::bert::Activation;

/// The parts of a BERT-family `config.json` the encoder needs. DistilBERT's own field names
/// (`dim`, `n_layers`, `n_heads`, `hidden_dim`, `activation`) are read as their BERT names.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct BertConfig {
    #[serde(default)]
    pub model_type: Option<String>,
    pub vocab_size: usize,
    #[serde(alias = "dim")]
    pub hidden_size: usize,
    #[serde(alias = "n_layers")]
    pub num_hidden_layers: usize,
    #[serde(alias = "n_heads")]
    pub num_attention_heads: usize,
    #[serde(alias = "hidden_dim")]
    pub intermediate_size: usize,
    /// `hidden_act` as written in the file.
    #[serde(
        default = "default_act",
        alias = "activation",
        alias = "hidden_activation"
    )]
    pub hidden_act: String,
    /// `hidden_act` parsed: set by [`BertConfig::read`], which refuses any other name.
    #[serde(skip)]
    pub activation: Activation,
    /// The architecture family, from `model_type`: set by [`BertConfig::read`].
    #[serde(skip)]
    pub family: Family,
    pub max_position_embeddings: usize,
    #[serde(default = "default_type_vocab")]
    pub type_vocab_size: usize,
    #[serde(default = "default_eps", alias = "norm_eps")]
    pub layer_norm_eps: f64,
    #[serde(default)]
    pub pad_token_id: Option<u32>,
    #[serde(default)]
    pub position_embedding_type: Option<String>,
    /// DistilBERT: position embeddings filled with sinusoids (stored in the weights as well).
    #[serde(default)]
    pub sinusoidal_pos_embds: bool,
    /// MPNet: buckets of the relative position bias.
    #[serde(default = "default_buckets")]
    pub relative_attention_num_buckets: usize,
    /// ModernBERT: the attention of layer `i` is global when `i` is a multiple of this, else
    /// local (a sliding window).
    #[serde(default)]
    pub global_attn_every_n_layers: Option<usize>,
    /// ModernBERT: the sliding window's width (a query sees keys up to half of it away).
    #[serde(default)]
    pub local_attention: Option<usize>,
    /// ModernBERT: rotary base of the global and of the local layers.
    #[serde(default)]
    pub global_rope_theta: Option<f64>,
    #[serde(default)]
    pub local_rope_theta: Option<f64>,
    /// ModernBERT as newer transformers write it: `full_attention` / `sliding_attention` per
    /// layer, and `rope_parameters` per kind.
    #[serde(default)]
    pub layer_types: Option<Vec<String>>,
    #[serde(default)]
    pub rope_parameters: Option<serde_json::Value>,
    /// ModernBERT: whether the norms, the attention and the MLP have biases (default none).
    #[serde(default)]
    pub norm_bias: bool,
    #[serde(default)]
    pub attention_bias: bool,
    #[serde(default)]
    pub mlp_bias: bool,
}

fn default_buckets() -> usize {
    32
}

/// Encoder families that share BERT's post-norm layer and differ in names, positions and
/// token types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// `bert`: positions from 0, token-type embeddings.
    #[default]
    Bert,
    /// `roberta`, `xlm-roberta`, `camembert`: BERT's layout and names; positions counted from
    /// `pad_token_id + 1`; one token type.
    Roberta,
    /// `distilbert`: its own tensor names (`transformer.layer.N.attention.q_lin`, ...), no
    /// token types, positions from 0.
    DistilBert,
    /// `mpnet`: positions as RoBERTa's, no token types, its own attention names, and a
    /// relative position bias (bucketed, shared by every layer) added to the attention scores.
    MpNet,
    /// `modernbert`: pre-norm layers without biases, rotary positions, GeGLU, global and
    /// sliding-window attention (see `model::modernbert`).
    ModernBert,
}

impl Family {
    /// The family of a `model_type`, if it is one of the supported ones.
    pub fn of(model_type: &str) -> Option<Family> {
        match model_type {
            "bert" => Some(Family::Bert),
            "roberta" | "xlm-roberta" | "camembert" => Some(Family::Roberta),
            "distilbert" => Some(Family::DistilBert),
            "mpnet" => Some(Family::MpNet),
            "modernbert" => Some(Family::ModernBert),
            _ => None,
        }
    }
}

impl BertConfig {
    /// The position id of a text's first token: `pad_token_id + 1` for the RoBERTa family
    /// (whose position ids count non-padding tokens from there), else 0.
    pub fn position_offset(&self) -> usize {
        match self.family {
            Family::Roberta | Family::MpNet => self.pad_token_id.unwrap_or(1) as usize + 1,
            Family::Bert | Family::DistilBert | Family::ModernBert => 0,
        }
    }

    /// The most tokens a text may have: the position table less its offset.
    pub fn max_tokens(&self) -> usize {
        self.max_position_embeddings
            .saturating_sub(self.position_offset())
    }
}

fn default_act() -> String {
    "gelu".into()
}
fn default_type_vocab() -> usize {
    2
}
fn default_eps() -> f64 {
    1e-12
}

/// Model types with BERT's post-norm layer (see [`Family`]).
const SUPPORTED: [&str; 7] = [
    "bert",
    "roberta",
    "xlm-roberta",
    "camembert",
    "distilbert",
    "mpnet",
    "modernbert",
];
/// Known encoder families that are refused until they are implemented properly.
const KNOWN_UNSUPPORTED: [&str; 4] = ["deberta", "deberta-v2", "electra", "albert"];

impl BertConfig {
    pub fn read(dir: &Path) -> Result<BertConfig, ModelError> {
        let path = dir.join("config.json");
        let text = super::pipeline::read_small(&path)?;
        let cfg: BertConfig = serde_json::from_str(&text)
            .map_err(|e| ModelError::Invalid(path.clone(), format!("not a model config: {e}")))?;
        let mt = cfg.model_type.clone().unwrap_or_else(|| "bert".into());
        let Some(family) = Family::of(&mt) else {
            let why = if KNOWN_UNSUPPORTED.contains(&mt.as_str()) {
                "not supported yet"
            } else {
                "unknown"
            };
            return Err(ModelError::Unsupported(
                path,
                format!(
                    "model_type \"{mt}\" is {why}; supported: {}",
                    SUPPORTED.join(", ")
                ),
            ));
        };
        let cfg = BertConfig { family, ..cfg };
        if cfg.max_tokens() == 0 {
            return Err(ModelError::Invalid(
                path,
                format!(
                    "max_position_embeddings {} leaves no position after the offset of pad_token_id + 1",
                    cfg.max_position_embeddings
                ),
            ));
        }
        if let Some(p) = &cfg.position_embedding_type
            && p != "absolute"
        {
            return Err(ModelError::Unsupported(
                path,
                format!("position_embedding_type \"{p}\": only \"absolute\" is supported"),
            ));
        }
        if cfg.hidden_size == 0
            || cfg.num_attention_heads == 0
            || !cfg.hidden_size.is_multiple_of(cfg.num_attention_heads)
        {
            return Err(ModelError::Invalid(
                path,
                format!(
                    "hidden_size {} is not a multiple of num_attention_heads {}",
                    cfg.hidden_size, cfg.num_attention_heads
                ),
            ));
        }
        let Ok(activation) = cfg.hidden_act.parse::<Activation>() else {
            return Err(ModelError::Unsupported(
                path,
                format!("hidden_act \"{}\"", cfg.hidden_act),
            ));
        };
        Ok(BertConfig { activation, ..cfg })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::pipeline::Pooling;

    fn config_with(act: Option<&str>) -> Result<BertConfig, ModelError> {
        let dir = tempfile::tempdir().map_err(|e| ModelError::io(Path::new("tmp"), e))?;
        let act = act.map_or(String::new(), |a| format!("\"hidden_act\": \"{a}\","));
        let text = format!(
            "{{{act} \"model_type\": \"bert\", \"vocab_size\": 10, \"hidden_size\": 8, \
             \"num_hidden_layers\": 1, \"num_attention_heads\": 2, \"intermediate_size\": 16, \
             \"max_position_embeddings\": 16}}"
        );
        std::fs::write(dir.path().join("config.json"), text)
            .map_err(|e| ModelError::io(dir.path(), e))?;
        BertConfig::read(dir.path())
    }

    #[test]
    fn hidden_act_is_parsed_once_and_unknown_names_refused() {
        for (name, act) in [
            (None, Activation::Gelu),
            (Some("gelu"), Activation::Gelu),
            (Some("gelu_new"), Activation::GeluTanh),
            (Some("gelu_pytorch_tanh"), Activation::GeluTanh),
            (Some("relu"), Activation::Relu),
        ] {
            let cfg = config_with(name).expect("a supported activation");
            assert_eq!(cfg.activation, act, "{name:?}");
        }
        match config_with(Some("swish")) {
            Err(ModelError::Unsupported(p, msg)) => {
                assert!(p.ends_with("config.json"), "{}", p.display());
                assert_eq!(msg, "hidden_act \"swish\"");
            }
            other => panic!("swish accepted or refused for another reason: {other:?}"),
        }
    }

    #[test]
    fn names_round_trip() {
        for a in Activation::ALL {
            assert_eq!(a.to_string().parse::<Activation>(), Ok(a));
        }
        for p in Pooling::ALL {
            assert_eq!(p.to_string().parse::<Pooling>(), Ok(p));
            assert_eq!(p.name().to_uppercase().parse::<Pooling>(), Ok(p));
        }
        let e = "sum".parse::<Pooling>().unwrap_err();
        assert!(e.contains("'sum'") && e.contains("mean, cls, max"), "{e}");
        let e = "GELU".parse::<Activation>().unwrap_err();
        assert!(
            e.contains("'GELU'") && e.contains("gelu_pytorch_tanh"),
            "{e}"
        );
    }
}
