//! A model folder as a text encoder: tokenizer + transformer + the sentence-transformers
//! pipeline (pooling, Dense, Normalize; prompts; Matryoshka truncation), run in length-sorted,
//! padded batches.

use std::path::{Path, PathBuf};

use burn::tensor::{Device, Int, Tensor, TensorData};
use tokenizers::{
    PaddingParams, Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy,
};

use super::ModelError;
use super::bert::BertModel;
use super::config::{BertConfig, Family};
use super::head::{Head, missing_safetensors};
use super::modernbert::ModernBertModel;
use super::pipeline::{Pipeline, Pooling};
use super::weights::Weights;

/// One text after tokenisation (truncated to the model's length, no padding).
#[derive(Debug, Clone, PartialEq)]
pub struct Tokens {
    pub ids: Vec<u32>,
    pub types: Vec<u32>,
    /// Word index of each token in the text (None for special tokens).
    pub word_ids: Vec<Option<u32>>,
    /// Byte span of each token in the text.
    pub offsets: Vec<(usize, usize)>,
    /// The text was longer than the model's length and was cut (its last word may be cut
    /// inside).
    pub truncated: bool,
    /// How many leading tokens are the prompt's (left out of the pooling when the folder's
    /// `include_prompt` is false).
    pub prompt_len: usize,
}

/// The transformer of a folder: a BERT-style family or ModernBERT.
enum Transformer {
    Bert(BertModel),
    ModernBert(ModernBertModel),
}

impl Transformer {
    fn forward(&self, ids: Tensor<2, Int>, types: Tensor<2, Int>, lens: &[usize]) -> Tensor<3> {
        match self {
            Transformer::Bert(m) => m.forward(ids, types, lens),
            Transformer::ModernBert(m) => m.forward(ids, lens),
        }
    }
}

/// Text put in front of every input (sentence-transformers' prompts: "query: ", ...).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Prompt {
    /// Its name in the folder's `config_sentence_transformers.json`, if it came from there.
    pub name: Option<String>,
    pub text: String,
}

/// Which prompt an encoder uses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum PromptChoice {
    /// The folder's `default_prompt_name`, if it has one (sentence-transformers' default).
    #[default]
    FolderDefault,
    /// None, whatever the folder says.
    None,
    /// One of the folder's prompts, by name.
    Named(String),
    /// This text.
    Text(String),
}

/// Output for one text.
#[derive(Debug, Clone)]
pub struct Encoded {
    /// The pooled (and, if the pipeline says so, normalised) vector.
    pub pooled: Vec<f32>,
    /// Last hidden state per token (`tokens x dim`), when asked for.
    pub hidden: Option<Vec<f32>>,
}

pub struct Encoder {
    pub dir: PathBuf,
    pub config: BertConfig,
    pub pipeline: Pipeline,
    pub max_len: usize,
    pub weights_sha256: String,
    pub tokenizer_sha256: String,
    /// Whether the tokenizer lower-cases (word-level keys follow it).
    pub lowercase: bool,
    tokenizer: Tokenizer,
    model: Transformer,
    head: Head,
    device: Device,
    pad_id: u32,
    prompt: Option<Prompt>,
    /// Tokens of the prompt less one, as sentence-transformers counts them.
    prompt_tokens: usize,
    truncate_dim: Option<usize>,
}

fn sha256_file(p: &Path) -> Result<String, ModelError> {
    let bytes = std::fs::read(p).map_err(|e| ModelError::io(p, e))?;
    Ok(crate::core::hash::sha256_hex(&bytes))
}

impl Encoder {
    /// Loads a Hugging Face or sentence-transformers folder onto `device`. `pooling` overrides
    /// the folder's pooling (plain HF folders default to mean pooling).
    pub fn load(
        dir: &Path,
        device: &Device,
        pooling: Option<Pooling>,
    ) -> Result<Encoder, ModelError> {
        if !dir.is_dir() {
            return Err(ModelError::Io(
                dir.to_path_buf(),
                "not a model folder (expected config.json, tokenizer.json, model.safetensors)"
                    .into(),
            ));
        }
        let config = BertConfig::read(dir)?;
        let mut pipeline = Pipeline::read(dir)?;
        if let Some(p) = pooling {
            pipeline.pooling = p;
        }
        let tok_path = dir.join("tokenizer.json");
        if !tok_path.is_file() {
            return Err(ModelError::Io(
                tok_path,
                "missing (only fast tokenizers, tokenizer.json, are supported)".into(),
            ));
        }
        let tok_bytes = std::fs::read(&tok_path).map_err(|e| ModelError::io(&tok_path, e))?;
        let mut tokenizer = super::parse_tokenizer(&tok_path, &tok_bytes)?;
        let tok_json: serde_json::Value = serde_json::from_slice(&tok_bytes).unwrap_or_default();
        let lowercase = tok_json["normalizer"]["lowercase"]
            .as_bool()
            .unwrap_or(false);
        let max_len = pipeline
            .max_seq_length
            .unwrap_or(config.max_tokens())
            .min(config.max_tokens());
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_len,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
                direction: TruncationDirection::Right,
            }))
            .map_err(|e| ModelError::Tokenizer(tok_path.clone(), e.to_string()))?;
        tokenizer.with_padding(None::<PaddingParams>);
        let pad_id = config
            .pad_token_id
            .or_else(|| tokenizer.token_to_id("[PAD]"))
            .or_else(|| tokenizer.token_to_id("<pad>"))
            .unwrap_or(0);
        let vocab = tokenizer.get_vocab_size(true);
        if vocab > config.vocab_size {
            return Err(ModelError::Tokenizer(
                tok_path,
                format!(
                    "{vocab} tokens, but the model's embeddings have {} rows (config.json \
                     vocab_size): ids past the table would have no vector; the tokenizer and \
                     the weights are from different models",
                    config.vocab_size
                ),
            ));
        }
        let wpath = dir.join("model.safetensors");
        if !wpath.is_file() {
            return Err(missing_safetensors(dir));
        }
        let weights = Weights::open(&wpath)?;
        let model = match config.family {
            Family::ModernBert => Transformer::ModernBert(ModernBertModel::load(
                &config,
                &weights,
                device,
                &dir.join("config.json"),
            )?),
            _ => Transformer::Bert(BertModel::load(&config, &weights, device)?),
        };
        let head = Head::load(&pipeline, config.hidden_size, device)?;
        let mut enc = Encoder {
            dir: dir.to_path_buf(),
            config,
            pipeline,
            max_len,
            weights_sha256: weights.sha256.clone(),
            tokenizer_sha256: sha256_file(&tok_path)?,
            lowercase,
            tokenizer,
            model,
            head,
            device: device.clone(),
            pad_id,
            prompt: None,
            prompt_tokens: 0,
            truncate_dim: None,
        };
        enc.set_prompt(&PromptChoice::FolderDefault)?;
        Ok(enc)
    }

    /// The dimension of the output vectors (after Dense modules and truncation).
    pub fn dim(&self) -> usize {
        let full = self.pipeline.output_dim(self.config.hidden_size);
        self.truncate_dim.map_or(full, |t| t.min(full))
    }

    /// The transformer's width (of the per-token states word-level vectors come from).
    pub fn hidden_size(&self) -> usize {
        self.config.hidden_size
    }

    /// The prompt put in front of each text, if any.
    pub fn prompt(&self) -> Option<&Prompt> {
        self.prompt.as_ref()
    }

    /// Chooses the prompt; a name the folder does not have is refused with the names it has.
    pub fn set_prompt(&mut self, choice: &PromptChoice) -> Result<(), ModelError> {
        let prompt = match choice {
            PromptChoice::None => None,
            PromptChoice::Text(t) => Some(Prompt {
                name: None,
                text: t.clone(),
            }),
            PromptChoice::FolderDefault => {
                self.pipeline.default_prompt_name.as_ref().and_then(|n| {
                    self.pipeline.prompts.get(n).map(|t| Prompt {
                        name: Some(n.clone()),
                        text: t.clone(),
                    })
                })
            }
            PromptChoice::Named(n) => match self.pipeline.prompts.get(n) {
                Some(t) => Some(Prompt {
                    name: Some(n.clone()),
                    text: t.clone(),
                }),
                None => {
                    let names: Vec<&str> =
                        self.pipeline.prompts.keys().map(String::as_str).collect();
                    return Err(ModelError::Invalid(
                        self.dir.join("config_sentence_transformers.json"),
                        if names.is_empty() {
                            format!("no prompt named \"{n}\": the folder has no prompts")
                        } else {
                            format!(
                                "no prompt named \"{n}\"; the folder has: {}",
                                names.join(", ")
                            )
                        },
                    ));
                }
            },
        };
        self.prompt_tokens = match &prompt {
            Some(p) if !p.text.is_empty() => {
                let e = self.tokenizer.encode(p.text.as_str(), true).map_err(|e| {
                    ModelError::Tokenizer(self.dir.join("tokenizer.json"), e.to_string())
                })?;
                e.get_ids().len().saturating_sub(1)
            }
            _ => 0,
        };
        self.prompt = prompt;
        Ok(())
    }

    /// Keeps the first `dim` dimensions of every output vector (Matryoshka models); `None`
    /// keeps all. More than the model gives is refused.
    pub fn set_truncate_dim(&mut self, dim: Option<usize>) -> Result<(), ModelError> {
        let full = self.pipeline.output_dim(self.config.hidden_size);
        if let Some(d) = dim
            && (d == 0 || d > full)
        {
            return Err(ModelError::Invalid(
                self.dir.clone(),
                format!(
                    "truncate dimension {d}: the model's vectors have {full} dimensions (1 to {full})"
                ),
            ));
        }
        self.truncate_dim = dim;
        Ok(())
    }

    /// The truncation set by [`Encoder::set_truncate_dim`].
    pub fn truncate_dim(&self) -> Option<usize> {
        self.truncate_dim
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Tokens of each text with the prompt in front (sentence vectors).
    pub fn tokenize(&self, texts: &[&str]) -> Result<Vec<Tokens>, ModelError> {
        match &self.prompt {
            Some(p) if !p.text.is_empty() => {
                let prompted: Vec<String> =
                    texts.iter().map(|t| format!("{}{t}", p.text)).collect();
                let refs: Vec<&str> = prompted.iter().map(String::as_str).collect();
                let mut toks = self.tokenize_plain(&refs)?;
                for t in &mut toks {
                    t.prompt_len = self.prompt_tokens.min(t.ids.len());
                }
                Ok(toks)
            }
            _ => self.tokenize_plain(texts),
        }
    }

    /// Tokens of each text as it is, without the prompt (word-level vectors, whose offsets
    /// point into the text).
    pub fn tokenize_plain(&self, texts: &[&str]) -> Result<Vec<Tokens>, ModelError> {
        let enc = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| ModelError::Tokenizer(self.dir.join("tokenizer.json"), e.to_string()))?;
        Ok(enc
            .into_iter()
            .map(|e| Tokens {
                ids: e.get_ids().to_vec(),
                types: e.get_type_ids().to_vec(),
                word_ids: e.get_word_ids().to_vec(),
                offsets: e.get_offsets().to_vec(),
                truncated: !e.get_overflowing().is_empty(),
                prompt_len: 0,
            })
            .collect())
    }

    /// Runs one padded batch; `hidden` also returns the per-token states.
    pub fn run_batch(&self, batch: &[&Tokens], hidden: bool) -> Result<Vec<Encoded>, ModelError> {
        let b = batch.len();
        if b == 0 {
            return Ok(Vec::new());
        }
        let l = batch.iter().map(|t| t.ids.len()).max().unwrap_or(1).max(1);
        let mut ids = vec![self.pad_id as i64; b * l];
        let mut types = vec![0i64; b * l];
        for (r, t) in batch.iter().enumerate() {
            for (c, (&id, &ty)) in t.ids.iter().zip(&t.types).enumerate() {
                ids[r * l + c] = i64::from(id);
                types[r * l + c] = i64::from(ty);
            }
        }
        let d = &self.device;
        let ids = Tensor::<2, Int>::from_data(TensorData::new(ids, [b, l]), d);
        let types = Tensor::<2, Int>::from_data(TensorData::new(types, [b, l]), d);
        let lens: Vec<usize> = batch.iter().map(|t| t.ids.len()).collect();
        let prompt: Vec<usize> = batch.iter().map(|t| t.prompt_len).collect();
        let out = self.model.forward(ids, types, &lens);
        let pooled = self.head.forward(out.clone(), &lens, &prompt);
        let [_, full] = pooled.dims();
        let dim = self.dim();
        let pooled = if dim < full {
            pooled.narrow(1, 0, dim)
        } else {
            pooled
        };
        let h = self.config.hidden_size;
        let pv: Vec<f32> = pooled
            .into_data()
            .try_into_vec::<f32>()
            .map_err(|e| ModelError::Compute(format!("{e:?}")))?;
        let hv: Option<Vec<f32>> = if hidden {
            Some(
                out.into_data()
                    .try_into_vec::<f32>()
                    .map_err(|e| ModelError::Compute(format!("{e:?}")))?,
            )
        } else {
            None
        };
        Ok(batch
            .iter()
            .enumerate()
            .map(|(r, t)| Encoded {
                pooled: pv[r * dim..(r + 1) * dim].to_vec(),
                hidden: hv
                    .as_ref()
                    .map(|v| v[r * l * h..(r * l + t.ids.len()) * h].to_vec()),
            })
            .collect())
    }

    /// Sentence vectors for `texts`, in input order: sorted by length, padded per batch of at
    /// most `batch_size` texts and `max_tokens` padded tokens.
    pub fn encode(
        &self,
        texts: &[&str],
        batch_size: usize,
        max_tokens: usize,
    ) -> Result<Vec<Vec<f32>>, ModelError> {
        let toks = self.tokenize(texts)?;
        let mut out: Vec<Vec<f32>> = vec![Vec::new(); texts.len()];
        for (batch, idx) in batches(&toks, batch_size, max_tokens) {
            for (e, i) in self.run_batch(&batch, false)?.into_iter().zip(idx) {
                out[i] = e.pooled;
            }
        }
        Ok(out)
    }
}

/// Groups tokenised texts into length-sorted batches (longest first) of at most `batch_size`
/// texts and `max_tokens` padded tokens; returns each batch with the original indices.
pub fn batches(
    toks: &[Tokens],
    batch_size: usize,
    max_tokens: usize,
) -> Vec<(Vec<&Tokens>, Vec<usize>)> {
    let mut order: Vec<usize> = (0..toks.len()).collect();
    order.sort_by(|&a, &b| toks[b].ids.len().cmp(&toks[a].ids.len()).then(a.cmp(&b)));
    let mut out = Vec::new();
    let mut i = 0;
    while i < order.len() {
        let longest = toks[order[i]].ids.len().max(1);
        let fit = (max_tokens / longest).clamp(1, batch_size.max(1));
        let end = (i + fit).min(order.len());
        let idx: Vec<usize> = order[i..end].to_vec();
        out.push((idx.iter().map(|&j| &toks[j]).collect(), idx));
        i = end;
    }
    out
}
