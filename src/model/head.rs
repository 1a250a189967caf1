//! What turns the transformer's token states into one vector per text, on the model's device:
//! the pooling (every sentence-transformers mode, with the prompt's tokens left out when the
//! folder says so), then the Dense and Normalize modules in the folder's order.

use burn::nn::Linear;
use burn::tensor::activation::{gelu, relu, sigmoid};
use burn::tensor::{Device, Tensor, TensorData};

use super::ModelError;
use super::pipeline::{DenseActivation, DenseSpec, Pipeline, Pooling, Stage};
use super::weights::Weights;

enum Step {
    Dense(Linear, DenseActivation),
    Normalize,
}

pub struct Head {
    pooling: Pooling,
    include_prompt: bool,
    steps: Vec<Step>,
}

fn dense(spec: &DenseSpec, d_in: usize, device: &Device) -> Result<Linear, ModelError> {
    if spec.in_features != d_in {
        return Err(ModelError::Invalid(
            spec.dir.join("config.json"),
            format!(
                "in_features {} but the vectors before it have {d_in} dimensions",
                spec.in_features
            ),
        ));
    }
    let path = spec.dir.join("model.safetensors");
    if !path.is_file() {
        return Err(missing_safetensors(&spec.dir));
    }
    Weights::open_plain(&path)?.linear(
        "linear",
        (spec.in_features, spec.out_features),
        spec.bias,
        device,
    )
}

/// The error for a folder without `model.safetensors`: names a `pytorch_model.bin` when there
/// is one, and how to convert it (embedscope reads no pickled weights).
pub fn missing_safetensors(dir: &std::path::Path) -> ModelError {
    let bin = dir.join("pytorch_model.bin");
    if bin.is_file() {
        ModelError::Unsupported(
            bin,
            "weights in PyTorch's pickle format are not read (they can run code); convert them \
             to model.safetensors in the same folder, e.g. with Python: `import torch; from \
             safetensors.torch import save_file; save_file(torch.load('pytorch_model.bin'), \
             'model.safetensors')`"
                .into(),
        )
    } else {
        let path = dir.join("model.safetensors");
        // There but not a readable file (a link loop, a link to nothing, a folder): said as it is.
        let why = super::not_a_file(&path)
            .unwrap_or_else(|| "missing (weights must be in safetensors format)".into());
        ModelError::Io(path, why)
    }
}

impl Head {
    /// The pipeline's modules for a transformer of width `hidden`, their weights checked.
    pub fn load(p: &Pipeline, hidden: usize, device: &Device) -> Result<Head, ModelError> {
        let mut width = hidden;
        let mut steps = Vec::with_capacity(p.stages.len());
        for s in &p.stages {
            steps.push(match s {
                Stage::Dense(spec) => {
                    let l = dense(spec, width, device)?;
                    width = spec.out_features;
                    Step::Dense(l, spec.activation)
                }
                Stage::Normalize => Step::Normalize,
            });
        }
        Ok(Head {
            pooling: p.pooling,
            include_prompt: p.include_prompt,
            steps,
        })
    }

    /// One vector per row of `out` (`[batch, len, hidden]`): row `r` has `lens[r]` tokens, the
    /// first `prompt[r]` of them the prompt's.
    pub fn forward(&self, out: Tensor<3>, lens: &[usize], prompt: &[usize]) -> Tensor<2> {
        let [b, l, h] = out.dims();
        let device = out.device();
        // Per-token weights built on the host: the pooling is then one weighted sum (or a
        // masked maximum), the same kernels on every backend.
        let mut w = vec![0f32; b * l];
        for (r, &n) in lens.iter().enumerate().take(b) {
            let n = n.min(l);
            let from = if self.include_prompt {
                0
            } else {
                prompt.get(r).copied().unwrap_or(0).min(n)
            };
            let row = &mut w[r * l..(r + 1) * l];
            match self.pooling {
                Pooling::Mean | Pooling::MeanSqrtLen | Pooling::Max => {
                    row[from..n].fill(1.0);
                }
                Pooling::WeightedMean => {
                    for (c, x) in row.iter_mut().enumerate().take(n).skip(from) {
                        *x = (c + 1) as f32;
                    }
                }
                Pooling::Cls => row[0] = 1.0,
                Pooling::LastToken => row[n.saturating_sub(1)] = 1.0,
            }
        }
        let wt = Tensor::<2>::from_data(TensorData::new(w, [b, l]), &device);
        let w3 = wt.clone().reshape([b, l, 1]);
        let mut x = match self.pooling {
            Pooling::Max => (out + (w3 - 1.0) * 1e9).max_dim(1).reshape([b, h]),
            Pooling::Cls => out.narrow(1, 0, 1).reshape([b, h]),
            Pooling::LastToken => (out * w3).sum_dim(1).reshape([b, h]),
            Pooling::Mean | Pooling::WeightedMean => {
                let sum = (out * w3).sum_dim(1).reshape([b, h]);
                sum / wt.sum_dim(1).clamp_min(1e-9).reshape([b, 1])
            }
            Pooling::MeanSqrtLen => {
                let sum = (out * w3).sum_dim(1).reshape([b, h]);
                sum / wt.sum_dim(1).clamp_min(1e-9).sqrt().reshape([b, 1])
            }
        };
        for s in &self.steps {
            x = match s {
                Step::Dense(lin, act) => {
                    let y = lin.forward(x);
                    match act {
                        DenseActivation::Identity => y,
                        DenseActivation::Tanh => y.tanh(),
                        DenseActivation::Relu => relu(y),
                        DenseActivation::Sigmoid => sigmoid(y),
                        DenseActivation::Gelu => gelu(y),
                    }
                }
                Step::Normalize => {
                    let norm = x
                        .clone()
                        .powf_scalar(2.0)
                        .sum_dim(1)
                        .sqrt()
                        .clamp_min(1e-12);
                    x / norm
                }
            };
        }
        x
    }
}
