//! Reading `model.safetensors` (F32, F16 or BF16) into burn tensors, with errors that name the
//! tensor and the expected shape.
//!
//! Hugging Face -> embedscope key map for BERT, RoBERTa, XLM-R and CamemBERT (a leading
//! `bert.` or `roberta.` is accepted; old `gamma`/`beta` LayerNorm names too):
//!
//! | HF key | module |
//! |---|---|
//! | `embeddings.{word,position,token_type}_embeddings.weight` | `BertEmbeddings::{word,position,token_type}` |
//! | `embeddings.LayerNorm.{weight,bias}` | `BertEmbeddings::norm` |
//! | `encoder.layer.{i}.attention.self.{query,key,value}.{weight,bias}` | `BertLayer::{query,key,value}` (weights transposed: burn stores `[in, out]`) |
//! | `encoder.layer.{i}.attention.output.dense.{weight,bias}` | `BertLayer::attention_out` |
//! | `encoder.layer.{i}.attention.output.LayerNorm.{weight,bias}` | `BertLayer::attention_norm` |
//! | `encoder.layer.{i}.intermediate.dense.{weight,bias}` | `BertLayer::intermediate` |
//! | `encoder.layer.{i}.output.dense.{weight,bias}` | `BertLayer::output` |
//! | `encoder.layer.{i}.output.LayerNorm.{weight,bias}` | `BertLayer::output_norm` |
//! | `pooler.*` | not used (sentence embeddings pool the last hidden state) |
//!
//! DistilBERT (a leading `distilbert.` accepted): the same embeddings without
//! `token_type_embeddings`, and per layer `transformer.layer.{i}.attention.{q_lin,k_lin,v_lin,out_lin}`,
//! `sa_layer_norm`, `ffn.lin1`, `ffn.lin2`, `output_layer_norm` for query/key/value,
//! attention_out, attention_norm, intermediate, output and output_norm.
//!
//! MPNet (a leading `mpnet.` accepted): embeddings without token types; per layer
//! `encoder.layer.{i}.attention.attn.{q,k,v,o}`, `attention.LayerNorm`, `intermediate.dense`,
//! `output.dense`, `output.LayerNorm`; `encoder.relative_attention_bias.weight`
//! (`[buckets, heads]`) shared by all layers.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use burn::module::Param;
use burn::nn::Linear;
use burn::tensor::{Device, Tensor, TensorData};
use half::{bf16, f16};
use memmap2::Mmap;
use safetensors::{Dtype, SafeTensors};

use super::ModelError;

pub struct Weights {
    path: PathBuf,
    map: Arc<Mmap>,
    prefix: String,
    /// sha256 of the file (provenance).
    pub sha256: String,
}

impl Weights {
    /// A safetensors file whose tensors are named as they are (e.g. a Dense module's).
    pub fn open_plain(path: &Path) -> Result<Weights, ModelError> {
        let f = std::fs::File::open(path).map_err(|e| ModelError::io(path, e))?;
        // Truncated while mapped: a message naming the file, not a silent SIGBUS (see
        // `core::map_readonly`).
        let map = crate::core::map_readonly(&f, path).map_err(|e| ModelError::io(path, e))?;
        SafeTensors::deserialize(&map).map_err(|e| {
            ModelError::Invalid(
                path.to_path_buf(),
                format!("not a valid safetensors file: {e}"),
            )
        })?;
        let sha256 = crate::core::hash::sha256_hex(&map[..]);
        Ok(Weights {
            path: path.to_path_buf(),
            map: Arc::new(map),
            prefix: String::new(),
            sha256,
        })
    }

    /// An encoder's weights: the tensors under the encoder's prefix, if any.
    pub fn open(path: &Path) -> Result<Weights, ModelError> {
        let mut w = Weights::open_plain(path)?;
        let st = SafeTensors::deserialize(&w.map)
            .map_err(|e| ModelError::Invalid(path.to_path_buf(), e.to_string()))?;
        let names = st.names();
        // Checkpoints saved from a task model nest the encoder under its name.
        let Some(prefix) = ["", "bert.", "roberta.", "distilbert.", "mpnet.", "model."]
            .into_iter()
            .find(|p| {
                ["word_embeddings", "tok_embeddings"].iter().any(|table| {
                    let key = format!("{p}embeddings.{table}.weight");
                    names.iter().any(|n| **n == key)
                })
            })
        else {
            return Err(ModelError::Invalid(
                path.to_path_buf(),
                "no embeddings tensors (embeddings.word_embeddings.weight, or ModernBERT's \
                 embeddings.tok_embeddings.weight, optionally under bert., roberta., \
                 distilbert., mpnet. or model.)"
                    .into(),
            ));
        };
        w.prefix = prefix.to_string();
        Ok(w)
    }

    /// A tensor as f32 values with its shape checked against `shape`.
    fn values(&self, key: &str, shape: &[usize]) -> Result<Vec<f32>, ModelError> {
        let st = SafeTensors::deserialize(&self.map)
            .map_err(|e| ModelError::Invalid(self.path.clone(), e.to_string()))?;
        let full = format!("{}{key}", self.prefix);
        let t = st.tensor(&full).map_err(|_| {
            ModelError::Tensor(
                self.path.clone(),
                full.clone(),
                format!("missing (expected shape {shape:?})"),
            )
        })?;
        if t.shape() != shape {
            return Err(ModelError::Tensor(
                self.path.clone(),
                full,
                format!("shape {:?}, expected {shape:?}", t.shape()),
            ));
        }
        let b = t.data();
        Ok(match t.dtype() {
            Dtype::F32 => b
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            Dtype::F16 => b
                .chunks_exact(2)
                .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            Dtype::BF16 => b
                .chunks_exact(2)
                .map(|c| bf16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            other => {
                return Err(ModelError::Tensor(
                    self.path.clone(),
                    full,
                    format!("dtype {other:?}: expected F32, F16 or BF16"),
                ));
            }
        })
    }

    /// First available of several names (old checkpoints call LayerNorm parameters gamma/beta).
    fn values_any(&self, keys: &[&str], shape: &[usize]) -> Result<Vec<f32>, ModelError> {
        let mut first_err = None;
        for k in keys {
            match self.values(k, shape) {
                Ok(v) => return Ok(v),
                Err(e) => {
                    let missing =
                        matches!(&e, ModelError::Tensor(_, _, m) if m.starts_with("missing"));
                    if !missing {
                        return Err(e);
                    }
                    first_err.get_or_insert(e);
                }
            }
        }
        Err(first_err.unwrap_or_else(|| ModelError::Compute("no key".into())))
    }

    pub fn tensor1(
        &self,
        keys: &[&str],
        n: usize,
        device: &Device,
    ) -> Result<Tensor<1>, ModelError> {
        let v = self.values_any(keys, &[n])?;
        Ok(Tensor::from_data(TensorData::new(v, [n]), device))
    }

    /// A 2-D tensor; `transpose` turns PyTorch's `[out, in]` Linear weight into burn's `[in, out]`.
    pub fn tensor2(
        &self,
        keys: &[&str],
        shape: [usize; 2],
        transpose: bool,
        device: &Device,
    ) -> Result<Tensor<2>, ModelError> {
        let v = self.values_any(keys, &shape)?;
        let t = Tensor::from_data(TensorData::new(v, shape), device);
        Ok(if transpose { t.transpose() } else { t })
    }

    /// A linear layer from `{name}.weight` (`[d_out, d_in]`, PyTorch's layout) and, when `bias`,
    /// `{name}.bias`.
    pub fn linear(
        &self,
        name: &str,
        (d_in, d_out): (usize, usize),
        bias: bool,
        device: &Device,
    ) -> Result<Linear, ModelError> {
        let weight = self.tensor2(&[&format!("{name}.weight")], [d_out, d_in], true, device)?;
        let bias = if bias {
            Some(Param::from_tensor(self.tensor1(
                &[&format!("{name}.bias")],
                d_out,
                device,
            )?))
        } else {
            None
        };
        Ok(Linear {
            weight: Param::from_tensor(weight),
            bias,
        })
    }
}
