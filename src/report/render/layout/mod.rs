//! The report laid out once as blocks: the opening paragraph and the regenerating command,
//! then each chosen section in order, with the notes of what could not be computed. The pair
//! sections are in [`pairs`], the drift studies in [`drift`], the bias probes and benchmarks in
//! [`probes`].

mod drift;
mod pairs;
mod probes;

use serde_json::Value;

use super::blocks::{Block, Cell, Span, para, table, text};
use crate::report::fmt::file_name;
use crate::report::{BiasSection, PairSection, Report, ReportError, Section, charts, label};

/// The report laid out as blocks. `with_images`: draw the charts (not needed for CSV).
pub(crate) fn layout(r: &Report, with_images: bool) -> Result<Vec<Block>, ReportError> {
    let mut b = Vec::new();
    let versions: Vec<String> = version_names(r);
    b.push(para(vec![
        Span::Strong("embedscope ".to_string() + &r.embedscope_version),
        text(". Versions: "),
        text(
            versions
                .iter()
                .enumerate()
                .map(|(i, v)| format!("{} = {v}", label(i)))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        text(". Each version is compared with the next."),
    ]));
    if !r.command.is_empty() {
        b.push(para(vec![text("Regenerate this report with:")]));
        b.push(Block::Code(r.command.clone()));
    }
    redaction(r, &mut b);
    for s in &r.sections {
        let before = b.len();
        b.push(Block::Heading(2, s.title().into(), s.name().into()));
        match s {
            Section::Datasets => datasets(r, &mut b),
            Section::Integrity => integrity(r, &mut b),
            Section::Vocabulary => pairs::vocabulary(r, &mut b),
            Section::Measures => pairs::measures(r, &mut b, with_images)?,
            Section::Words => pairs::words(r, &mut b),
            Section::Maps => maps(r, &mut b, with_images)?,
            Section::Drift => drift::drift(r, &mut b, with_images)?,
            Section::Bias => probes::bias(r, &mut b, with_images)?,
            Section::Eval => probes::eval(r, &mut b),
            Section::Parameters => parameters(r, &mut b),
        }
        let prefix = format!("{}: ", s.name());
        for n in r.notes.iter().filter(|n| n.starts_with(&prefix)) {
            b.push(para(vec![
                Span::Strong("Not computed:".into()),
                text(format!(" {}", &n[prefix.len()..])),
            ]));
        }
        if b.len() == before + 1 {
            b.push(para(vec![text("Nothing to show.")]));
        }
    }
    Ok(b)
}

/// What `--redact` masked: the counts per kind and the places, never a value.
fn redaction(r: &Report, b: &mut Vec<Block>) {
    let Some(x) = &r.redaction else { return };
    b.push(Block::Heading(2, "Redaction".into(), "redaction".into()));
    let found: Vec<String> = x
        .counts
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| format!("{n} {k}"))
        .collect();
    b.push(para(vec![
        Span::Strong("Personal data redacted.".into()),
        text(if x.total == 0 {
            " Every text from the data (tokens, neighbour lists, map labels, document texts, \
             cluster keywords, provenance values, notes) was scanned; nothing was found to mask."
                .to_string()
        } else {
            format!(
                " Every text from the data (tokens, neighbour lists, map labels, document \
                 texts, cluster keywords, provenance values, notes) was scanned and each \
                 finding masked: {} finding{} ({}).",
                x.total,
                if x.total == 1 { "" } else { "s" },
                found.join(", ")
            )
        }),
    ]));
    b.push(table(
        "redaction",
        &["kind", "masked"],
        x.counts
            .iter()
            .map(|(k, n)| vec![Cell::Text(k.clone()), Cell::Int(*n)])
            .collect(),
    ));
    if !x.places.is_empty() {
        b.push(table(
            "redaction_places",
            &["where", "kind", "masked"],
            x.places
                .iter()
                .map(|p| {
                    vec![
                        Cell::Text(p.place.clone()),
                        Cell::Text(p.kind.clone()),
                        Cell::Int(p.count),
                    ]
                })
                .collect(),
        ));
    }
}

fn version_names(r: &Report) -> Vec<String> {
    let mut v: Vec<String> = r.pairs.iter().map(|p| p.a.clone()).collect();
    if let Some(p) = r.pairs.last() {
        v.push(p.b.clone());
    }
    v
}

/// "A vs B: a.vec vs b.vec": pair `p`'s title.
fn pair_title(p: usize, pr: &PairSection) -> String {
    format!(
        "{} vs {}: {} vs {}",
        label(p),
        label(p + 1),
        file_name(&pr.a),
        file_name(&pr.b)
    )
}

/// Pair `p`'s vocabulary, measures and changed words, each under its section's heading (no
/// images): the comparison of one pair on its own.
pub(crate) fn pair(p: usize, pr: &PairSection) -> Result<Vec<Block>, ReportError> {
    let mut b = Vec::new();
    let heading = |s: Section| Block::Heading(2, s.title().into(), s.name().into());
    if let Some(d) = &pr.provenance {
        b.push(para(vec![text(format!("{}.", d.summary))]));
    }
    if pr.vocabulary.is_some() {
        b.push(heading(Section::Vocabulary));
        pairs::vocabulary_of(p, pr, &mut b);
    }
    if let Some(m) = &pr.measures {
        b.push(heading(Section::Measures));
        pairs::measures_of(&[(p, m)], &mut b, false)?;
    }
    if pr.words.is_some() {
        b.push(heading(Section::Words));
        pairs::words_of(p, pr, &mut b);
    }
    Ok(b)
}

/// The bias section's blocks on their own (no images).
pub(crate) fn bias(s: &BiasSection) -> Result<Vec<Block>, ReportError> {
    let mut b = Vec::new();
    probes::bias_of(s, &mut b, false)?;
    Ok(b)
}

fn datasets(r: &Report, b: &mut Vec<Block>) {
    let Some(ds) = &r.datasets else { return };
    let rows = ds
        .iter()
        .map(|d| {
            vec![
                Cell::Text(d.label.clone()),
                Cell::Text(file_name(&d.name)),
                Cell::Text(d.format.clone()),
                Cell::Int(d.rows as u64),
                Cell::Int(d.dim as u64),
                d.file_size.map_or(Cell::Empty, Cell::Int),
                Cell::opt_text(d.model_id.as_deref()),
                Cell::opt_text(d.backend.as_deref()),
            ]
        })
        .collect();
    b.push(table(
        "datasets",
        &[
            "version",
            "file",
            "format",
            "rows",
            "dim",
            "bytes",
            "model",
            "backend / adapter",
        ],
        rows,
    ));
    let mut params = Vec::new();
    for d in ds {
        let mut kv = |k: &str, v: Cell| {
            params.push(vec![Cell::Text(d.label.clone()), Cell::Text(k.into()), v]);
        };
        kv("name", Cell::Text(d.name.clone()));
        kv("source", Cell::Text(d.source.clone()));
        kv("sha256", d.sha256.clone().map_or(Cell::Empty, Cell::Code));
        if let Some(t) = &d.tokenizer_sha256 {
            kv("tokenizer sha256", Cell::Code(t.clone()));
        }
        if let Some(w) = &d.weights_sha256 {
            kv("weights sha256", Cell::Code(w.clone()));
        }
        for (k, v) in d.params.iter().chain(&d.encoding) {
            if !matches!(
                k.as_str(),
                "tokenizer_sha256" | "weights_sha256" | "backend"
            ) {
                kv(k, Cell::Text(v.clone()));
            }
        }
        for w in &d.warnings {
            kv("warning", Cell::Text(w.clone()));
        }
    }
    b.push(table("provenance", &["version", "field", "value"], params));
    let diffs: Vec<Vec<Cell>> = r
        .pairs
        .iter()
        .filter_map(|pr| pr.provenance.as_ref())
        .map(|d| {
            vec![
                Cell::Text(format!("{} vs {}", d.a, d.b)),
                Cell::Text(d.summary.clone()),
            ]
        })
        .collect();
    if !diffs.is_empty() {
        b.push(para(vec![text(
            "What differs between each version's encoding and the next one's (model, weights, \
             pooling, normalisation, prompt, max length, truncation, backend, level):",
        )]));
        b.push(table(
            "provenance_differences",
            &["versions", "provenance"],
            diffs,
        ));
    }
}

fn integrity(r: &Report, b: &mut Vec<Block>) {
    let Some(list) = &r.integrity else { return };
    let rows = list
        .iter()
        .map(|i| {
            let n = i.report.norms.as_ref();
            vec![
                Cell::Text(i.label.clone()),
                Cell::Text(file_name(&i.name)),
                Cell::Int(i.report.rows),
                Cell::Int(i.report.dim),
                Cell::Int(i.report.nan_rows),
                Cell::Int(i.report.inf_rows),
                Cell::Int(i.report.zero_rows),
                Cell::Int(i.report.duplicate_tokens),
                Cell::Int(i.report.invalid_utf8_tokens),
                n.map_or(Cell::Empty, |n| Cell::Num(n.min, 4)),
                n.map_or(Cell::Empty, |n| Cell::Num(n.median, 4)),
                n.map_or(Cell::Empty, |n| Cell::Num(n.max, 4)),
                Cell::Text(
                    n.map_or("-", |n| if n.unit_normalized { "yes" } else { "no" })
                        .into(),
                ),
            ]
        })
        .collect();
    b.push(table(
        "integrity",
        &[
            "version",
            "file",
            "rows",
            "dim",
            "NaN rows",
            "Inf rows",
            "zero rows",
            "duplicates dropped",
            "invalid UTF-8",
            "norm min",
            "norm median",
            "norm max",
            "unit length",
        ],
        rows,
    ));
    let mut ex = Vec::new();
    for i in list {
        let e = &i.report.examples;
        for (kind, toks) in [
            ("NaN", &e.nan),
            ("Inf", &e.inf),
            ("zero", &e.zero),
            ("invalid UTF-8", &e.invalid_utf8),
        ] {
            for t in toks {
                ex.push(vec![
                    Cell::Text(i.label.clone()),
                    Cell::Text(kind.into()),
                    Cell::Text(t.clone()),
                ]);
            }
        }
        for d in &e.duplicates {
            ex.push(vec![
                Cell::Text(i.label.clone()),
                Cell::Text(format!(
                    "duplicate (row {} kept, row {} dropped)",
                    d.kept_row, d.dropped_row
                )),
                Cell::Text(d.token.clone()),
            ]);
        }
    }
    if !ex.is_empty() {
        b.push(table(
            "integrity_examples",
            &["version", "finding", "token"],
            ex,
        ));
    }
}

fn maps(r: &Report, b: &mut Vec<Block>, with_images: bool) -> Result<(), ReportError> {
    let Some(m) = &r.maps else { return Ok(()) };
    b.push(para(vec![text(format!(
        "{}. Each map draws the {} most frequent of the {} shared words; the labelled words \
         are the most displaced ones of A vs B.",
        m.method, m.drawn, m.shared_words
    ))]));
    if with_images {
        for v in 0..m.versions.len() {
            b.push(Block::Image {
                file: format!("map_{}", label(v)),
                alt: format!("Map of {}", label(v)),
                svg: charts::map_svg(m, v)?,
            });
        }
    }
    let mut head: Vec<String> = vec!["word".into()];
    for v in 0..m.versions.len() {
        head.push(format!("x {}", label(v)));
        head.push(format!("y {}", label(v)));
    }
    b.push(Block::Table {
        csv: "map_labelled_words".into(),
        head,
        rows: m
            .labelled
            .iter()
            .map(|w| {
                let mut row = vec![Cell::Text(w.token.clone())];
                for p in &w.positions {
                    row.push(Cell::Num(f64::from(p[0]), 3));
                    row.push(Cell::Num(f64::from(p[1]), 3));
                }
                row
            })
            .collect(),
    });
    Ok(())
}

fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, x, out);
            }
        }
        Value::Array(a) if a.iter().all(|x| !x.is_object() && !x.is_array()) => {
            out.push((
                prefix.to_string(),
                a.iter().map(scalar).collect::<Vec<_>>().join(","),
            ));
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                flatten(&format!("{prefix}.{i}"), x, out);
            }
        }
        x => out.push((prefix.to_string(), scalar(x))),
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "none".into(),
        x => x.to_string(),
    }
}

fn parameters(r: &Report, b: &mut Vec<Block>) {
    let Some(p) = &r.parameters else { return };
    let mut kv = Vec::new();
    if let Ok(v) = serde_json::to_value(p) {
        flatten("", &v, &mut kv);
    }
    kv.push(("embedscope_version".into(), r.embedscope_version.clone()));
    b.push(table(
        "parameters",
        &["parameter", "value"],
        kv.into_iter()
            .map(|(k, v)| vec![Cell::Code(k), Cell::Text(v)])
            .collect(),
    ));
}
