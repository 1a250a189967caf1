//! What a drift run computes and how: [`DriftParams`] as the CLI and the app build them, checked
//! once by [`DriftParams::check`] into [`ValidDriftParams`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::analysis::AnalysisError;

/// One drift test. The order of the variants is the order of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftMethod {
    /// Euclidean distance between the two centroids.
    DistanceEuclidean,
    /// Cosine distance (1 - cos) between the two centroids.
    DistanceCosine,
    /// Unbiased MMD^2 with an RBF kernel (gamma from the median R x C distance), floored at 0.
    Mmd,
    /// ROC AUC of a logistic-regression domain classifier on held-out rows.
    Classifier,
    /// Share of dimensions whose normalised Wasserstein-1 distance is at least the component
    /// threshold.
    Ratio,
    /// Energy distance (V-statistic).
    Energy,
}

impl DriftMethod {
    /// Every method, in report order.
    pub const ALL: [DriftMethod; 6] = [
        DriftMethod::DistanceEuclidean,
        DriftMethod::DistanceCosine,
        DriftMethod::Mmd,
        DriftMethod::Classifier,
        DriftMethod::Ratio,
        DriftMethod::Energy,
    ];

    /// The name used on the command line and as the report's key.
    pub fn name(self) -> &'static str {
        match self {
            DriftMethod::DistanceEuclidean => "distance_euclidean",
            DriftMethod::DistanceCosine => "distance_cosine",
            DriftMethod::Mmd => "mmd",
            DriftMethod::Classifier => "classifier",
            DriftMethod::Ratio => "ratio",
            DriftMethod::Energy => "energy",
        }
    }

    /// A comma-separated list of names, or `all`.
    pub fn parse_list(s: &str) -> Result<Vec<DriftMethod>, AnalysisError> {
        if s.trim() == "all" {
            return Ok(DriftMethod::ALL.to_vec());
        }
        s.split(',').map(|p| p.trim().parse()).collect()
    }
}

impl fmt::Display for DriftMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DriftMethod {
    type Err = AnalysisError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DriftMethod::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                AnalysisError::InvalidParameter(format!(
                    "unknown drift method {s:?}: choose from {} (or all)",
                    DriftMethod::ALL.map(DriftMethod::name).join(", ")
                ))
            })
    }
}

/// The score above which a method says `drift`. `None`: the (1 - alpha) point of the method's
/// own permutation distribution, i.e. the smallest score whose p-value is below alpha.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Thresholds {
    pub distance_euclidean: Option<f64>,
    pub distance_cosine: Option<f64>,
    pub mmd: Option<f64>,
    pub classifier: Option<f64>,
    pub ratio: Option<f64>,
    pub energy: Option<f64>,
    /// A dimension counts as drifted for `ratio` when its Wasserstein-1 distance divided by the
    /// reference's population standard deviation (floored at 0.001) is at least this.
    pub ratio_component: f64,
}

impl Default for Thresholds {
    /// Evidently's defaults (legacy `embedding_drift_methods`) where it has one; energy, which
    /// Evidently lacks, by its permutation distribution.
    fn default() -> Self {
        Thresholds {
            distance_euclidean: Some(0.2),
            distance_cosine: Some(0.2),
            mmd: Some(0.015),
            classifier: Some(0.55),
            ratio: Some(0.2),
            energy: None,
            ratio_component: 0.1,
        }
    }
}

impl Thresholds {
    pub fn get(&self, m: DriftMethod) -> Option<f64> {
        match m {
            DriftMethod::DistanceEuclidean => self.distance_euclidean,
            DriftMethod::DistanceCosine => self.distance_cosine,
            DriftMethod::Mmd => self.mmd,
            DriftMethod::Classifier => self.classifier,
            DriftMethod::Ratio => self.ratio,
            DriftMethod::Energy => self.energy,
        }
    }
}

/// The domain classifier: L2-regularised logistic regression on standardised features.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClassifierParams {
    /// Inverse regularisation strength, as scikit-learn's `C`: the fit minimises
    /// `sum(log loss) + |w|^2 / (2 C)` (intercept not penalised).
    pub c: f64,
    /// Share of each side's rows held out to score the classifier (stratified).
    pub test_share: f64,
    /// Newton iterations at most.
    pub max_iter: usize,
}

impl Default for ClassifierParams {
    fn default() -> Self {
        ClassifierParams {
            c: 1.0,
            test_share: 0.5,
            max_iter: 100,
        }
    }
}

/// A drift run's parameters as the CLI and the app give them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DriftParams {
    /// Methods to run (any order; the report lists them in [`DriftMethod::ALL`] order).
    pub methods: Vec<DriftMethod>,
    /// Project both sides onto this many principal components of the pooled rows first.
    pub pca: Option<usize>,
    /// Seeds every random choice: samples, the classifier's split, the permutations.
    pub seed: u64,
    /// Permutations per test (the p-value is `(b + 1) / (permutations + 1)`).
    pub permutations: usize,
    /// Rows of each side at most in MMD and energy (a seeded sample above it).
    pub kernel_sample: usize,
    /// Rows of each side at most behind MMD's median distance (Evidently: 1,000).
    pub median_sample: usize,
    /// Significance level of `significant` and of permutation thresholds.
    pub alpha: f64,
    pub thresholds: Thresholds,
    pub classifier: ClassifierParams,
}

impl Default for DriftParams {
    fn default() -> Self {
        DriftParams {
            methods: DriftMethod::ALL.to_vec(),
            pca: None,
            seed: 0,
            permutations: 1000,
            kernel_sample: 5000,
            median_sample: 1000,
            alpha: 0.05,
            thresholds: Thresholds::default(),
            classifier: ClassifierParams::default(),
        }
    }
}

impl DriftParams {
    /// Most permutations a run may ask for.
    pub const MAX_PERMUTATIONS: usize = 100_000;
    /// Most rows per side in MMD and energy (their cost grows with the square).
    pub const MAX_KERNEL_SAMPLE: usize = 20_000;
    /// Most rows per side behind the median distance.
    pub const MAX_MEDIAN_SAMPLE: usize = 5_000;
    /// Fewest rows per side a drift test runs on.
    pub const MIN_ROWS: usize = 10;

    /// Checks every parameter (the data's own checks come when the run starts).
    pub fn check(&self) -> Result<ValidDriftParams, AnalysisError> {
        let bad = |m: String| Err(AnalysisError::InvalidParameter(m));
        if self.methods.is_empty() {
            return bad("no drift method chosen".into());
        }
        let mut methods = self.methods.clone();
        methods.sort();
        if let Some(w) = methods.windows(2).find(|w| w[0] == w[1]) {
            return bad(format!("drift method {} is listed twice", w[0]));
        }
        if self.pca == Some(0) {
            return bad("--pca 0: PCA needs at least one component".into());
        }
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return bad(format!("alpha must lie in (0, 1), not {}", self.alpha));
        }
        // The smallest p-value is 1 / (B + 1): it must fall below alpha.
        let min_perm = min_permutations(self.alpha);
        if self.permutations < min_perm || self.permutations > Self::MAX_PERMUTATIONS {
            return bad(format!(
                "permutations must be between {min_perm} (the fewest whose smallest p-value, \
                 1 / (permutations + 1), is below alpha {}) and {}, not {}",
                self.alpha,
                Self::MAX_PERMUTATIONS,
                self.permutations
            ));
        }
        if !(Self::MIN_ROWS..=Self::MAX_KERNEL_SAMPLE).contains(&self.kernel_sample) {
            return bad(format!(
                "the MMD/energy sample must be {} to {} rows per side, not {}",
                Self::MIN_ROWS,
                Self::MAX_KERNEL_SAMPLE,
                self.kernel_sample
            ));
        }
        if !(Self::MIN_ROWS..=Self::MAX_MEDIAN_SAMPLE).contains(&self.median_sample) {
            return bad(format!(
                "the median-distance sample must be {} to {} rows per side, not {}",
                Self::MIN_ROWS,
                Self::MAX_MEDIAN_SAMPLE,
                self.median_sample
            ));
        }
        let t = &self.thresholds;
        for m in DriftMethod::ALL {
            if let Some(v) = t.get(m)
                && !v.is_finite()
            {
                return bad(format!(
                    "the {m} threshold must be a finite number, not {v}"
                ));
            }
        }
        if !(t.ratio_component.is_finite() && t.ratio_component > 0.0) {
            return bad(format!(
                "the ratio method's component threshold must be positive, not {}",
                t.ratio_component
            ));
        }
        let c = &self.classifier;
        if !(c.c.is_finite() && c.c > 0.0) {
            return bad(format!("the classifier's C must be positive, not {}", c.c));
        }
        if !(c.test_share >= 0.1 && c.test_share <= 0.9) {
            return bad(format!(
                "the classifier's test share must be between 0.1 and 0.9, not {}",
                c.test_share
            ));
        }
        if !(1..=1000).contains(&c.max_iter) {
            return bad(format!(
                "the classifier's iterations must be 1 to 1000, not {}",
                c.max_iter
            ));
        }
        let mut p = self.clone();
        p.methods = methods;
        Ok(ValidDriftParams(p))
    }
}

/// The fewest permutations `b` with `1 / (b + 1) < alpha` (20 for alpha 0.05).
pub fn min_permutations(alpha: f64) -> usize {
    let mut b = ((1.0 / alpha).floor() as usize).max(1);
    while 1.0 / (b as f64 + 1.0) >= alpha {
        b += 1;
    }
    while b > 1 && 1.0 / (b as f64) < alpha {
        b -= 1;
    }
    b
}

/// Parameters that passed [`DriftParams::check`] (methods sorted into report order).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct ValidDriftParams(DriftParams);

impl ValidDriftParams {
    pub fn get(&self) -> &DriftParams {
        &self.0
    }

    pub fn runs(&self, m: DriftMethod) -> bool {
        self.0.methods.contains(&m)
    }
}
