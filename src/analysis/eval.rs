//! Evaluation benchmarks with gensim's semantics: analogy accuracy on `questions-words.txt`
//! style files (`evaluate_word_analogies`) and word-pair similarity correlation on
//! WordSim-353 / SimLex-999 / MEN style files (`evaluate_word_pairs`).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::Serialize;

use super::analogy::{Method, cosmul_batch};
use super::error::AnalysisError;
use super::knn::{KnnIndex, Metric, Query, unit};
use super::stats::{Correlation, pearson, spearman};

/// gensim's default `restrict_vocab`.
pub const DEFAULT_RESTRICT_VOCAB: usize = 300_000;

fn read_text(path: &Path) -> Result<String, AnalysisError> {
    let bytes = std::fs::read(path).map_err(|e| AnalysisError::Io {
        path: path.display().to_string(),
        msg: e.to_string(),
    })?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[derive(Debug, Clone, PartialEq)]
pub struct AnalogySection {
    pub name: String,
    /// (a, b, c, expected) and the 1-based line.
    pub questions: Vec<([String; 4], u64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AnalogySet {
    pub sections: Vec<AnalogySection>,
    /// Lines that are not 4 words (skipped, as gensim does).
    pub skipped_lines: Vec<u64>,
}

impl AnalogySet {
    /// Reads a `questions-words.txt` style file (`: section` lines, then `a b c d` lines).
    pub fn read(path: &Path) -> Result<AnalogySet, AnalysisError> {
        Self::parse(&path.display().to_string(), &read_text(path)?)
    }

    /// Parses the text of an analogy file; `name` is used in error messages.
    pub fn parse(name: &str, text: &str) -> Result<AnalogySet, AnalysisError> {
        let mut sections: Vec<AnalogySection> = Vec::new();
        let mut skipped = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let no = i as u64 + 1;
            if let Some(name) = line.strip_prefix(": ") {
                sections.push(AnalogySection {
                    name: name.trim().to_string(),
                    questions: Vec::new(),
                });
                continue;
            }
            let Some(sec) = sections.last_mut() else {
                if line.trim().is_empty() {
                    continue;
                }
                return Err(AnalysisError::BadInput {
                    path: name.to_string(),
                    line: no,
                    msg: "question before the first \": section\" line".into(),
                });
            };
            let w: Vec<&str> = line.split_whitespace().collect();
            match w.as_slice() {
                [a, b, c, d] => sec.questions.push((
                    [a.to_string(), b.to_string(), c.to_string(), d.to_string()],
                    no,
                )),
                _ => skipped.push(no),
            }
        }
        if sections.is_empty() {
            return Err(AnalysisError::BadInput {
                path: name.to_string(),
                line: 1,
                msg: "no \": section\" line: not an analogy file".into(),
            });
        }
        Ok(AnalogySet {
            sections,
            skipped_lines: skipped,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnalogyOptions {
    pub restrict_vocab: usize,
    pub case_insensitive: bool,
    pub method: Method,
    /// Count questions with unknown words as incorrect (gensim's `dummy4unknown`).
    pub dummy4unknown: bool,
}

impl Default for AnalogyOptions {
    fn default() -> Self {
        AnalogyOptions {
            restrict_vocab: DEFAULT_RESTRICT_VOCAB,
            case_insensitive: true,
            method: Method::Add,
            dummy4unknown: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SectionScore {
    pub section: String,
    pub correct: u64,
    pub incorrect: u64,
    /// correct / (correct + incorrect); None when the section had no usable question.
    pub accuracy: Option<f64>,
}

impl SectionScore {
    fn new(section: String, correct: u64, incorrect: u64) -> Self {
        let n = correct + incorrect;
        SectionScore {
            section,
            correct,
            incorrect,
            accuracy: (n > 0).then(|| correct as f64 / n as f64),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnalogyReport {
    pub method: &'static str,
    pub restrict_vocab: usize,
    pub case_insensitive: bool,
    pub dummy4unknown: bool,
    pub sections: Vec<SectionScore>,
    pub total: SectionScore,
    pub questions: u64,
    pub oov_questions: u64,
    /// Percent of questions with a word outside the (restricted) vocabulary.
    pub oov_percent: f64,
    pub skipped_lines: u64,
    /// Per question, in file order (section headers and skipped lines excluded).
    #[serde(skip)]
    pub outcomes: Vec<Outcome>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Correct,
    Incorrect,
    /// A word outside the (restricted) vocabulary.
    Unknown,
}

/// Case-folded lookup over the first `restrict` rows: key -> lowest row with that key.
fn ok_vocab(index: &KnnIndex, restrict: usize, fold: bool) -> HashMap<String, usize> {
    let vocab = &index.set().vocab;
    let n = restrict.min(vocab.len());
    let mut m = HashMap::with_capacity(n);
    for i in (0..n).rev() {
        let t = vocab.token(i);
        m.insert(
            if fold {
                t.to_uppercase()
            } else {
                t.to_string()
            },
            i,
        );
    }
    m
}

/// Analogy accuracy per section and overall, as gensim's `evaluate_word_analogies`: top 5
/// answers by 3CosAdd (or 3CosMul) over the first `restrict_vocab` rows, the question's words
/// excluded, first answer not among the question words counts.
pub fn evaluate_analogies(
    index: &KnnIndex,
    set: &AnalogySet,
    opts: &AnalogyOptions,
    progress: Option<&(dyn Fn(u64, u64) + Sync)>,
) -> Result<AnalogyReport, AnalysisError> {
    let fold = opts.case_insensitive;
    let ok = ok_vocab(index, opts.restrict_vocab, fold);
    let key = |w: &str| {
        if fold {
            w.to_uppercase()
        } else {
            w.to_string()
        }
    };
    let restrict = Some(opts.restrict_vocab);
    let vocab = &index.set().vocab;
    let total_q: u64 = set.sections.iter().map(|s| s.questions.len() as u64).sum();
    let mut done = 0u64;
    let mut oov = 0u64;
    let mut sections = Vec::new();
    let mut outcomes = Vec::with_capacity(total_q as usize);
    const BATCH: usize = 4096;
    for sec in &set.sections {
        let mut correct = 0u64;
        let mut incorrect = 0u64;
        let first = outcomes.len();
        // Known questions: (row indices a, b, c; expected key; the question's keys; position).
        let mut known: Vec<([usize; 3], String, [String; 3], usize)> = Vec::new();
        for (q, _) in &sec.questions {
            let k: Vec<String> = q.iter().map(|w| key(w)).collect();
            outcomes.push(Outcome::Unknown);
            match (ok.get(&k[0]), ok.get(&k[1]), ok.get(&k[2]), ok.get(&k[3])) {
                (Some(&a), Some(&b), Some(&c), Some(_)) => known.push((
                    [a, b, c],
                    k[3].clone(),
                    [k[0].clone(), k[1].clone(), k[2].clone()],
                    outcomes.len() - 1,
                )),
                _ => {
                    oov += 1;
                    if opts.dummy4unknown {
                        incorrect += 1;
                    }
                }
            }
        }
        for chunk in known.chunks(BATCH) {
            let results = match opts.method {
                Method::Add => {
                    let queries: Vec<Query> = chunk
                        .iter()
                        .map(|([a, b, c], _, _, _)| cosadd_query(index, *a, *b, *c))
                        .collect::<Result<_, _>>()?;
                    index.search(&queries, 5, Metric::Cosine, restrict)?
                }
                Method::Mul => {
                    let pn: Vec<([usize; 2], [usize; 1])> = chunk
                        .iter()
                        .map(|([a, b, c], _, _, _)| ([*b, *c], [*a]))
                        .collect();
                    let qs: Vec<(&[usize], &[usize])> =
                        pn.iter().map(|(p, n)| (&p[..], &n[..])).collect();
                    cosmul_batch(index, &qs, 5, restrict)?
                }
            };
            for ((_, expected, ignore, pos), res) in chunk.iter().zip(results) {
                let ignore: HashSet<&str> = ignore.iter().map(String::as_str).collect();
                let mut predicted: Option<String> = None;
                for n in &res {
                    let p = key(vocab.token(n.index));
                    let stop = ok.contains_key(&p) && !ignore.contains(p.as_str());
                    predicted = Some(p);
                    if stop {
                        break;
                    }
                }
                if predicted.as_deref() == Some(expected.as_str()) {
                    correct += 1;
                    outcomes[*pos] = Outcome::Correct;
                } else {
                    incorrect += 1;
                    outcomes[*pos] = Outcome::Incorrect;
                }
            }
            done += chunk.len() as u64;
            if let Some(p) = progress {
                p(done, total_q);
            }
        }
        debug_assert_eq!(outcomes.len() - first, sec.questions.len());
        sections.push(SectionScore::new(sec.name.clone(), correct, incorrect));
    }
    let c: u64 = sections.iter().map(|s| s.correct).sum();
    let i: u64 = sections.iter().map(|s| s.incorrect).sum();
    Ok(AnalogyReport {
        method: opts.method.name(),
        restrict_vocab: opts.restrict_vocab,
        case_insensitive: opts.case_insensitive,
        dummy4unknown: opts.dummy4unknown,
        total: SectionScore::new("Total accuracy".into(), c, i),
        sections,
        questions: total_q,
        oov_questions: oov,
        oov_percent: if total_q > 0 {
            oov as f64 / total_q as f64 * 100.0
        } else {
            0.0
        },
        skipped_lines: set.skipped_lines.len() as u64,
        outcomes,
    })
}

/// 3CosAdd query for `a : b :: c : ?` (unit(b) + unit(c) - unit(a), normalised).
fn cosadd_query(index: &KnnIndex, a: usize, b: usize, c: usize) -> Result<Query, AnalysisError> {
    for i in [a, b, c] {
        if !index.is_candidate(i, Metric::Cosine) {
            return Err(AnalysisError::DegenerateQuery);
        }
    }
    let (ua, ub, uc) = (index.unit_row(a), index.unit_row(b), index.unit_row(c));
    let mean: Vec<f32> = (0..ua.len())
        .map(|j| (ub[j] + uc[j] - ua[j]) / 3.0)
        .collect();
    let vector = unit(&mean).ok_or(AnalysisError::DegenerateQuery)?;
    Ok(Query {
        vector,
        exclude: vec![a, b, c],
    })
}

#[derive(Debug, Clone, PartialEq)]
pub struct WordPairs {
    /// (a, b, gold score, 1-based line)
    pub pairs: Vec<(String, String, f64, u64)>,
    pub skipped_lines: Vec<u64>,
}

impl WordPairs {
    /// Reads `word1 <sep> word2 <sep> score` lines; `#` lines are comments. The separator is a
    /// tab when the line has one (gensim's default), else any whitespace.
    pub fn read(path: &Path) -> Result<WordPairs, AnalysisError> {
        Self::parse(&path.display().to_string(), &read_text(path)?)
    }

    /// Parses the text of a word-pair file; `name` is used in error messages.
    pub fn parse(name: &str, text: &str) -> Result<WordPairs, AnalysisError> {
        let mut pairs = Vec::new();
        let mut skipped = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let no = i as u64 + 1;
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let f: Vec<&str> = if line.contains('\t') {
                line.split('\t').collect()
            } else {
                line.split_whitespace().collect()
            };
            match f.as_slice() {
                [a, b, s] => match s.trim().parse::<f64>() {
                    Ok(v) if v.is_finite() => {
                        pairs.push((a.trim().to_string(), b.trim().to_string(), v, no))
                    }
                    _ => skipped.push(no),
                },
                _ => skipped.push(no),
            }
        }
        if pairs.is_empty() {
            return Err(AnalysisError::BadInput {
                path: name.to_string(),
                line: 1,
                msg: "no \"word1 word2 score\" lines found".into(),
            });
        }
        Ok(WordPairs {
            pairs,
            skipped_lines: skipped,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairOptions {
    pub restrict_vocab: usize,
    pub case_insensitive: bool,
    /// Unknown pairs count with similarity 0 (gensim's `dummy4unknown`).
    pub dummy4unknown: bool,
}

impl Default for PairOptions {
    fn default() -> Self {
        PairOptions {
            restrict_vocab: DEFAULT_RESTRICT_VOCAB,
            case_insensitive: true,
            dummy4unknown: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairReport {
    pub pearson: Option<Correlation>,
    pub spearman: Option<Correlation>,
    pub pairs: u64,
    pub oov_pairs: u64,
    /// As gensim: percent of pairs with an unknown word.
    pub oov_percent: f64,
    pub skipped_lines: u64,
    pub restrict_vocab: usize,
    pub case_insensitive: bool,
    pub dummy4unknown: bool,
}

/// Cosine similarity of two rows.
pub fn similarity(index: &KnnIndex, a: usize, b: usize) -> Option<f32> {
    if !index.is_candidate(a, Metric::Cosine) || !index.is_candidate(b, Metric::Cosine) {
        return None;
    }
    let m = &index.set().matrix;
    let d: f64 = m
        .row(a)
        .iter()
        .zip(m.row(b))
        .map(|(&x, &y)| f64::from(x) * f64::from(y))
        .sum();
    Some((d * f64::from(index.inv_norms[a]) * f64::from(index.inv_norms[b])) as f32)
}

/// Pearson and Spearman correlation between gold scores and cosine similarities, as gensim's
/// `evaluate_word_pairs`.
pub fn evaluate_pairs(index: &KnnIndex, pairs: &WordPairs, opts: &PairOptions) -> PairReport {
    let fold = opts.case_insensitive;
    let ok = ok_vocab(index, opts.restrict_vocab, fold);
    let key = |w: &str| {
        if fold {
            w.to_uppercase()
        } else {
            w.to_string()
        }
    };
    let (mut gold, mut model) = (Vec::new(), Vec::new());
    let mut oov = 0u64;
    for (a, b, s, _) in &pairs.pairs {
        let sim = match (ok.get(&key(a)), ok.get(&key(b))) {
            (Some(&ia), Some(&ib)) => similarity(index, ia, ib),
            _ => None,
        };
        match sim {
            Some(v) => {
                gold.push(*s);
                model.push(f64::from(v));
            }
            None => {
                oov += 1;
                if opts.dummy4unknown {
                    gold.push(*s);
                    model.push(0.0);
                }
            }
        }
    }
    let oov_percent = if opts.dummy4unknown {
        if gold.is_empty() {
            0.0
        } else {
            oov as f64 / gold.len() as f64 * 100.0
        }
    } else {
        let n = gold.len() as u64 + oov;
        if n == 0 {
            0.0
        } else {
            oov as f64 / n as f64 * 100.0
        }
    };
    PairReport {
        pearson: pearson(&gold, &model),
        spearman: spearman(&gold, &model),
        pairs: pairs.pairs.len() as u64,
        oov_pairs: oov,
        oov_percent,
        skipped_lines: pairs.skipped_lines.len() as u64,
        restrict_vocab: opts.restrict_vocab,
        case_insensitive: opts.case_insensitive,
        dummy4unknown: opts.dummy4unknown,
    }
}

impl From<&AnalogyOptions> for PairOptions {
    /// The word-pair options that go with analogy options: the same vocabulary restriction,
    /// case folding and handling of unknown words.
    fn from(o: &AnalogyOptions) -> PairOptions {
        PairOptions {
            restrict_vocab: o.restrict_vocab,
            case_insensitive: o.case_insensitive,
            dummy4unknown: o.dummy4unknown,
        }
    }
}

/// The bundled benchmark data, parsed once.
pub struct BundledBenchmarks {
    pub analogies: AnalogySet,
    pub pairs: Vec<(&'static str, WordPairs)>,
}

impl BundledBenchmarks {
    /// The Google analogies and every bundled word-pair set (`bundled::PAIR_SETS` order).
    pub fn load() -> Result<BundledBenchmarks, AnalysisError> {
        let mut pairs = Vec::with_capacity(bundled::PAIR_SETS.len());
        for name in bundled::PAIR_SETS {
            if let Some(p) = bundled::pairs(name) {
                pairs.push((name, p?));
            }
        }
        Ok(BundledBenchmarks {
            analogies: bundled::analogies()?,
            pairs,
        })
    }
}

/// One set's scores on the bundled benchmarks.
#[derive(Debug, Clone)]
pub struct BenchmarkScores {
    pub analogies: AnalogyReport,
    /// (name, report) for WordSim-353 and SimLex-999
    pub pairs: Vec<(String, PairReport)>,
}

/// Analogies with `opts` (progress as evaluate_analogies takes it), then every pair set with the
/// pair options derived from `opts` (restrict_vocab, case_insensitive, dummy4unknown).
pub fn run_benchmarks(
    index: &KnnIndex,
    bench: &BundledBenchmarks,
    opts: &AnalogyOptions,
    progress: Option<&(dyn Fn(u64, u64) + Sync)>,
) -> Result<BenchmarkScores, AnalysisError> {
    let analogies = evaluate_analogies(index, &bench.analogies, opts, progress)?;
    let popts = PairOptions::from(opts);
    let pairs = bench
        .pairs
        .iter()
        .map(|(name, p)| (name.to_string(), evaluate_pairs(index, p, &popts)))
        .collect();
    Ok(BenchmarkScores { analogies, pairs })
}

/// Benchmarks bundled with embedscope (see `assets/eval/README.md` for sources and licences).
pub mod bundled {
    use super::{AnalogySet, AnalysisError, WordPairs};

    /// Google analogy test set (Mikolov et al. 2013), 19,544 questions in 14 sections.
    pub const GOOGLE_ANALOGIES: &str = "questions-words";
    /// Word-pair similarity sets: (name, text).
    pub const PAIR_SETS: [&str; 2] = ["wordsim353", "simlex999"];

    static QUESTIONS: &str = include_str!("../../assets/eval/questions-words.txt");
    static WS353: &str = include_str!("../../assets/eval/wordsim353.tsv");
    static SIMLEX: &str = include_str!("../../assets/eval/simlex999.txt");

    pub fn analogies() -> Result<AnalogySet, AnalysisError> {
        AnalogySet::parse("bundled:questions-words.txt", QUESTIONS)
    }

    /// A bundled word-pair set by name (`wordsim353`, `simlex999`).
    pub fn pairs(name: &str) -> Option<Result<WordPairs, AnalysisError>> {
        match name {
            "wordsim353" => Some(WordPairs::parse("bundled:wordsim353.tsv", WS353)),
            "simlex999" => Some(WordPairs::parse("bundled:simlex999.txt", SIMLEX)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_options_of_the_default_analogy_options_are_the_default() {
        assert_eq!(
            PairOptions::from(&AnalogyOptions::default()),
            PairOptions::default()
        );
    }

    #[test]
    fn bundled_benchmarks_load_every_pair_set() {
        let b = BundledBenchmarks::load().unwrap();
        let names: Vec<&str> = b.pairs.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, bundled::PAIR_SETS);
        assert_eq!(
            b.analogies
                .sections
                .iter()
                .map(|s| s.questions.len())
                .sum::<usize>(),
            19_544
        );
    }
}
