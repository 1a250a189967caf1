//! The bundled demo set: GloVe 6B 50d, the 50,000 most frequent words plus 107 rarer probe words
//! (WEAT, Bolukbasi, WordSim, SimLex and analogy words). GloVe is PDDL-1.0 (Stanford NLP); see
//! `assets/demo/README.md`. Embedded in the binary so `embedscope info demo` works anywhere.

use super::{Format, FormatError, load_bytes};
use crate::core::EmbeddingSet;

/// The name that selects the demo set wherever a vector file is expected.
pub const DEMO_NAME: &str = "demo";

const FILE: &str = "glove.6B.50d.top50k_plus_probes.w2v.bin";
static BYTES: &[u8] = include_bytes!("../../assets/demo/glove.6B.50d.top50k_plus_probes.w2v.bin");

/// Whether a set is the bundled demo (by its source).
pub fn is_demo(p: &crate::core::Provenance) -> bool {
    p.source == format!("embedded:{FILE}")
}

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

/// The demo set's UMAP map, made by embedscope itself and shipped beside it so the first
/// window opens on a neighbourhood-preserving map (`assets/demo/README.md` has the command):
/// one point per row, in row order.
static MAP_BYTES: &[u8] = include_bytes!("../../assets/demo/demo.umap.f32");

/// How the shipped map was made (`embedscope project demo --method umap --metric cosine
/// --seed 1`): umap-learn's defaults otherwise.
pub const DEMO_MAP_SEED: u64 = 1;

/// The shipped UMAP map of the demo set: a position per row of `demo_set(None)`, or None when
/// the asset does not hold one (a build without it, or another row count).
pub fn demo_map(rows: usize) -> Option<Vec<[f32; 2]>> {
    if MAP_BYTES.len() != rows * 8 {
        return None;
    }
    let v: Vec<[f32; 2]> = MAP_BYTES
        .chunks_exact(8)
        .map(|c| {
            let x = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            let y = f32::from_le_bytes([c[4], c[5], c[6], c[7]]);
            [x, y]
        })
        .collect();
    v.iter()
        .all(|p| p[0].is_finite() && p[1].is_finite())
        .then_some(v)
}
