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
    let mut tokenizer = super::parse_tokenizer(&path, &bytes)?;
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
mod tests;
