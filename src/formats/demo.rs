//! The bundled demo set: GloVe 6B 50d, the 50,000 most frequent words plus 107 rarer probe words
//! (WEAT, Bolukbasi, WordSim, SimLex and analogy words). GloVe is PDDL-1.0 (Stanford NLP); see
//! `assets/demo/README.md`. Embedded in the binary so `embedscope info demo` works anywhere.

use super::{Format, FormatError, load_bytes};
use crate::core::EmbeddingSet;

/// The name that selects the demo set wherever a vector file is expected.
pub const DEMO_NAME: &str = "demo";

const FILE: &str = "glove.6B.50d.top50k_plus_probes.w2v.bin";
static BYTES: &[u8] = include_bytes!("../../assets/demo/glove.6B.50d.top50k_plus_probes.w2v.bin");

/// Loads the bundled demo set (word2vec binary, 50,107 x 50).
pub fn demo_set(limit: Option<usize>) -> Result<EmbeddingSet, FormatError> {
    let mut set = load_bytes(
        &format!("embedded:{FILE}"),
        BYTES,
        Format::Word2VecBinary,
        limit,
    )?;
    set.provenance.model_id = Some("glove.6B.50d (top 50k + probes)".to_string());
    Ok(set)
}
