//! Semantic search: a query encoded with the model a set was encoded with (its folder as the
//! set's encoding record names it, checked by the weights' sha256; the folder's `query` prompt
//! where it defines one) and the set's rows ranked by cosine similarity to it, exactly.

use std::path::{Path, PathBuf};

use burn::tensor::Device;

use super::EngineError;
use crate::analysis::knn::{KnnIndex, Metric, Neighbor, TopN};
use crate::core::EmbeddingSet;
use crate::model::Encoder;
use crate::model::encoder::PromptChoice;

/// Why a set cannot be searched by meaning with a model folder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryModelError {
    #[error(
        "the set records no model folder (it was not encoded by embedscope, or its encoding \
         record is missing): give the folder it was encoded with"
    )]
    NoModel,
    #[error(
        "the model folder {recorded} that the set was encoded with is not there any more: give \
         the folder it was encoded with"
    )]
    Gone { recorded: PathBuf },
    #[error(
        "{dir} holds other weights (sha256 {found}) than the set was encoded with (sha256 \
         {expected}, {recorded}): its queries would be vectors of another model"
    )]
    OtherWeights {
        dir: PathBuf,
        recorded: String,
        expected: String,
        found: String,
    },
    #[error("{dir} is not a folder")]
    NotAFolder { dir: PathBuf },
    #[error("{dir} gives {found}-dimensional vectors, the set has {expected}")]
    OtherDim {
        dir: PathBuf,
        found: usize,
        expected: usize,
    },
}

/// The model a set's queries are encoded with, ready to encode.
pub struct QueryEncoder {
    pub encoder: Encoder,
    /// What was checked and chosen (the folder, the sha256 check, the prompt), for the output.
    pub notes: Vec<String>,
}

/// The folder a set was encoded with (its record), or `given`; checked before anything loads.
pub fn model_folder(set: &EmbeddingSet, given: Option<&Path>) -> Result<PathBuf, QueryModelError> {
    let recorded = set.provenance.encoding_fact("model").map(PathBuf::from);
    match (given, recorded) {
        (Some(dir), _) if dir.is_dir() => Ok(dir.to_path_buf()),
        (Some(dir), _) => Err(QueryModelError::NotAFolder {
            dir: dir.to_path_buf(),
        }),
        (None, Some(r)) if r.is_dir() => Ok(r),
        (None, Some(recorded)) => Err(QueryModelError::Gone { recorded }),
        (None, None) => Err(QueryModelError::NoModel),
    }
}

impl QueryEncoder {
    /// Loads the folder a set's queries are encoded with: `given`, else the one its encoding
    /// record names. Its weights must be the ones the set was encoded with (sha256), when the
    /// record says which; the pooling and truncation the record names are used.
    pub fn for_set(
        set: &EmbeddingSet,
        given: Option<&Path>,
        device: &Device,
    ) -> Result<QueryEncoder, EngineError> {
        let dir = model_folder(set, given)?;
        let p = &set.provenance;
        let pooling = p.encoding_fact("pooling").and_then(|s| s.parse().ok());
        let mut encoder = Encoder::load(&dir, device, pooling)?;
        let mut notes = vec![format!("model {}", dir.display())];
        match p.encoding_fact("weights_sha256") {
            Some(expected) if expected != encoder.weights_sha256 => {
                return Err(QueryModelError::OtherWeights {
                    dir,
                    recorded: p.encoding_fact("model").unwrap_or("?").to_string(),
                    expected: expected.to_string(),
                    found: encoder.weights_sha256.clone(),
                }
                .into());
            }
            Some(_) => notes.push("weights sha256 match the set's encoding record".into()),
            None => notes
                .push("the set records no weights sha256: the folder could not be checked".into()),
        }
        if let Some(t) = p.encoding_fact("truncate_dim").and_then(|t| t.parse().ok()) {
            encoder.set_truncate_dim(Some(t))?;
        }
        // Queries take the folder's `query` prompt when it has one (retrieval models), else
        // its default prompt, as sentence-transformers does.
        let choice = if encoder.pipeline.prompts.contains_key("query") {
            PromptChoice::Named("query".into())
        } else {
            PromptChoice::FolderDefault
        };
        encoder.set_prompt(&choice)?;
        if let Some(pr) = encoder.prompt() {
            notes.push(format!(
                "query prompt {:?}{}",
                pr.text,
                pr.name
                    .as_ref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            ));
        }
        if encoder.dim() != set.dim() {
            return Err(QueryModelError::OtherDim {
                found: encoder.dim(),
                expected: set.dim(),
                dir,
            }
            .into());
        }
        Ok(QueryEncoder { encoder, notes })
    }

    /// The query's vector.
    pub fn encode(&self, query: &str) -> Result<Vec<f32>, EngineError> {
        let mut v = self.encoder.encode(&[query], 1, 1 << 16)?;
        v.pop()
            .ok_or_else(|| EngineError::Output("the encoder returned no vector".into()))
    }
}

/// The `k` rows most similar to a query vector by cosine, best first (ties: the lower row).
pub fn rank(index: &KnnIndex, query: &[f32], k: usize) -> Result<Vec<Neighbor>, EngineError> {
    TopN::check(k)?;
    let q = index.vector_query(query, Metric::Cosine)?;
    let mut out = index.search(&[q], k.min(index.set().rows().max(1)), Metric::Cosine, None)?;
    Ok(out.pop().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Matrix, Metadata, Provenance, Vocab};

    fn set(model: Option<&str>) -> EmbeddingSet {
        let mut p = Provenance::default();
        if let Some(m) = model {
            p.encoding.insert("model".into(), m.into());
        }
        EmbeddingSet::new(
            Vocab::from_unique(["d0", "d1", "d2"]).expect("vocab"),
            Matrix::from_vec(3, 2, vec![1.0, 0.0, 0.0, 1.0, 0.7, 0.7]).expect("matrix"),
            Metadata::new(),
            p,
        )
        .expect("set")
    }

    #[test]
    fn the_folder_is_the_recorded_one_unless_given_and_must_exist() {
        assert_eq!(
            model_folder(&set(None), None),
            Err(QueryModelError::NoModel)
        );
        let gone = model_folder(&set(Some("/nonexistent/model")), None).unwrap_err();
        assert!(gone.to_string().contains("/nonexistent/model"), "{gone}");
        assert!(matches!(gone, QueryModelError::Gone { .. }));
        let dir = tempfile::tempdir().expect("dir");
        let s = set(Some(&dir.path().display().to_string()));
        assert_eq!(model_folder(&s, None).unwrap(), dir.path());
        let other = tempfile::tempdir().expect("dir");
        assert_eq!(model_folder(&s, Some(other.path())).unwrap(), other.path());
        // A given folder must be there too.
        assert_eq!(
            model_folder(&s, Some(Path::new("/nonexistent/other"))),
            Err(QueryModelError::NotAFolder {
                dir: "/nonexistent/other".into()
            })
        );
    }

    #[test]
    fn ranking_is_by_cosine_best_first() {
        let s = set(None);
        let ix = KnnIndex::new(&s);
        let r = rank(&ix, &[1.0, 0.1], 2).expect("rank");
        assert_eq!(r.iter().map(|n| n.index).collect::<Vec<_>>(), [0, 2]);
        assert!(r[0].score > r[1].score);
        // k above the row count gives every row.
        assert_eq!(rank(&ix, &[1.0, 0.1], 10).expect("rank").len(), 3);
        assert!(rank(&ix, &[1.0], 2).is_err(), "dimension checked");
        assert!(rank(&ix, &[0.0, 0.0], 2).is_err(), "zero query refused");
    }
}
