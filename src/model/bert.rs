//! The BERT-family encoder as burn modules: embeddings (word + position [+ token type],
//! LayerNorm) and N layers of self-attention (with the padding mask) and GELU feed-forward, each
//! with a residual connection and LayerNorm (post-norm, as Hugging Face's `BertModel`). RoBERTa,
//! XLM-R and CamemBERT differ only in their position ids; DistilBERT in its tensor names and
//! the missing token types (see [`Names`]).

use burn::module::{Module, Param};
use burn::nn::{Embedding, LayerNorm, LayerNormConfig, Linear};
use burn::tensor::activation::{gelu, relu, softmax};
use burn::tensor::{Device, Int, Tensor, TensorData};

use super::config::Family;
use super::weights::Weights;
use super::{BertConfig, ModelError};

/// The feed-forward activation, from `config.json`'s `hidden_act` (Hugging Face's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Activation {
    /// `gelu`: the exact GELU, x Φ(x) with the error function.
    #[default]
    Gelu,
    /// `gelu_new` or `gelu_pytorch_tanh`: the tanh approximation of GELU.
    GeluTanh,
    /// `relu`.
    Relu,
}

impl Activation {
    pub const ALL: [Activation; 3] = [Activation::Gelu, Activation::GeluTanh, Activation::Relu];

    /// The `hidden_act` name (`gelu_new` for the tanh approximation).
    pub fn name(self) -> &'static str {
        match self {
            Activation::Gelu => "gelu",
            Activation::GeluTanh => "gelu_new",
            Activation::Relu => "relu",
        }
    }
}

impl std::fmt::Display for Activation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Activation {
    type Err = String;

    /// `gelu`, `gelu_new`, `gelu_pytorch_tanh` or `relu`, as written in `config.json`.
    fn from_str(s: &str) -> Result<Activation, String> {
        match s {
            "gelu" => Ok(Activation::Gelu),
            "gelu_new" | "gelu_pytorch_tanh" => Ok(Activation::GeluTanh),
            "relu" => Ok(Activation::Relu),
            _ => Err(format!(
                "unknown hidden_act '{s}'; expected one of: gelu, gelu_new, gelu_pytorch_tanh, relu"
            )),
        }
    }
}

#[derive(Module, Debug)]
pub struct BertEmbeddings {
    word: Embedding,
    position: Embedding,
    token_type: Option<Embedding>,
    norm: LayerNorm,
}

#[derive(Module, Debug)]
pub struct BertLayer {
    query: Linear,
    key: Linear,
    value: Linear,
    attention_out: Linear,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
}

#[derive(Module, Debug)]
pub struct BertModel {
    embeddings: BertEmbeddings,
    layers: Vec<BertLayer>,
    heads: usize,
    /// Position id of a text's first token.
    position_offset: usize,
    /// MPNet's relative position bias: `[buckets, heads]`, one bucket per query-key offset.
    relative_bias: Option<Embedding>,
    buckets: usize,
    #[module(skip)]
    activation: Activation,
    /// The device is burn's CPU backend: GELU and the masked softmax use `model::cpu`'s
    /// vectorised kernels.
    cpu_kernels: bool,
}

fn layer_norm(
    w: &Weights,
    name: &str,
    d: usize,
    eps: f64,
    device: &Device,
) -> Result<LayerNorm, ModelError> {
    let mut ln = LayerNormConfig::new(d).with_epsilon(eps).init(device);
    ln.gamma = Param::from_tensor(w.tensor1(
        &[&format!("{name}.weight"), &format!("{name}.gamma")],
        d,
        device,
    )?);
    ln.beta = Some(Param::from_tensor(w.tensor1(
        &[&format!("{name}.bias"), &format!("{name}.beta")],
        d,
        device,
    )?));
    Ok(ln)
}

fn embedding(
    w: &Weights,
    name: &str,
    n: usize,
    d: usize,
    device: &Device,
) -> Result<Embedding, ModelError> {
    Ok(Embedding {
        weight: Param::from_tensor(w.tensor2(
            &[&format!("{name}.weight")],
            [n, d],
            false,
            device,
        )?),
    })
}

/// Where a family keeps each tensor (Hugging Face names, without the model prefix).
pub struct Names {
    /// Layer `i`'s prefix, e.g. `encoder.layer.{i}`.
    layer: &'static str,
    query: &'static str,
    key: &'static str,
    value: &'static str,
    attention_out: &'static str,
    attention_norm: &'static str,
    intermediate: &'static str,
    output: &'static str,
    output_norm: &'static str,
    /// The token-type table, for families that have one.
    token_type: Option<&'static str>,
    /// The relative position bias table (`[buckets, heads]`), for families that have one.
    relative_bias: Option<&'static str>,
}

impl Names {
    /// The names of a family with BERT's layer; `None` for ModernBERT (its own module).
    pub fn of(family: Family) -> Option<Names> {
        Some(match family {
            Family::ModernBert => return None,
            Family::Bert | Family::Roberta => Names {
                layer: "encoder.layer",
                query: "attention.self.query",
                key: "attention.self.key",
                value: "attention.self.value",
                attention_out: "attention.output.dense",
                attention_norm: "attention.output.LayerNorm",
                intermediate: "intermediate.dense",
                output: "output.dense",
                output_norm: "output.LayerNorm",
                token_type: Some("embeddings.token_type_embeddings"),
                relative_bias: None,
            },
            Family::DistilBert => Names {
                layer: "transformer.layer",
                query: "attention.q_lin",
                key: "attention.k_lin",
                value: "attention.v_lin",
                attention_out: "attention.out_lin",
                attention_norm: "sa_layer_norm",
                intermediate: "ffn.lin1",
                output: "ffn.lin2",
                output_norm: "output_layer_norm",
                token_type: None,
                relative_bias: None,
            },
            Family::MpNet => Names {
                layer: "encoder.layer",
                query: "attention.attn.q",
                key: "attention.attn.k",
                value: "attention.attn.v",
                attention_out: "attention.attn.o",
                attention_norm: "attention.LayerNorm",
                intermediate: "intermediate.dense",
                output: "output.dense",
                output_norm: "output.LayerNorm",
                token_type: None,
                relative_bias: Some("encoder.relative_attention_bias"),
            },
        })
    }
}

impl BertModel {
    /// Builds the model from `config.json` and the weights (every tensor checked by name and shape).
    pub fn load(cfg: &BertConfig, w: &Weights, device: &Device) -> Result<BertModel, ModelError> {
        let (h, f, eps) = (cfg.hidden_size, cfg.intermediate_size, cfg.layer_norm_eps);
        let Some(n) = Names::of(cfg.family) else {
            return Err(ModelError::Compute(format!(
                "{:?} has no BERT-style layer",
                cfg.family
            )));
        };
        let embeddings = BertEmbeddings {
            word: embedding(w, "embeddings.word_embeddings", cfg.vocab_size, h, device)?,
            position: embedding(
                w,
                "embeddings.position_embeddings",
                cfg.max_position_embeddings,
                h,
                device,
            )?,
            token_type: n
                .token_type
                .map(|name| embedding(w, name, cfg.type_vocab_size, h, device))
                .transpose()?,
            norm: layer_norm(w, "embeddings.LayerNorm", h, eps, device)?,
        };
        let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
        for i in 0..cfg.num_hidden_layers {
            let p = |part: &str| format!("{}.{i}.{part}", n.layer);
            layers.push(BertLayer {
                query: w.linear(&p(n.query), (h, h), true, device)?,
                key: w.linear(&p(n.key), (h, h), true, device)?,
                value: w.linear(&p(n.value), (h, h), true, device)?,
                attention_out: w.linear(&p(n.attention_out), (h, h), true, device)?,
                attention_norm: layer_norm(w, &p(n.attention_norm), h, eps, device)?,
                intermediate: w.linear(&p(n.intermediate), (h, f), true, device)?,
                output: w.linear(&p(n.output), (f, h), true, device)?,
                output_norm: layer_norm(w, &p(n.output_norm), h, eps, device)?,
            });
        }
        Ok(BertModel {
            embeddings,
            layers,
            heads: cfg.num_attention_heads,
            position_offset: cfg.position_offset(),
            relative_bias: n
                .relative_bias
                .map(|name| {
                    embedding(
                        w,
                        name,
                        cfg.relative_attention_num_buckets,
                        cfg.num_attention_heads,
                        device,
                    )
                })
                .transpose()?,
            buckets: cfg.relative_attention_num_buckets,
            activation: cfg.activation,
            cpu_kernels: super::cpu::is_cpu(device),
        })
    }

    fn act(&self, x: Tensor<2>) -> Tensor<2> {
        activate(x, self.activation, self.cpu_kernels)
    }

    /// Last hidden state `[batch, len, hidden]` for token ids and token types (`[batch, len]`);
    /// row `r` holds `lens[r]` tokens followed by padding (which attention ignores).
    pub fn forward(&self, ids: Tensor<2, Int>, types: Tensor<2, Int>, lens: &[usize]) -> Tensor<3> {
        let [b, l] = ids.dims();
        let device = ids.device();
        // Texts are padded at the end only, so a text's tokens have positions offset,
        // offset + 1, ... in every family (RoBERTa's count of non-padding tokens included);
        // padding positions differ from Hugging Face's but padding is masked out.
        let o = self.position_offset as i64;
        let positions = Tensor::<1, Int>::arange(o..o + l as i64, &device)
            .reshape([1, l])
            .repeat_dim(0, b);
        let e = &self.embeddings;
        let x = e.word.forward(ids) + e.position.forward(positions);
        let x = match &e.token_type {
            Some(t) => x + t.forward(types),
            None => x,
        };
        let x = e.norm.forward(x);
        let [_, _, h] = x.dims();
        // Work on [batch * len, hidden]: every Linear is then one large matrix product instead
        // of `batch` small ones, each repacking the weight.
        let mut x: Tensor<2> = x.reshape([b * l, h]);
        let heads = self.heads;
        let dh = h / heads;
        // Additive mask: 0 for tokens, a large negative number for padding. Skipped when no
        // text in the batch is padded (common after sorting by length), and on the CPU, whose
        // softmax kernel reads the lengths.
        let padded = lens.iter().any(|&n| n < l);
        let bias = (padded && !self.cpu_kernels).then(|| {
            let mut m = vec![0f32; b * l];
            for (r, &n) in lens.iter().enumerate().take(b) {
                m[r * l + n.min(l)..(r + 1) * l].fill(-1e9);
            }
            Tensor::<4>::from_data(TensorData::new(m, [b, 1, 1, l]), &device)
        });
        let scale = 1.0 / (dh as f64).sqrt();
        // MPNet: one `[1, heads, len, len]` bias for every layer, from the offset of each key
        // to each query (the positions of the padded batch, as Hugging Face computes them).
        let relative = self.relative_bias.as_ref().map(|table| {
            let ids: Vec<i64> = (0..l)
                .flat_map(|i| (0..l).map(move |j| (i, j)))
                .map(|(i, j)| relative_bucket(j as i64 - i as i64, self.buckets) as i64)
                .collect();
            let ids = Tensor::<2, Int>::from_data(TensorData::new(ids, [1, l * l]), &device);
            table
                .forward(ids)
                .reshape([l, l, heads])
                .permute([2, 0, 1])
                .reshape([1, heads, l, l])
        });
        for layer in &self.layers {
            let split = |t: Tensor<2>| t.reshape([b, l, heads, dh]).swap_dims(1, 2);
            // Scaling Q (len x head_dim) costs less than scaling the scores (len x len).
            let q = split(layer.query.forward(x.clone()) * scale);
            let k = split(layer.key.forward(x.clone()));
            let v = split(layer.value.forward(x.clone()));
            let scores = q.matmul(k.swap_dims(2, 3));
            let scores = match &relative {
                Some(r) => scores + r.clone(),
                None => scores,
            };
            let scores = match &bias {
                Some(bias) => scores + bias.clone(),
                None => scores,
            };
            let probs = if self.cpu_kernels {
                super::cpu::masked_softmax(scores, lens)
            } else {
                softmax(scores, 3)
            };
            let ctx = probs.matmul(v).swap_dims(1, 2).reshape([b * l, h]);
            let a = layer
                .attention_norm
                .forward(layer.attention_out.forward(ctx) + x);
            let f = self.act(layer.intermediate.forward(a.clone()));
            x = layer.output_norm.forward(layer.output.forward(f) + a);
        }
        x.reshape([b, l, h])
    }
}

/// The feed-forward activation of `x`; `cpu_kernels` uses `model::cpu`'s vectorised GELU.
pub(super) fn activate(x: Tensor<2>, a: Activation, cpu_kernels: bool) -> Tensor<2> {
    match a {
        Activation::Gelu if cpu_kernels => super::cpu::gelu_erf(x),
        Activation::Gelu => gelu(x),
        Activation::GeluTanh => {
            // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
            let c = (2.0f64 / std::f64::consts::PI).sqrt();
            let inner = (x.clone() + x.clone().powf_scalar(3.0) * 0.044715) * c;
            x * (inner.tanh() + 1.0) * 0.5
        }
        Activation::Relu => relu(x),
    }
}

/// MPNet's bucket of a relative position `j - i` (key minus query): `buckets / 2` buckets per
/// direction, exact up to a quarter of `buckets`, then logarithmic up to a distance of 128
/// (the last bucket beyond). Computed in f32 as Hugging Face's `relative_position_bucket`
/// does, so the boundaries fall where its buckets do.
pub fn relative_bucket(relative: i64, buckets: usize) -> usize {
    const MAX_DISTANCE: f32 = 128.0;
    let half = (buckets / 2) as i64;
    let n = -relative;
    let mut ret = if n < 0 { half } else { 0 };
    let n = n.abs();
    let max_exact = half / 2;
    ret += if n < max_exact {
        n
    } else {
        let scale = (f64::from(MAX_DISTANCE) / max_exact as f64).ln() as f32;
        let large = max_exact
            + ((n as f32 / max_exact as f32).ln() / scale * (half - max_exact) as f32) as i64;
        large.min(half - 1)
    };
    ret as usize
}

#[cfg(test)]
mod tests {
    use super::relative_bucket;

    #[test]
    fn mpnet_buckets() {
        // Keys after the query (j > i) count as negative n and use the upper half.
        let b = |r| relative_bucket(r, 32);
        assert_eq!(b(0), 0);
        assert_eq!(b(-1), 1);
        assert_eq!(b(-7), 7);
        assert_eq!(b(1), 17);
        assert_eq!(b(7), 23);
        // Logarithmic from 8 on: 8 + floor(ln(n / 8) / ln(16) * 8), at most 15.
        assert_eq!(b(-8), 8);
        assert_eq!(b(-12), 9);
        assert_eq!(b(-127), 15);
        assert_eq!(b(-500), 15);
        assert_eq!(b(500), 31);
    }
}
