//! The Word Embedding Association Test (Caliskan, Bryson and Narayanan, 2017).
//!
//! For a target word w and attribute sets A, B:
//! `s(w, A, B) = mean_a cos(w, a) - mean_b cos(w, b)`. The test statistic is
//! `S = sum_{x in X} s(x) - sum_{y in Y} s(y)` and the effect size is
//! `(mean_X s - mean_Y s) / std_{w in X u Y} s(w)` with the population standard deviation
//! (numpy's default `ddof = 0`), the convention of WEFE's `WEAT(return_effect_size=True)`.
//! Cosines are computed in f64 from the stored f32 vectors.
//!
//! The p-value is the one-sided permutation p-value of Caliskan et al.: the share of
//! partitions (X_i, Y_i) of X u Y into sets of the sizes of X and Y whose statistic is at least
//! the observed one. When the number of partitions is at most `exact_limit` every partition is
//! enumerated (the observed one included, so p >= 1 / partitions); otherwise `permutations`
//! random partitions are drawn from a seeded generator and p = (count + 1) / (N + 1).
//!
//! The 95% confidence interval of the effect size is a percentile bootstrap: each replicate
//! resamples every one of the four sets with replacement at its own size (so both the target
//! and the attribute lists' sampling is reflected) and recomputes the effect size; replicates
//! where every resampled association is equal (no spread) are left out and counted.
//! Random work is split into fixed blocks seeded from `seed` and the block index, so a seeded
//! run gives the same numbers on any number of threads.

use std::collections::HashSet;

use serde::Serialize;

use super::sets::WeatTest;
use crate::analysis::AnalysisError;
use crate::core::EmbeddingSet;

mod stats;

pub(crate) use stats::random_p;
pub use stats::{binomial_capped, effect_size, quantile_sorted};
use stats::{bootstrap_ci, permutation_p};

/// How probe words are matched to the vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CaseMode {
    /// Lowercase the words when the vocabulary has no upper-case tokens (GloVe, uncased
    /// encoders), otherwise match them as written.
    #[default]
    Auto,
    Exact,
    Lower,
}

impl std::str::FromStr for CaseMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(CaseMode::Auto),
            "exact" => Ok(CaseMode::Exact),
            "lower" => Ok(CaseMode::Lower),
            other => Err(format!("unknown case mode '{other}' (auto, exact, lower)")),
        }
    }
}

/// Which tail the permutation p-value measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Alternative {
    /// X is more associated with A than Y is (Caliskan et al.'s one-sided test).
    #[default]
    Greater,
    Less,
    TwoSided,
}

impl std::str::FromStr for Alternative {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "greater" => Ok(Alternative::Greater),
            "less" => Ok(Alternative::Less),
            "two-sided" => Ok(Alternative::TwoSided),
            other => Err(format!(
                "unknown alternative '{other}' (greater, less, two-sided)"
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeatOptions {
    /// Random partitions drawn when exact enumeration is too large.
    pub permutations: usize,
    /// Enumerate every partition when there are at most this many.
    pub exact_limit: u64,
    /// Bootstrap replicates for the confidence interval (0: no interval).
    pub bootstrap: usize,
    pub seed: u64,
    /// Largest share of a set's words that may be missing from the vocabulary (0.2 = WEFE's
    /// default `lost_vocabulary_threshold`); above it the test is refused with the list.
    pub max_missing: f64,
    pub case: CaseMode,
    pub alternative: Alternative,
    /// Accept target sets of different sizes as given (the permutation test then partitions
    /// into the given sizes). Sets that only become unequal through missing words are always
    /// accepted and reported.
    pub allow_unequal: bool,
}

impl Default for WeatOptions {
    fn default() -> Self {
        WeatOptions {
            permutations: 100_000,
            exact_limit: 1_000_000,
            bootstrap: 10_000,
            seed: 0,
            max_missing: 0.2,
            case: CaseMode::Auto,
            alternative: Alternative::Greater,
            allow_unequal: false,
        }
    }
}

/// Which of the four sets a word belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    X,
    Y,
    A,
    B,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::X, Role::Y, Role::A, Role::B];
    pub fn label(self) -> &'static str {
        match self {
            Role::X => "x",
            Role::Y => "y",
            Role::A => "a",
            Role::B => "b",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MissingWord {
    pub set: Role,
    pub word: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct SetSizes {
    pub x: usize,
    pub y: usize,
    pub a: usize,
    pub b: usize,
}

/// How the p-value was obtained.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum PValueMethod {
    /// Every partition enumerated.
    Exact { partitions: u64 },
    /// Random partitions from a seeded generator.
    Permutations { permutations: usize, seed: u64 },
}

/// One target word's association `s(w, A, B)`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Association {
    pub set: Role,
    pub word: String,
    pub s: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeatResult {
    pub test: String,
    pub effect_size: f64,
    /// The test statistic S(X, Y, A, B).
    pub statistic: f64,
    pub p_value: f64,
    pub p_value_method: PValueMethod,
    pub alternative: Alternative,
    /// Percentile bootstrap 95% interval of the effect size (NaN when no bootstrap was run).
    pub ci95: [f64; 2],
    pub bootstrap: usize,
    /// Bootstrap replicates left out because every association in them was equal.
    pub bootstrap_degenerate: usize,
    /// Words found, per set.
    pub n: SetSizes,
    pub missing: Vec<MissingWord>,
    /// The words were lowercased before lookup.
    pub lowercased: bool,
    /// Per target word `s(w, A, B)` (X first, then Y, in the lists' order).
    pub associations: Vec<Association>,
}

/// Unit vectors (f64) and labels of the four sets, ready for the statistics.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub labels: [Vec<String>; 4],
    pub vectors: [Vec<Vec<f64>>; 4],
    pub missing: Vec<MissingWord>,
    pub lowercased: bool,
}

/// Whether a vocabulary looks uncased: none of its first 20,000 tokens has an upper-case letter.
pub fn vocabulary_is_uncased(set: &EmbeddingSet) -> bool {
    set.vocab
        .iter()
        .take(20_000)
        .all(|t| !t.chars().any(char::is_uppercase))
}

/// Whether to lowercase probe words for this set under `mode`.
pub fn lowercases(set: &EmbeddingSet, mode: CaseMode) -> bool {
    match mode {
        CaseMode::Exact => false,
        CaseMode::Lower => true,
        CaseMode::Auto => vocabulary_is_uncased(set),
    }
}

fn unit_f64(v: &[f32]) -> Option<Vec<f64>> {
    let n2: f64 = v.iter().map(|&x| x as f64 * x as f64).sum();
    if !n2.is_finite() || n2 == 0.0 {
        return None;
    }
    let inv = 1.0 / n2.sqrt();
    Some(v.iter().map(|&x| x as f64 * inv).collect())
}

/// Checks the lists themselves: at least two words each, no word twice in a set, no word in
/// both targets or both attributes, equal target sizes unless allowed.
pub fn check_lists(
    test: &WeatTest,
    lists: &[Vec<String>; 4],
    allow_unequal: bool,
) -> Result<(), AnalysisError> {
    let names = [&test.x.name, &test.y.name, &test.a.name, &test.b.name];
    for (i, list) in lists.iter().enumerate() {
        let role = Role::ALL[i].label().to_uppercase();
        if list.len() < 2 {
            return Err(AnalysisError::InvalidParameter(format!(
                "{}: set {role} ('{}') has {} word{}; WEAT needs at least 2 words in each set",
                test.name,
                names[i],
                list.len(),
                if list.len() == 1 { "" } else { "s" }
            )));
        }
        let mut seen = HashSet::new();
        for w in list {
            if !seen.insert(w.as_str()) {
                return Err(AnalysisError::InvalidParameter(format!(
                    "{}: '{w}' appears twice in set {role} ('{}'); each word may appear once",
                    test.name, names[i]
                )));
            }
        }
    }
    for (p, q, what) in [
        (0, 1, "target sets X and Y"),
        (2, 3, "attribute sets A and B"),
    ] {
        let other: HashSet<&str> = lists[q].iter().map(String::as_str).collect();
        let both: Vec<&str> = lists[p]
            .iter()
            .map(String::as_str)
            .filter(|w| other.contains(w))
            .collect();
        if !both.is_empty() {
            return Err(AnalysisError::InvalidParameter(format!(
                "{}: {} share {} word{}: {}; a word can be in only one of them",
                test.name,
                what,
                both.len(),
                if both.len() == 1 { "" } else { "s" },
                both.join(", ")
            )));
        }
    }
    if !allow_unequal && lists[0].len() != lists[1].len() {
        return Err(AnalysisError::InvalidParameter(format!(
            "{}: target sets have different sizes (X '{}': {}, Y '{}': {}); WEAT's permutation \
             test compares equal-size target sets: make them equal, or allow unequal sizes \
             (--allow-unequal)",
            test.name,
            names[0],
            lists[0].len(),
            names[1],
            lists[1].len()
        )));
    }
    Ok(())
}

/// Looks the test's words up in `set` (case per `opts.case`), refusing sets with too many
/// missing words.
pub fn resolve(
    set: &EmbeddingSet,
    test: &WeatTest,
    opts: &WeatOptions,
) -> Result<Resolved, AnalysisError> {
    let lower = lowercases(set, opts.case);
    let map = |w: &String| if lower { w.to_lowercase() } else { w.clone() };
    let lists: [Vec<String>; 4] = [
        test.x.words.iter().map(map).collect(),
        test.y.words.iter().map(map).collect(),
        test.a.words.iter().map(map).collect(),
        test.b.words.iter().map(map).collect(),
    ];
    check_lists(test, &lists, opts.allow_unequal)?;
    let names = [&test.x.name, &test.y.name, &test.a.name, &test.b.name];
    let mut labels: [Vec<String>; 4] = Default::default();
    let mut vectors: [Vec<Vec<f64>>; 4] = Default::default();
    let mut missing = Vec::new();
    let mut too_many = Vec::new();
    for (i, list) in lists.iter().enumerate() {
        let mut lost = Vec::new();
        for w in list {
            match set.vector(w).and_then(unit_f64) {
                Some(v) => {
                    labels[i].push(w.clone());
                    vectors[i].push(v);
                }
                None => lost.push(w.clone()),
            }
        }
        let share = lost.len() as f64 / list.len() as f64;
        if share > opts.max_missing || list.len() - lost.len() < 2 {
            too_many.push(format!(
                "set {} ('{}') misses {} of {} words: {}",
                Role::ALL[i].label().to_uppercase(),
                names[i],
                lost.len(),
                list.len(),
                lost.join(", ")
            ));
        }
        missing.extend(lost.into_iter().map(|word| MissingWord {
            set: Role::ALL[i],
            word,
        }));
    }
    if !too_many.is_empty() {
        return Err(AnalysisError::InvalidParameter(format!(
            "{}: too many words are not in the vocabulary (or have a zero/NaN vector); at most \
             {:.0}% of a set may be missing and 2 words must remain{}: {}",
            test.name,
            opts.max_missing * 100.0,
            if lower { ", words lowercased" } else { "" },
            too_many.join("; ")
        )));
    }
    Ok(Resolved {
        labels,
        vectors,
        missing,
        lowercased: lower,
    })
}

/// Associations and the cosine table of one resolved test.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub nx: usize,
    pub ny: usize,
    pub na: usize,
    pub nb: usize,
    /// cos(target t, attribute j), targets X then Y, attributes A then B; row-major.
    pub cos: Vec<f64>,
    /// s(t, A, B) per target.
    pub s: Vec<f64>,
}

impl Prepared {
    pub fn new(r: &Resolved) -> Prepared {
        let [x, y, a, b] = &r.vectors;
        let (nx, ny, na, nb) = (x.len(), y.len(), a.len(), b.len());
        let attrs: Vec<&Vec<f64>> = a.iter().chain(b.iter()).collect();
        let mut cos = Vec::with_capacity((nx + ny) * (na + nb));
        for t in x.iter().chain(y.iter()) {
            for at in &attrs {
                cos.push(t.iter().zip(at.iter()).map(|(p, q)| p * q).sum::<f64>());
            }
        }
        let w = na + nb;
        let s = (0..nx + ny)
            .map(|t| {
                let row = &cos[t * w..(t + 1) * w];
                row[..na].iter().sum::<f64>() / na as f64
                    - row[na..].iter().sum::<f64>() / nb as f64
            })
            .collect();
        Prepared {
            nx,
            ny,
            na,
            nb,
            cos,
            s,
        }
    }

    pub fn statistic(&self) -> f64 {
        self.s[..self.nx].iter().sum::<f64>() - self.s[self.nx..].iter().sum::<f64>()
    }
}

/// Runs WEAT on resolved vectors.
pub fn run(test_name: &str, r: &Resolved, opts: &WeatOptions) -> Result<WeatResult, AnalysisError> {
    let p = Prepared::new(r);
    let effect = effect_size(&p.s, p.nx).ok_or_else(|| {
        AnalysisError::InvalidParameter(format!(
            "{test_name}: every target word has the same association with A and B, so the effect \
             size is undefined (zero spread)"
        ))
    })?;
    let (p_value, method) = permutation_p(&p.s, p.nx, opts.alternative, opts);
    let (ci95, degenerate) = bootstrap_ci(&p, opts.bootstrap, opts.seed);
    let mut associations = Vec::with_capacity(p.nx + p.ny);
    for (i, s) in p.s.iter().enumerate() {
        let (role, word) = if i < p.nx {
            (Role::X, &r.labels[0][i])
        } else {
            (Role::Y, &r.labels[1][i - p.nx])
        };
        associations.push(Association {
            set: role,
            word: word.clone(),
            s: *s,
        });
    }
    Ok(WeatResult {
        test: test_name.to_string(),
        effect_size: effect,
        statistic: p.statistic(),
        p_value,
        p_value_method: method,
        alternative: opts.alternative,
        ci95,
        bootstrap: opts.bootstrap,
        bootstrap_degenerate: degenerate,
        n: SetSizes {
            x: p.nx,
            y: p.ny,
            a: p.na,
            b: p.nb,
        },
        missing: r.missing.clone(),
        lowercased: r.lowercased,
        associations,
    })
}

/// WEAT of a bundled or user test on a word-vector set.
pub fn weat(
    set: &EmbeddingSet,
    test: &WeatTest,
    opts: &WeatOptions,
) -> Result<WeatResult, AnalysisError> {
    let r = resolve(set, test, opts)?;
    run(&test.name, &r, opts)
}

/// WEAT on vectors given directly (SEAT: the sets' sentences embedded by an encoder), one
/// vector per item of `test`'s sets in order. Zero or non-finite vectors are reported missing.
pub fn weat_on_vectors(
    test: &WeatTest,
    vectors: [Vec<Vec<f32>>; 4],
    opts: &WeatOptions,
) -> Result<WeatResult, AnalysisError> {
    let lists: [Vec<String>; 4] = [
        test.x.words.clone(),
        test.y.words.clone(),
        test.a.words.clone(),
        test.b.words.clone(),
    ];
    check_lists(test, &lists, opts.allow_unequal)?;
    let mut labels: [Vec<String>; 4] = Default::default();
    let mut out: [Vec<Vec<f64>>; 4] = Default::default();
    let mut missing = Vec::new();
    for (i, (list, vecs)) in lists.iter().zip(vectors.iter()).enumerate() {
        if list.len() != vecs.len() {
            return Err(AnalysisError::InvalidParameter(format!(
                "{}: set {} has {} items but {} vectors were given",
                test.name,
                Role::ALL[i].label().to_uppercase(),
                list.len(),
                vecs.len()
            )));
        }
        for (w, v) in list.iter().zip(vecs) {
            match unit_f64(v) {
                Some(u) => {
                    labels[i].push(w.clone());
                    out[i].push(u);
                }
                None => missing.push(MissingWord {
                    set: Role::ALL[i],
                    word: w.clone(),
                }),
            }
        }
        if out[i].len() < 2 {
            return Err(AnalysisError::InvalidParameter(format!(
                "{}: set {} has fewer than 2 usable vectors",
                test.name,
                Role::ALL[i].label().to_uppercase()
            )));
        }
    }
    let r = Resolved {
        labels,
        vectors: out,
        missing,
        lowercased: false,
    };
    run(&test.name, &r, opts)
}
