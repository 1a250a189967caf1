//! ModernBERT as burn modules: token embeddings and a LayerNorm (no position table), then N
//! pre-norm layers: `h + Wo(attention(attn_norm(h)))` (the first layer has no attn_norm) with
//! rotary positions on queries and keys, global attention every `global_attn_every_n_layers`
//! layers and a sliding window (`local_attention`) in the others, each kind with its own rotary
//! base; then `h + Wo(gelu(input) * gate)` (GeGLU from one `Wi` projection) after mlp_norm; a
//! final LayerNorm. Biases only where the config asks for them (none by default).
//!
//! Hugging Face -> embedscope key map (a leading `model.` accepted):
//!
//! | HF key | module |
//! |---|---|
//! | `embeddings.tok_embeddings.weight` | `ModernBertModel::embeddings` |
//! | `embeddings.norm.{weight,bias}` | `ModernBertModel::embeddings_norm` |
//! | `layers.{i}.attn_norm.{weight,bias}` (not in layer 0) | `ModernLayer::attn_norm` |
//! | `layers.{i}.attn.Wqkv.{weight,bias}` (`[3 hidden, hidden]`: q, then k, then v) | `ModernLayer::qkv` |
//! | `layers.{i}.attn.Wo.{weight,bias}` | `ModernLayer::attn_out` |
//! | `layers.{i}.mlp_norm.{weight,bias}` | `ModernLayer::mlp_norm` |
//! | `layers.{i}.mlp.Wi.{weight,bias}` (`[2 intermediate, hidden]`: input, then gate) | `ModernLayer::mlp_in` |
//! | `layers.{i}.mlp.Wo.{weight,bias}` | `ModernLayer::mlp_out` |
//! | `final_norm.{weight,bias}` | `ModernBertModel::final_norm` |

use burn::module::{Module, Param};
use burn::nn::{Embedding, LayerNorm, LayerNormConfig, Linear};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};

use super::bert::{Activation, activate};
use super::weights::Weights;
use super::{BertConfig, ModelError};

#[derive(Module, Debug)]
pub struct ModernLayer {
    attn_norm: Option<LayerNorm>,
    qkv: Linear,
    attn_out: Linear,
    mlp_norm: LayerNorm,
    mlp_in: Linear,
    mlp_out: Linear,
    /// Sliding-window attention (else global).
    local: bool,
}

#[derive(Module, Debug)]
pub struct ModernBertModel {
    embeddings: Embedding,
    embeddings_norm: LayerNorm,
    layers: Vec<ModernLayer>,
    final_norm: LayerNorm,
    heads: usize,
    #[module(skip)]
    activation: Activation,
    /// Rotary bases of the global and the local layers.
    #[module(skip)]
    theta: (f64, f64),
    /// A local layer's query sees keys at most this far away.
    half_window: usize,
    cpu_kernels: bool,
}

/// Layer kinds and rotary bases from either form of the config (the `global_attn_every_n_layers`
/// / `local_attention` / `*_rope_theta` fields, or `layer_types` / `rope_parameters`).
struct Plan {
    local: Vec<bool>,
    theta: (f64, f64),
    window: usize,
}

fn plan(cfg: &BertConfig, path: &std::path::Path) -> Result<Plan, ModelError> {
    let bad = |msg: String| ModelError::Invalid(path.to_path_buf(), msg);
    let n = cfg.num_hidden_layers;
    let local = match (&cfg.layer_types, cfg.global_attn_every_n_layers) {
        (Some(types), _) => {
            if types.len() != n {
                return Err(bad(format!(
                    "layer_types has {} entries for {n} layers",
                    types.len()
                )));
            }
            types
                .iter()
                .map(|t| match t.as_str() {
                    "full_attention" => Ok(false),
                    "sliding_attention" => Ok(true),
                    other => Err(bad(format!(
                        "layer_types: \"{other}\" (expected full_attention or sliding_attention)"
                    ))),
                })
                .collect::<Result<Vec<bool>, ModelError>>()?
        }
        (None, Some(0)) => return Err(bad("global_attn_every_n_layers is 0".into())),
        (None, Some(every)) => (0..n).map(|i| i % every != 0).collect(),
        (None, None) => vec![false; n],
    };
    let rope = |kind: &str| {
        cfg.rope_parameters
            .as_ref()
            .and_then(|r| r[kind]["rope_theta"].as_f64())
    };
    let theta = (
        cfg.global_rope_theta
            .or_else(|| rope("full_attention"))
            .unwrap_or(160_000.0),
        cfg.local_rope_theta
            .or_else(|| rope("sliding_attention"))
            .unwrap_or(10_000.0),
    );
    let window = cfg.local_attention.unwrap_or(128);
    if local.iter().any(|&l| l) && window < 2 {
        return Err(bad(format!("local_attention {window}: at least 2")));
    }
    Ok(Plan {
        local,
        theta,
        window,
    })
}

fn norm(
    w: &Weights,
    name: &str,
    d: usize,
    cfg: &BertConfig,
    device: &Device,
) -> Result<LayerNorm, ModelError> {
    let mut ln = LayerNormConfig::new(d)
        .with_epsilon(cfg.layer_norm_eps)
        .init(device);
    ln.gamma = Param::from_tensor(w.tensor1(&[&format!("{name}.weight")], d, device)?);
    ln.beta = if cfg.norm_bias {
        Some(Param::from_tensor(w.tensor1(
            &[&format!("{name}.bias")],
            d,
            device,
        )?))
    } else {
        None
    };
    Ok(ln)
}

/// Rotary tables `[1, 1, len, head_dim]` (cos, sin) for positions `0..len` and base `theta`,
/// in f32 as Hugging Face computes them: `inv_freq[i] = 1 / theta^(2i / d)`, angle = position
/// x inv_freq, each half of the head using the same angles.
fn rotary(len: usize, dh: usize, theta: f64, device: &Device) -> (Tensor<4>, Tensor<4>) {
    let half = dh / 2;
    let inv: Vec<f32> = (0..half)
        .map(|i| 1.0 / (theta as f32).powf((2 * i) as f32 / dh as f32))
        .collect();
    let mut cos = Vec::with_capacity(len * dh);
    let mut sin = Vec::with_capacity(len * dh);
    for p in 0..len {
        for _ in 0..2 {
            for f in &inv {
                let a = p as f32 * f;
                cos.push(a.cos());
                sin.push(a.sin());
            }
        }
    }
    (
        Tensor::from_data(TensorData::new(cos, [1, 1, len, dh]), device),
        Tensor::from_data(TensorData::new(sin, [1, 1, len, dh]), device),
    )
}

/// `x cos + rotate_half(x) sin`, rotate_half(x) = (-x2, x1) for the two halves of each head.
fn rotate(x: Tensor<4>, cos: &Tensor<4>, sin: &Tensor<4>) -> Tensor<4> {
    let [_, _, _, dh] = x.dims();
    let half = dh / 2;
    let x1 = x.clone().narrow(3, 0, half);
    let x2 = x.clone().narrow(3, half, dh - half);
    let turned = Tensor::cat(vec![x2.neg(), x1], 3);
    x * cos.clone() + turned * sin.clone()
}

impl ModernBertModel {
    pub fn load(
        cfg: &BertConfig,
        w: &Weights,
        device: &Device,
        path: &std::path::Path,
    ) -> Result<ModernBertModel, ModelError> {
        let (h, f) = (cfg.hidden_size, cfg.intermediate_size);
        let p = plan(cfg, path)?;
        if !(h / cfg.num_attention_heads).is_multiple_of(2) {
            return Err(ModelError::Invalid(
                path.to_path_buf(),
                "the head dimension must be even for rotary positions".into(),
            ));
        }
        let embeddings = Embedding {
            weight: Param::from_tensor(w.tensor2(
                &["embeddings.tok_embeddings.weight"],
                [cfg.vocab_size, h],
                false,
                device,
            )?),
        };
        let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
        for (i, &local) in p.local.iter().enumerate() {
            let n = |part: &str| format!("layers.{i}.{part}");
            layers.push(ModernLayer {
                attn_norm: if i == 0 {
                    None
                } else {
                    Some(norm(w, &n("attn_norm"), h, cfg, device)?)
                },
                qkv: w.linear(&n("attn.Wqkv"), (h, 3 * h), cfg.attention_bias, device)?,
                attn_out: w.linear(&n("attn.Wo"), (h, h), cfg.attention_bias, device)?,
                mlp_norm: norm(w, &n("mlp_norm"), h, cfg, device)?,
                mlp_in: w.linear(&n("mlp.Wi"), (h, 2 * f), cfg.mlp_bias, device)?,
                mlp_out: w.linear(&n("mlp.Wo"), (f, h), cfg.mlp_bias, device)?,
                local,
            });
        }
        Ok(ModernBertModel {
            embeddings,
            embeddings_norm: norm(w, "embeddings.norm", h, cfg, device)?,
            layers,
            final_norm: norm(w, "final_norm", h, cfg, device)?,
            heads: cfg.num_attention_heads,
            activation: cfg.activation,
            theta: p.theta,
            half_window: p.window / 2,
            cpu_kernels: super::cpu::is_cpu(device),
        })
    }

    /// Last hidden state `[batch, len, hidden]`; row `r` holds `lens[r]` tokens followed by
    /// padding (which attention ignores).
    pub fn forward(&self, ids: Tensor<2, Int>, lens: &[usize]) -> Tensor<3> {
        let [b, l] = ids.dims();
        let device = ids.device();
        let x = self.embeddings_norm.forward(self.embeddings.forward(ids));
        let [_, _, h] = x.dims();
        let mut x: Tensor<2> = x.reshape([b * l, h]);
        let heads = self.heads;
        let dh = h / heads;
        let scale = 1.0 / (dh as f64).sqrt();
        let global = rotary(l, dh, self.theta.0, &device);
        let local = rotary(l, dh, self.theta.1, &device);
        // Additive masks: padding keys (where the CPU softmax does not read the lengths), and
        // keys outside the sliding window.
        let padded = lens.iter().any(|&n| n < l);
        let pad_bias = (padded && !self.cpu_kernels).then(|| {
            let mut m = vec![0f32; b * l];
            for (r, &n) in lens.iter().enumerate().take(b) {
                m[r * l + n.min(l)..(r + 1) * l].fill(-1e9);
            }
            Tensor::<4>::from_data(TensorData::new(m, [b, 1, 1, l]), &device)
        });
        let window = (l > self.half_window + 1).then(|| {
            let m: Vec<f32> = (0..l)
                .flat_map(|i| (0..l).map(move |j| (i, j)))
                .map(|(i, j)| {
                    if i.abs_diff(j) <= self.half_window {
                        0.0
                    } else {
                        -1e9
                    }
                })
                .collect();
            Tensor::<4>::from_data(TensorData::new(m, [1, 1, l, l]), &device)
        });
        for layer in &self.layers {
            let a = match &layer.attn_norm {
                Some(n) => n.forward(x.clone()),
                None => x.clone(),
            };
            let qkv = layer.qkv.forward(a);
            let split = |t: Tensor<2>| t.reshape([b, l, heads, dh]).swap_dims(1, 2);
            let (cos, sin) = if layer.local { &local } else { &global };
            let q = rotate(split(qkv.clone().narrow(1, 0, h)), cos, sin) * scale;
            let k = rotate(split(qkv.clone().narrow(1, h, h)), cos, sin);
            let v = split(qkv.narrow(1, 2 * h, h));
            let mut scores = q.matmul(k.swap_dims(2, 3));
            if let Some(m) = &pad_bias {
                scores = scores + m.clone();
            }
            if layer.local
                && let Some(m) = &window
            {
                scores = scores + m.clone();
            }
            let probs = if self.cpu_kernels {
                super::cpu::masked_softmax(scores, lens)
            } else {
                softmax(scores, 3)
            };
            let ctx = probs.matmul(v).swap_dims(1, 2).reshape([b * l, h]);
            x = x + layer.attn_out.forward(ctx);
            let m = layer.mlp_in.forward(layer.mlp_norm.forward(x.clone()));
            let [_, f2] = m.dims();
            let f = f2 / 2;
            let input = activate(m.clone().narrow(1, 0, f), self.activation, self.cpu_kernels);
            let gate = m.narrow(1, f, f);
            x = x + layer.mlp_out.forward(input * gate);
        }
        self.final_norm.forward(x).reshape([b, l, h])
    }
}
