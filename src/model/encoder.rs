//! A model folder as a text encoder: tokenizer + BERT + the sentence-transformers pipeline
//! (pooling, normalisation), run in length-sorted, padded batches.

use std::path::{Path, PathBuf};

use burn::tensor::{Device, Int, Tensor, TensorData};
use tokenizers::{
    PaddingParams, Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy,
};

use super::ModelError;
use super::bert::BertModel;
use super::config::{BertConfig, Pipeline, Pooling};
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
    model: BertModel,
    device: Device,
    pad_id: u32,
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
        let mut tokenizer = Tokenizer::from_file(&tok_path)
            .map_err(|e| ModelError::Tokenizer(tok_path.clone(), e.to_string()))?;
        let tok_json: serde_json::Value = std::fs::read_to_string(&tok_path)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
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
        let wpath = dir.join("model.safetensors");
        if !wpath.is_file() {
            return Err(ModelError::Io(
                wpath,
                "missing (weights must be in safetensors format)".into(),
            ));
        }
        let weights = Weights::open(&wpath)?;
        let model = BertModel::load(&config, &weights, device)?;
        Ok(Encoder {
            dir: dir.to_path_buf(),
            config,
            pipeline,
            max_len,
            weights_sha256: weights.sha256.clone(),
            tokenizer_sha256: sha256_file(&tok_path)?,
            lowercase,
            tokenizer,
            model,
            device: device.clone(),
            pad_id,
        })
    }

    pub fn dim(&self) -> usize {
        self.config.hidden_size
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    pub fn tokenize(&self, texts: &[&str]) -> Result<Vec<Tokens>, ModelError> {
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
        let mut mask = vec![0f32; b * l];
        for (r, t) in batch.iter().enumerate() {
            for (c, (&id, &ty)) in t.ids.iter().zip(&t.types).enumerate() {
                ids[r * l + c] = i64::from(id);
                types[r * l + c] = i64::from(ty);
                mask[r * l + c] = 1.0;
            }
        }
        let d = &self.device;
        let ids = Tensor::<2, Int>::from_data(TensorData::new(ids, [b, l]), d);
        let types = Tensor::<2, Int>::from_data(TensorData::new(types, [b, l]), d);
        let mask_t = Tensor::<2>::from_data(TensorData::new(mask.clone(), [b, l]), d);
        let lens: Vec<usize> = batch.iter().map(|t| t.ids.len()).collect();
        let out = self.model.forward(ids, types, &lens);
        let h = self.dim();
        let m3 = mask_t.clone().reshape([b, l, 1]);
        let pooled = match self.pipeline.pooling {
            Pooling::Mean => {
                let sum = (out.clone() * m3.clone()).sum_dim(1).reshape([b, h]);
                let count = mask_t.sum_dim(1).clamp_min(1e-9).reshape([b, 1]);
                sum / count
            }
            Pooling::Cls => out.clone().narrow(1, 0, 1).reshape([b, h]),
            Pooling::Max => (out.clone() + (m3 - 1.0) * 1e9).max_dim(1).reshape([b, h]),
        };
        let pooled = if self.pipeline.normalize {
            let norm = pooled
                .clone()
                .powf_scalar(2.0)
                .sum_dim(1)
                .sqrt()
                .clamp_min(1e-12);
            pooled / norm
        } else {
            pooled
        };
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
                pooled: pv[r * h..(r + 1) * h].to_vec(),
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
