//! What `embedscope compare` writes: the JSON object of each pair, the per-word and
//! vocabulary CSV files, and the text for a person (the report's pair tables, then the words
//! asked for with their neighbours side by side).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use embedscope::analysis::compare::{self, Comparison, RankBy, VocabSummary};
use embedscope::core::{LIST_CHARS, ProvenanceDiff, one_line};
use embedscope::formats::{self, csv_field};
use embedscope::model::tokdiff::TokenizerDiff;
use embedscope::report::{ChangedWords, Measures, PairSection, VocabularyDiff, render};
use serde_json::{Value, json};

use crate::cli::{CliError, Loaded};

pub(super) fn version_json(file: &str, l: &Loaded) -> Value {
    let p = &l.set.provenance;
    json!({
        "file": file,
        "format": p.format,
        "sha256": p.sha256,
        "rows": l.set.rows(),
        "dim": l.set.dim(),
        "model_id": p.model_id,
        "encoding": p.encoding_facts(),
    })
}

fn changes_json(c: &Comparison, by: RankBy, most: bool) -> Value {
    serde_json::to_value(c.top_changes(by, most, c.options.top)).unwrap_or(Value::Null)
}

/// The JSON object of one compared pair.
pub(super) fn pair_json(c: &Comparison, words: &[String], gate_rows: &[Value]) -> Value {
    let by_k = |f: &dyn Fn(&compare::JaccardStats) -> f64| -> BTreeMap<String, f64> {
        c.jaccard.iter().map(|j| (j.k.to_string(), f(j))).collect()
    };
    let details: Vec<Value> = words
        .iter()
        .map(|w| match c.detail(w, c.k()) {
            Ok(d) => serde_json::to_value(d).unwrap_or(Value::Null),
            Err(e) => json!({"token": w, "error": e.to_string()}),
        })
        .collect();
    let s = &c.vocab_summary;
    let mut v = json!({
        "shared_vocab": s.shared,
        "only_a": s.only_a,
        "only_b": s.only_b,
        "excluded": s.excluded,
        "vocab": s,
        "integrity": {"a": c.integrity_a, "b": c.integrity_b},
        "ks": c.options.ks,
        "mean_jaccard_at_k": by_k(&|j| j.mean),
        "median_jaccard_at_k": by_k(&|j| j.median),
        "jaccard": c.jaccard,
        "rbo": c.rbo.mean,
        "rbo_detail": c.rbo,
        "linear_cka": c.linear_cka,
        "procrustes_disparity": c.procrustes.disparity,
        "procrustes": c.procrustes,
        "drift": c.drift,
        "most_changed": changes_json(c, RankBy::Neighbourhood, true),
        "least_changed": changes_json(c, RankBy::Neighbourhood, false),
        "most_displaced": changes_json(c, RankBy::Displacement, true),
        "max_rank": c.options.max_rank,
        "options": c.options,
        "timing_s": c.timing,
    });
    if !details.is_empty() {
        v["words"] = Value::Array(details);
    }
    if !gate_rows.is_empty() {
        v["gate"] = Value::Array(gate_rows.to_vec());
    }
    v
}

/// Tokens in one version only, shown on a terminal: the first few of each side (the report
/// and `--json` keep the whole example list).
const TERMINAL_EXAMPLES: usize = 8;

fn terminal_examples(s: &VocabSummary) -> VocabSummary {
    let mut s = s.clone();
    s.only_a_examples.truncate(TERMINAL_EXAMPLES);
    s.only_b_examples.truncate(TERMINAL_EXAMPLES);
    s
}

/// One pair as text: the two versions (A and B) and their integrity findings, what differs
/// between their encodings, the report's vocabulary, tokenizer, measures and ranked-word
/// tables, the words asked for with their neighbours side by side, and the time.
pub(super) fn human(
    c: &Comparison,
    name_a: &str,
    name_b: &str,
    provenance: &ProvenanceDiff,
    tokenizer: Option<&TokenizerDiff>,
    words: &[String],
) -> Result<String, CliError> {
    let s = &c.vocab_summary;
    let mut o = String::new();
    let _ = writeln!(o, "A: {name_a} ({} x {})", s.rows_a, c.procrustes.dim_a);
    let _ = writeln!(o, "B: {name_b} ({} x {})", s.rows_b, c.procrustes.dim_b);
    for (side, r) in [("A", &c.integrity_a), ("B", &c.integrity_b)] {
        if r.nan_rows + r.inf_rows + r.zero_rows > 0 {
            let _ = writeln!(
                o,
                "  integrity {side}: {} NaN, {} Inf, {} zero rows",
                r.nan_rows, r.inf_rows, r.zero_rows
            );
        }
    }
    let pair = PairSection {
        a: name_a.to_string(),
        b: name_b.to_string(),
        provenance: Some(provenance.clone()),
        vocabulary: Some(VocabularyDiff {
            summary: terminal_examples(s),
            tokenizer: tokenizer.cloned(),
        }),
        measures: Some(Measures::of(c)),
        words: Some(ChangedWords::of(c, c.options.top, 0)),
    };
    o.push('\n');
    o.push_str(&render::text::pair(0, &pair).map_err(|e| CliError::Runtime(e.into()))?);
    let k = c.k();
    if let Some(m) = c.options.max_rank {
        let _ = writeln!(o, "\nRanked: the words up to frequency rank {m}.");
    }
    for w in words {
        match c.detail(w, k) {
            Ok(d) => {
                let _ = writeln!(
                    o,
                    "\n'{}' (rank {}): Jaccard@{k} {:.3}, aligned cosine {:.3}   [* = in both]",
                    d.token, d.rank, d.jaccard, d.aligned_cosine
                );
                if let Some(text) = &d.text {
                    let _ = writeln!(o, "  {}", one_line(text, LIST_CHARS));
                }
                let documents = d.text.is_some();
                let width = if documents { 50 } else { 30 };
                let _ = writeln!(o, "  {:<width$} {:<width$}", "A", "B");
                for (x, y) in d.a.iter().zip(&d.b) {
                    let cell = |n: &compare::SideNeighbour| {
                        // A document: its id and first words.
                        let name = match &n.text {
                            Some(text) => format!("{} {}", n.token, one_line(text, 32)),
                            None => n.token.clone(),
                        };
                        format!(
                            "{}{name} {:.3}",
                            if n.shared { "*" } else { " " },
                            n.similarity
                        )
                    };
                    let _ = writeln!(o, "  {:<width$} {:<width$}", cell(x), cell(y));
                }
            }
            Err(e) => {
                let _ = writeln!(o, "\n'{w}': {e}");
            }
        }
    }
    let _ = writeln!(
        o,
        "\ntime {:.2} s (neighbours {:.2} s)",
        c.timing.total, c.timing.neighbours
    );
    Ok(o)
}

pub(super) fn per_word_csv(c: &Comparison) -> String {
    let k = c.k();
    let mut o = String::from("token,rank");
    for j in &c.jaccard {
        let _ = write!(o, ",jaccard_at_{}", j.k);
    }
    let _ = write!(
        o,
        ",rbo_at_{k},aligned_cosine,neighbours_a_at_{k},neighbours_b_at_{k}"
    );
    // Documents: their text last.
    let _ = writeln!(o, "{}", if c.texts.is_some() { ",text" } else { "" });
    let names = |l: &[u32]| {
        l[..k]
            .iter()
            .map(|&j| c.vocab.tokens[j as usize].as_str())
            .collect::<Vec<_>>()
            .join(" ")
    };
    for i in 0..c.shared() {
        let _ = write!(o, "{},{}", csv_field(&c.vocab.tokens[i]), c.rank[i]);
        for v in &c.word_jaccard {
            let _ = write!(o, ",{}", v[i]);
        }
        let _ = write!(
            o,
            ",{},{},{},{}",
            c.word_rbo[i],
            c.word_aligned_cosine[i],
            csv_field(&names(c.neighbours_a.of(i))),
            csv_field(&names(c.neighbours_b.of(i)))
        );
        match c.text(i) {
            Some(text) => {
                let _ = writeln!(o, ",{}", csv_field(&text));
            }
            None => o.push('\n'),
        }
    }
    o
}

pub(super) fn vocab_csv(c: &Comparison) -> String {
    let mut o = String::from("token,side,count,reason\n");
    let cnt = |x: Option<u64>| x.map_or(String::new(), |v| v.to_string());
    for t in &c.vocab.only_a {
        let _ = writeln!(o, "{},only_a,{},", csv_field(&t.token), cnt(t.count));
    }
    for t in &c.vocab.only_b {
        let _ = writeln!(o, "{},only_b,{},", csv_field(&t.token), cnt(t.count));
    }
    for e in &c.vocab.excluded {
        let _ = writeln!(
            o,
            "{},excluded_{},,{}",
            csv_field(&e.token),
            e.side,
            e.reason
        );
    }
    for (t, kept) in &c.vocab.merged_a {
        let _ = writeln!(
            o,
            "{},merged_a,,case variant of {}",
            csv_field(t),
            csv_field(kept)
        );
    }
    for (t, kept) in &c.vocab.merged_b {
        let _ = writeln!(
            o,
            "{},merged_b,,case variant of {}",
            csv_field(t),
            csv_field(kept)
        );
    }
    o
}

pub(super) fn write_file(path: &Path, text: &str) -> Result<(), CliError> {
    formats::atomic_write(path, text.as_bytes()).map_err(CliError::from)
}
