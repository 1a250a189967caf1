//! Tokenizer diff for comparing two contextual models (model-version comparison): what each
//! folder's `tokenizer.json` is (model type, vocabulary, special tokens, normaliser, length),
//! and how differently the two split the same words.
//!
//! A word is *tokenised differently* when the sequences of piece strings differ; every word is
//! encoded on its own, without special tokens and with the file's own truncation and padding
//! switched off (all-MiniLM-L6-v2's file pads everything to 128). Only the tokenizers are
//! read: no weights, no hub access.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde_json::Value;
use tokenizers::models::ModelWrapper;
use tokenizers::pre_tokenizers::punctuation::Punctuation;
use tokenizers::pre_tokenizers::whitespace::WhitespaceSplit;
use tokenizers::{
    OffsetReferential, OffsetType, PaddingParams, PreTokenizedString, PreTokenizer,
    SplitDelimiterBehavior, Tokenizer,
};

use super::ModelError;

/// Number of differing words kept as examples.
pub const MAX_EXAMPLES: usize = 20;

/// Model types whose position table has 2 extra rows (RoBERTa counts positions from
/// `padding_idx + 1 = 2`), so the usable length is `max_position_embeddings - 2`.
const ROBERTA_STYLE: [&str; 6] = [
    "roberta",
    "xlm-roberta",
    "camembert",
    "longformer",
    "bart",
    "mbart",
];

/// What one model folder's tokenizer is.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TokenizerSummary {
    /// The `tokenizer.json` that was read.
    pub path: PathBuf,
    /// `"WordPiece"`, `"BPE"`, `"Unigram"` or `"WordLevel"`.
    pub model: String,
    /// Vocabulary size including added tokens (the size of the embedding table it indexes).
    pub vocab_size: usize,
    /// Added tokens flagged special, sorted by id.
    pub special_tokens: Vec<String>,
    /// The normaliser lower-cases (BertNormalizer `lowercase`, or a `Lowercase` step).
    pub lowercase: bool,
    /// The normaliser removes accents (BertNormalizer `strip_accents`, which when unset follows
    /// `lowercase`, or a `StripAccents` step).
    pub strip_accents: bool,
    /// The longest input in tokens: `sentence_bert_config.json` `max_seq_length` (capped by
    /// `config.json` `max_position_embeddings` when both exist, as the encoder does), else
    /// `max_position_embeddings` (minus 2 for RoBERTa-style `model_type`s, whose position
    /// table starts at 2), else `None`.
    pub max_length: Option<usize>,
    /// Short description, e.g. `"BertNormalizer(lowercase, strip_accents, clean_text,
    /// chinese_chars)"`, `"Sequence(NFD, Lowercase, StripAccents)"`, `"none"`.
    pub normalizer: String,
}

/// One word both tokenizers split, with different pieces.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WordDiff {
    pub word: String,
    pub a: Vec<String>,
    pub b: Vec<String>,
}

/// Two tokenizers over the same word list.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TokenizerDiff {
    pub a: TokenizerSummary,
    pub b: TokenizerSummary,
    pub words_checked: usize,
    /// Words whose piece strings differ.
    pub words_different: usize,
    /// `words_different / words_checked` (0 for no words).
    pub share_different: f64,
    /// Pieces per word (0 for no words).
    pub mean_pieces_a: f64,
    pub mean_pieces_b: f64,
    /// Share of words with at least one unknown-token piece (by the model's unk id; 0 when the
    /// model has none, e.g. byte-level BPE).
    pub unk_share_a: f64,
    pub unk_share_b: f64,
    /// The first [`MAX_EXAMPLES`] differing words, in input order.
    pub examples: Vec<WordDiff>,
    /// The two `tokenizer.json` files are byte-identical.
    pub identical_files: bool,
    /// Plain-language differences in the settings (model, vocabulary, case, accents, special
    /// tokens, length, normaliser); empty when they agree.
    pub notes: Vec<String>,
}

/// A tokenizer ready to encode single words.
struct Loaded {
    summary: TokenizerSummary,
    tokenizer: Tokenizer,
    unk_id: Option<u32>,
    bytes: Vec<u8>,
}

/// Reads `dir/tokenizer.json` (or `dir` itself when it is a file) and the folder's
/// `config.json` / `sentence_bert_config.json` for the length.
pub fn summarize(dir: &Path) -> Result<TokenizerSummary, ModelError> {
    load(dir).map(|l| l.summary)
}

/// Tokenises every word with both tokenizers and compares the pieces. Each entry of `words`
/// is encoded as one text (see [`sample_words`] for a word list from a text).
pub fn diff(dir_a: &Path, dir_b: &Path, words: &[&str]) -> Result<TokenizerDiff, ModelError> {
    let a = load(dir_a)?;
    let b = load(dir_b)?;
    let mut words_different = 0usize;
    let (mut pieces_a, mut pieces_b) = (0usize, 0usize);
    let (mut unk_a, mut unk_b) = (0usize, 0usize);
    let mut examples = Vec::new();
    for &word in words {
        let (ta, ua) = pieces(&a, word)?;
        let (tb, ub) = pieces(&b, word)?;
        pieces_a += ta.len();
        pieces_b += tb.len();
        unk_a += usize::from(ua);
        unk_b += usize::from(ub);
        if ta != tb {
            words_different += 1;
            if examples.len() < MAX_EXAMPLES {
                examples.push(WordDiff {
                    word: word.to_string(),
                    a: ta,
                    b: tb,
                });
            }
        }
    }
    let share = |k: usize| {
        if words.is_empty() {
            0.0
        } else {
            k as f64 / words.len() as f64
        }
    };
    let notes = notes(&a.summary, &b.summary, a.bytes == b.bytes);
    Ok(TokenizerDiff {
        words_checked: words.len(),
        words_different,
        share_different: share(words_different),
        mean_pieces_a: share(pieces_a),
        mean_pieces_b: share(pieces_b),
        unk_share_a: share(unk_a),
        unk_share_b: share(unk_b),
        examples,
        identical_files: a.bytes == b.bytes,
        notes,
        a: a.summary,
        b: b.summary,
    })
}

/// Distinct words of a text sample in first-seen order, at most `max`. Words are what is left
/// between Unicode whitespace and punctuation (ASCII punctuation or a Unicode `P*` category,
/// the same test as BERT's pre-tokenizer); symbols, emoji and digits stay inside words. This
/// is a fixed split, not the models' own pre-tokenisation, so both models see the same words.
pub fn sample_words(text: &str, max: usize) -> Vec<String> {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut out = Vec::new();
    if max == 0 {
        return out;
    }
    for chunk in chunks(text, 1 << 16) {
        let mut pts = PreTokenizedString::from(chunk);
        // Neither pre-tokenizer can fail (their split closures are infallible); were one to,
        // the splits made so far would still be valid offsets into `chunk`.
        let _ = WhitespaceSplit.pre_tokenize(&mut pts).and_then(|()| {
            Punctuation::new(SplitDelimiterBehavior::Removed).pre_tokenize(&mut pts)
        });
        for (_, (start, end), _) in pts.get_splits(OffsetReferential::Original, OffsetType::Byte) {
            let Some(word) = chunk.get(start..end) else {
                continue;
            };
            if !word.is_empty() && seen.insert(word) {
                out.push(word.to_string());
                if out.len() >= max {
                    return out;
                }
            }
        }
    }
    out
}

/// Pieces of `text` no longer than about `size` bytes, each ending after a whitespace character
/// (so no word is cut); a single longer word is one longer piece.
fn chunks(text: &str, size: usize) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut cut = rest.len();
        if rest.len() > size {
            let mut limit = size;
            while !rest.is_char_boundary(limit) {
                limit -= 1;
            }
            let before = rest[..limit]
                .char_indices()
                .rev()
                .find(|(_, c)| c.is_whitespace())
                .map(|(i, c)| i + c.len_utf8());
            let after = || {
                rest[limit..]
                    .char_indices()
                    .find(|(_, c)| c.is_whitespace())
                    .map(|(i, c)| limit + i + c.len_utf8())
            };
            cut = before.or_else(after).unwrap_or(rest.len());
        }
        let (head, tail) = rest.split_at(cut);
        rest = tail;
        Some(head)
    })
}

fn load(dir: &Path) -> Result<Loaded, ModelError> {
    let (folder, path) = if dir.is_file() {
        (
            dir.parent().map(Path::to_path_buf).unwrap_or_default(),
            dir.to_path_buf(),
        )
    } else {
        (dir.to_path_buf(), dir.join("tokenizer.json"))
    };
    let bytes = std::fs::read(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            ModelError::Io(
                path.clone(),
                "missing (only fast tokenizers, tokenizer.json, are supported)".into(),
            )
        } else {
            ModelError::io(&path, e)
        }
    })?;
    let mut tokenizer = Tokenizer::from_bytes(&bytes)
        .map_err(|e| ModelError::Tokenizer(path.clone(), e.to_string()))?;
    tokenizer
        .with_truncation(None)
        .map_err(|e| ModelError::Tokenizer(path.clone(), e.to_string()))?;
    tokenizer.with_padding(None::<PaddingParams>);

    let (model, unk_id) = match tokenizer.get_model() {
        ModelWrapper::WordPiece(m) => ("WordPiece", tokenizer.token_to_id(&m.unk_token)),
        ModelWrapper::BPE(m) => (
            "BPE",
            m.unk_token
                .as_deref()
                .and_then(|u| tokenizer.token_to_id(u)),
        ),
        ModelWrapper::WordLevel(m) => ("WordLevel", tokenizer.token_to_id(&m.unk_token)),
        ModelWrapper::Unigram(m) => {
            // `unk_id` is private in the crate; its serialised form carries it.
            let v = serde_json::to_value(m)
                .map_err(|e| ModelError::Tokenizer(path.clone(), e.to_string()))?;
            let id = v["unk_id"].as_u64().and_then(|i| u32::try_from(i).ok());
            ("Unigram", id)
        }
    };
    let mut specials: Vec<(u32, String)> = tokenizer
        .get_added_tokens_decoder()
        .into_iter()
        .filter(|(_, t)| t.special)
        .map(|(id, t)| (id, t.content))
        .collect();
    specials.sort();
    let norm_json = match tokenizer.get_normalizer() {
        Some(n) => serde_json::to_value(n)
            .map_err(|e| ModelError::Tokenizer(path.clone(), e.to_string()))?,
        None => Value::Null,
    };
    let norm = describe_normalizer(&norm_json);
    let summary = TokenizerSummary {
        model: model.to_string(),
        vocab_size: tokenizer.get_vocab_size(true),
        special_tokens: specials.into_iter().map(|(_, c)| c).collect(),
        lowercase: norm.lowercase,
        strip_accents: norm.strip_accents,
        max_length: max_length(&folder)?,
        normalizer: norm.text,
        path,
    };
    Ok(Loaded {
        summary,
        tokenizer,
        unk_id,
        bytes,
    })
}

/// Piece strings of one word, and whether one of them is the unknown token.
fn pieces(t: &Loaded, word: &str) -> Result<(Vec<String>, bool), ModelError> {
    let enc = t.tokenizer.encode(word, false).map_err(|e| {
        ModelError::Tokenizer(t.summary.path.clone(), format!("word {word:?}: {e}"))
    })?;
    let unk = t.unk_id.is_some_and(|u| enc.get_ids().contains(&u));
    Ok((enc.get_tokens().to_vec(), unk))
}

struct NormalizerInfo {
    text: String,
    lowercase: bool,
    strip_accents: bool,
}

/// Describes a serialised normaliser (`tokenizer.json`'s `"normalizer"` object).
fn describe_normalizer(v: &Value) -> NormalizerInfo {
    let mut info = NormalizerInfo {
        text: String::new(),
        lowercase: false,
        strip_accents: false,
    };
    info.text = describe_into(v, &mut info.lowercase, &mut info.strip_accents);
    info
}

fn describe_into(v: &Value, lowercase: &mut bool, strip: &mut bool) -> String {
    if v.is_null() {
        return "none".into();
    }
    let kind = v["type"].as_str().unwrap_or("unknown");
    let flag = |k: &str| v[k].as_bool().unwrap_or(false);
    match kind {
        "BertNormalizer" => {
            let lower = flag("lowercase");
            let strip_accents = v["strip_accents"].as_bool().unwrap_or(lower);
            *lowercase |= lower;
            *strip |= strip_accents;
            let opts: Vec<&str> = [
                (lower, "lowercase"),
                (strip_accents, "strip_accents"),
                (flag("clean_text"), "clean_text"),
                (flag("handle_chinese_chars"), "chinese_chars"),
            ]
            .into_iter()
            .filter_map(|(on, name)| on.then_some(name))
            .collect();
            format!("BertNormalizer({})", opts.join(", "))
        }
        "Lowercase" => {
            *lowercase = true;
            kind.into()
        }
        "StripAccents" => {
            *strip = true;
            kind.into()
        }
        "Sequence" => {
            let parts: Vec<String> = v["normalizers"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|n| describe_into(n, lowercase, strip))
                        .collect()
                })
                .unwrap_or_default();
            format!("Sequence({})", parts.join(", "))
        }
        "Strip" => {
            let sides: Vec<&str> = [(flag("strip_left"), "left"), (flag("strip_right"), "right")]
                .into_iter()
                .filter_map(|(on, name)| on.then_some(name))
                .collect();
            format!("Strip({})", sides.join(", "))
        }
        "Replace" => {
            let pat = &v["pattern"];
            let pat = pat["String"]
                .as_str()
                .map(|s| format!("{s:?}"))
                .or_else(|| pat["Regex"].as_str().map(|r| format!("/{r}/")))
                .unwrap_or_else(|| "?".into());
            format!(
                "Replace({pat} -> {:?})",
                v["content"].as_str().unwrap_or_default()
            )
        }
        "Prepend" => format!("Prepend({:?})", v["prepend"].as_str().unwrap_or_default()),
        "Precompiled" => "Precompiled(SentencePiece charsmap)".into(),
        other => other.into(),
    }
}

fn read_json(path: &Path) -> Result<Option<Value>, ModelError> {
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path).map_err(|e| ModelError::io(path, e))?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| ModelError::Invalid(path.to_path_buf(), format!("not JSON: {e}")))
}

fn max_length(folder: &Path) -> Result<Option<usize>, ModelError> {
    let as_usize = |v: &Value| v.as_u64().and_then(|n| usize::try_from(n).ok());
    let positions = read_json(&folder.join("config.json"))?.and_then(|c| {
        let p = as_usize(&c["max_position_embeddings"])?;
        let roberta = c["model_type"]
            .as_str()
            .is_some_and(|t| ROBERTA_STYLE.contains(&t));
        Some(if roberta { p.saturating_sub(2) } else { p })
    });
    let sbert = read_json(&folder.join("sentence_bert_config.json"))?
        .and_then(|c| as_usize(&c["max_seq_length"]));
    Ok(match (sbert, positions) {
        (Some(s), Some(p)) => Some(s.min(p)),
        (Some(s), None) => Some(s),
        (None, p) => p,
    })
}

fn notes(a: &TokenizerSummary, b: &TokenizerSummary, identical: bool) -> Vec<String> {
    let mut out = Vec::new();
    if a.model != b.model {
        out.push(format!(
            "different models: A is {}, B is {}",
            a.model, b.model
        ));
    }
    if a.vocab_size != b.vocab_size {
        out.push(format!(
            "vocabulary sizes differ: A {}, B {}",
            a.vocab_size, b.vocab_size
        ));
    }
    if a.lowercase != b.lowercase {
        let (l, c) = if a.lowercase { ("A", "B") } else { ("B", "A") };
        out.push(format!(
            "{l} lower-cases its input and {c} does not: capitalised words are split differently"
        ));
    }
    if a.strip_accents != b.strip_accents {
        let (s, k) = if a.strip_accents {
            ("A", "B")
        } else {
            ("B", "A")
        };
        out.push(format!("{s} strips accents and {k} keeps them"));
    }
    if a.normalizer != b.normalizer
        && a.lowercase == b.lowercase
        && a.strip_accents == b.strip_accents
    {
        out.push(format!(
            "normalisers differ: A {}, B {}",
            a.normalizer, b.normalizer
        ));
    }
    if a.special_tokens != b.special_tokens {
        out.push(format!(
            "special tokens differ: A [{}], B [{}]",
            a.special_tokens.join(" "),
            b.special_tokens.join(" ")
        ));
    }
    if a.max_length != b.max_length {
        let f = |m: Option<usize>| m.map_or_else(|| "unknown".to_string(), |m| m.to_string());
        out.push(format!(
            "maximum lengths differ: A {}, B {} tokens",
            f(a.max_length),
            f(b.max_length)
        ));
    }
    if identical {
        out.push("the two tokenizer.json files are byte-identical".into());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
    }
    fn minilm() -> PathBuf {
        root().join("tokdiff/minilm")
    }
    fn tiny() -> PathBuf {
        root().join("encoder/tiny-bert")
    }
    fn cased() -> PathBuf {
        root().join("tokdiff/tiny-cased")
    }
    fn reference() -> Value {
        let p = root().join("tokdiff/reference.json");
        serde_json::from_str(&std::fs::read_to_string(&p).expect("reference.json"))
            .expect("reference.json is JSON")
    }
    fn strings(v: &Value) -> Vec<String> {
        v.as_array()
            .expect("array")
            .iter()
            .map(|s| s.as_str().expect("string").to_string())
            .collect()
    }
    /// The word list of the reference pairs: sample words, then the extra words.
    fn reference_words(r: &Value) -> Vec<String> {
        let mut w = strings(&r["sample_words"]);
        w.extend(strings(&r["extra_words"]));
        w
    }

    #[test]
    fn sample_words_match_python_pre_tokenizers() {
        let r = reference();
        let text = std::fs::read_to_string(root().join("tokdiff/sample.txt")).expect("sample");
        let max = r["sample_max_words"].as_u64().expect("max") as usize;
        assert_eq!(sample_words(&text, max), strings(&r["sample_words"]));
        let extra = r["extra_text"].as_str().expect("extra_text");
        let max = r["extra_max_words"].as_u64().expect("max") as usize;
        assert_eq!(sample_words(extra, max), strings(&r["extra_words"]));
    }

    #[test]
    fn sample_words_split_dedup_and_limit() {
        let t = "Hello, world! \"Hello\" _You_ QUEEN-doctor's  €5 🦀🚀\tzero\u{200b}width a\u{a0}b world";
        assert_eq!(
            sample_words(t, 100),
            [
                "Hello",
                "world",
                "You",
                "QUEEN",
                "doctor",
                "s",
                "€5",
                "🦀🚀",
                "zero\u{200b}width",
                "a",
                "b"
            ]
        );
        assert_eq!(sample_words(t, 3), ["Hello", "world", "You"]);
        assert!(sample_words(t, 0).is_empty());
        assert!(sample_words("", 10).is_empty());
        assert!(sample_words(" .,;!? \n", 10).is_empty());
    }

    #[test]
    fn chunks_never_cut_a_word() {
        let text = "alpha beta  gamma\ndelta épsilon ".repeat(50) + &"x".repeat(300) + " end";
        for size in [1, 7, 16, 64, 1000] {
            let parts: Vec<&str> = chunks(&text, size).collect();
            assert_eq!(parts.concat(), text, "size {size}");
            for p in &parts[..parts.len() - 1] {
                assert!(p.ends_with(char::is_whitespace), "size {size}: {p:?}");
            }
            assert_eq!(
                sample_words(&text, 100),
                [
                    "alpha",
                    "beta",
                    "gamma",
                    "delta",
                    "épsilon",
                    &"x".repeat(300),
                    "end"
                ]
            );
        }
        // A long text through the chunked path gives the same words as one pre-tokenisation.
        let long = "w".repeat(70_000) + " tail, more";
        assert_eq!(
            sample_words(&long, 10),
            ["w".repeat(70_000), "tail".into(), "more".into()]
        );
    }

    #[test]
    fn summaries_match_reference() {
        let r = reference();
        for (name, dir) in [
            ("minilm", minilm()),
            ("tiny", tiny()),
            ("tiny-cased", cased()),
        ] {
            let s = summarize(&dir).expect("summary");
            let e = &r["summaries"][name];
            assert_eq!(s.path, dir.join("tokenizer.json"));
            assert_eq!(s.model, e["model"].as_str().expect("model"), "{name}");
            assert_eq!(
                s.vocab_size as u64,
                e["vocab_size"].as_u64().expect("v"),
                "{name}"
            );
            assert_eq!(s.special_tokens, strings(&e["special_tokens"]), "{name}");
            assert_eq!(s.lowercase, e["lowercase"].as_bool().expect("l"), "{name}");
            assert_eq!(
                s.strip_accents,
                e["strip_accents"].as_bool().expect("s"),
                "{name}"
            );
            assert_eq!(
                s.max_length.map(|m| m as u64),
                e["max_length"].as_u64(),
                "{name}"
            );
        }
        let m = summarize(&minilm()).expect("minilm");
        assert_eq!(m.vocab_size, 30522);
        assert_eq!(m.max_length, Some(256));
        assert_eq!(
            m.normalizer,
            "BertNormalizer(lowercase, strip_accents, clean_text, chinese_chars)"
        );
        let c = summarize(&cased()).expect("cased");
        assert_eq!(c.normalizer, "BertNormalizer(clean_text, chinese_chars)");
        assert_eq!(
            c.max_length,
            Some(64),
            "no sentence_bert_config.json: positions"
        );
        assert_eq!(summarize(&tiny()).expect("tiny").max_length, Some(48));
    }

    fn check_pair(r: &Value, name: &str, d: &TokenizerDiff) {
        let e = &r["pairs"][name];
        let n = |k: &str| e[k].as_u64().expect(k) as usize;
        let f = |k: &str| e[k].as_f64().expect(k);
        assert_eq!(d.words_checked, n("words_checked"), "{name}");
        assert_eq!(d.words_different, n("words_different"), "{name}");
        for (got, k) in [
            (d.share_different, "share_different"),
            (d.mean_pieces_a, "mean_pieces_a"),
            (d.mean_pieces_b, "mean_pieces_b"),
            (d.unk_share_a, "unk_share_a"),
            (d.unk_share_b, "unk_share_b"),
        ] {
            assert!((got - f(k)).abs() <= 1e-12, "{name} {k}: {got} vs {}", f(k));
        }
        assert_eq!(
            d.identical_files,
            e["identical_files"].as_bool().expect("identical"),
            "{name}"
        );
        let ex = e["examples"].as_array().expect("examples");
        assert_eq!(d.examples.len(), ex.len(), "{name}");
        for (got, want) in d.examples.iter().zip(ex) {
            assert_eq!(got.word, want["word"].as_str().expect("word"), "{name}");
            assert_eq!(got.a, strings(&want["a"]), "{name} {}", got.word);
            assert_eq!(got.b, strings(&want["b"]), "{name} {}", got.word);
        }
    }

    #[test]
    fn diffs_match_python_tokenizers() {
        let r = reference();
        let words = reference_words(&r);
        let w: Vec<&str> = words.iter().map(String::as_str).collect();

        let d = diff(&minilm(), &tiny(), &w).expect("minilm vs tiny");
        check_pair(&r, "minilm_vs_tiny", &d);
        assert_eq!(d.examples.len(), MAX_EXAMPLES);
        assert!(
            d.notes
                .iter()
                .any(|n| n.contains("vocabulary sizes differ"))
        );
        assert!(
            d.notes
                .iter()
                .any(|n| n.contains("maximum lengths differ: A 256, B 48"))
        );

        let d = diff(&tiny(), &cased(), &w).expect("tiny vs cased");
        check_pair(&r, "tiny_vs_tiny_cased", &d);
        assert!(
            d.unk_share_b > d.unk_share_a,
            "the cased copy has no capitals"
        );
        assert!(
            d.notes
                .iter()
                .any(|n| n.starts_with("A lower-cases its input and B"))
        );
        assert!(
            d.notes
                .iter()
                .any(|n| n == "A strips accents and B keeps them")
        );
        // Every differing word has a capital letter or an accent.
        for e in &d.examples {
            assert!(
                e.word.chars().any(|c| c.is_uppercase() || !c.is_ascii()),
                "{}",
                e.word
            );
        }

        let d = diff(&minilm(), &minilm(), &w).expect("minilm vs minilm");
        check_pair(&r, "minilm_vs_minilm", &d);
        assert!(d.identical_files && d.examples.is_empty());
        assert_eq!(d.notes, ["the two tokenizer.json files are byte-identical"]);
    }

    #[test]
    fn swapped_pair_swaps_the_sides() {
        let r = reference();
        let words = reference_words(&r);
        let w: Vec<&str> = words.iter().map(String::as_str).collect();
        let ab = diff(&tiny(), &cased(), &w).expect("ab");
        let ba = diff(&cased(), &tiny(), &w).expect("ba");
        assert_eq!(ab.words_different, ba.words_different);
        assert_eq!(ab.unk_share_a, ba.unk_share_b);
        assert_eq!(ab.mean_pieces_b, ba.mean_pieces_a);
        for (x, y) in ab.examples.iter().zip(&ba.examples) {
            assert_eq!((&x.word, &x.a, &x.b), (&y.word, &y.b, &y.a));
        }
        assert!(
            ba.notes
                .iter()
                .any(|n| n.starts_with("B lower-cases its input and A"))
        );
    }

    #[test]
    fn empty_word_list() {
        let d = diff(&minilm(), &tiny(), &[]).expect("empty");
        assert_eq!((d.words_checked, d.words_different), (0, 0));
        assert_eq!(d.share_different, 0.0);
        assert_eq!((d.mean_pieces_a, d.mean_pieces_b), (0.0, 0.0));
        assert_eq!((d.unk_share_a, d.unk_share_b), (0.0, 0.0));
        assert!(d.examples.is_empty() && !d.identical_files);
        let json = serde_json::to_value(&d).expect("serialize");
        assert_eq!(json["a"]["model"], "WordPiece");
    }

    #[test]
    fn missing_folder_names_the_tokenizer_path() {
        let dir = root().join("tokdiff/no-such-model");
        let err = summarize(&dir).expect_err("missing");
        match &err {
            ModelError::Io(p, msg) => {
                assert_eq!(p, &dir.join("tokenizer.json"));
                assert!(msg.starts_with("missing"), "{msg}");
            }
            other => panic!("expected Io, got {other:?}"),
        }
        assert!(err.to_string().contains("no-such-model/tokenizer.json"));
        // Either side of a diff.
        let err = diff(&tiny(), &dir, &["word"]).expect_err("missing b");
        assert!(matches!(err, ModelError::Io(p, _) if p == dir.join("tokenizer.json")));
    }

    #[test]
    fn invalid_files_are_named() {
        let tmp = tempfile::tempdir().expect("tmp");
        let tok = tmp.path().join("tokenizer.json");
        std::fs::write(&tok, "{\"version\": \"1.0\", \"model\": 42}").expect("write");
        match summarize(tmp.path()).expect_err("invalid tokenizer") {
            ModelError::Tokenizer(p, _) => assert_eq!(p, tok),
            other => panic!("expected Tokenizer, got {other:?}"),
        }
        std::fs::write(&tok, "not json at all").expect("write");
        assert!(matches!(
            diff(&tiny(), tmp.path(), &[]).expect_err("invalid b"),
            ModelError::Tokenizer(p, _) if p == tok
        ));

        // A valid tokenizer next to a broken config.json.
        std::fs::copy(tiny().join("tokenizer.json"), &tok).expect("copy");
        let cfg = tmp.path().join("config.json");
        std::fs::write(&cfg, "{ broken").expect("write");
        match summarize(tmp.path()).expect_err("invalid config") {
            ModelError::Invalid(p, msg) => {
                assert_eq!(p, cfg);
                assert!(msg.starts_with("not JSON"), "{msg}");
            }
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn sequence_normalizer_roberta_length_and_a_file_path() {
        let tmp = tempfile::tempdir().expect("tmp");
        let mut tok: Value = serde_json::from_str(
            &std::fs::read_to_string(tiny().join("tokenizer.json")).expect("read"),
        )
        .expect("json");
        tok["normalizer"] = serde_json::json!({
            "type": "Sequence",
            "normalizers": [
                {"type": "NFD"},
                {"type": "Lowercase"},
                {"type": "StripAccents"},
                {"type": "Replace", "pattern": {"String": "``"}, "content": "\""},
                {"type": "Strip", "strip_left": true, "strip_right": true}
            ]
        });
        let path = tmp.path().join("tokenizer.json");
        std::fs::write(&path, tok.to_string()).expect("write");

        // Only tokenizer.json: no length known.
        let s = summarize(tmp.path()).expect("summary");
        assert!(s.lowercase && s.strip_accents);
        assert_eq!(
            s.normalizer,
            "Sequence(NFD, Lowercase, StripAccents, Replace(\"``\" -> \"\\\"\"), Strip(left, right))"
        );
        assert_eq!(s.max_length, None);

        // RoBERTa-style position table: 514 rows, 512 usable.
        std::fs::write(
            tmp.path().join("config.json"),
            r#"{"model_type": "roberta", "max_position_embeddings": 514}"#,
        )
        .expect("write");
        assert_eq!(
            summarize(tmp.path()).expect("roberta").max_length,
            Some(512)
        );
        std::fs::write(
            tmp.path().join("sentence_bert_config.json"),
            r#"{"max_seq_length": 1024}"#,
        )
        .expect("write");
        assert_eq!(summarize(tmp.path()).expect("capped").max_length, Some(512));

        // The file itself may be given; the folder around it supplies the configs.
        let f = summarize(&path).expect("file path");
        assert_eq!(
            (f.path.as_path(), f.max_length),
            (path.as_path(), Some(512))
        );

        // Same pieces as the tiny model (lowercasing and accents agree), other normaliser.
        let d = diff(&tiny(), tmp.path(), &["Café", "QUEEN", "naïve"]).expect("diff");
        assert_eq!(d.words_different, 0);
        assert!(d.notes.iter().any(|n| n.starts_with("normalisers differ")));

        // No normaliser at all.
        tok["normalizer"] = Value::Null;
        std::fs::write(&path, tok.to_string()).expect("write");
        let s = summarize(tmp.path()).expect("no normalizer");
        assert_eq!(
            (s.normalizer.as_str(), s.lowercase, s.strip_accents),
            ("none", false, false)
        );
    }
}
