//! Bias probes with statistics: WEAT with permutation p-values and bootstrap intervals
//! (`weat`), SEAT-style sentence probes (`seat`), the Bolukbasi direction, direct bias and hard
//! debiasing (`direct`), RIPA (`ripa`), comparisons across model versions with Holm's
//! correction (`versions`), and the bundled and user word sets (`sets`).

pub mod direct;
pub mod ripa;
pub mod seat;
pub mod sets;
pub mod versions;
pub mod weat;

pub use direct::{
    BiasDirection, DebiasOptions, DebiasReport, DirectBias, Projection, direct_bias, direction,
    hard_debias, projections,
};
pub use ripa::{RipaResult, RipaWord, ripa};
pub use sets::{
    BolukbasiLists, WeatTest, WordSet, bolukbasi, caliskan_test_names, caliskan_tests, named_sets,
    parse_pairs, parse_test_file, parse_word_list, set_by_name, test_by_name,
};
pub use versions::{
    CellFailure, EffectDifference, VersionGrid, WeatGrid, across_versions, effect_difference, holm,
    weat_grid,
};
pub use weat::{
    Alternative, CaseMode, MissingWord, PValueMethod, Role, WeatOptions, WeatResult, weat,
    weat_on_vectors,
};
