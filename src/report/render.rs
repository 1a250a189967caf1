//! Writers: the report laid out once as a list of blocks (headings, paragraphs, tables,
//! images, code), then rendered as HTML, Markdown or CSV tables; JSON is the report value
//! itself. Every text value from the data (tokens, file names, metadata) is escaped by the
//! target format's escaper in [`super::escape`]; numbers are formatted here.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::escape;
use super::{Report, ReportError, Section, charts, label};
use crate::formats;

/// A table cell.
#[derive(Debug, Clone)]
enum Cell {
    Text(String),
    /// Hashes and other machine text, shown in monospace.
    Code(String),
    /// A number shown with this many decimals (full precision in CSV).
    Num(f64, usize),
    P(f64),
    Int(u64),
    Empty,
}

impl Cell {
    fn opt_text(s: Option<&str>) -> Cell {
        s.map_or(Cell::Empty, |s| Cell::Text(s.to_string()))
    }
    fn shown(&self) -> String {
        match self {
            Cell::Text(s) | Cell::Code(s) => s.clone(),
            Cell::Num(v, d) => num(*v, *d),
            Cell::P(p) => fmt_p(*p),
            Cell::Int(i) => i.to_string(),
            Cell::Empty => "-".into(),
        }
    }
    fn exact(&self) -> String {
        match self {
            Cell::Num(v, _) | Cell::P(v) if v.is_finite() => format!("{v}"),
            Cell::Empty => String::new(),
            c => c.shown(),
        }
    }
    fn is_number(&self) -> bool {
        matches!(self, Cell::Num(..) | Cell::P(_) | Cell::Int(_))
    }
}

fn num(v: f64, d: usize) -> String {
    if v.is_finite() {
        let t = format!("{v:.d$}");
        // A value that rounds to zero is shown without a sign ("-0.0000" reads as a finding).
        match t.strip_prefix('-') {
            Some(rest) if rest.chars().all(|c| c == '0' || c == '.') => rest.to_string(),
            _ => t,
        }
    } else {
        "-".into()
    }
}

fn fmt_p(p: f64) -> String {
    if !p.is_finite() {
        "-".into()
    } else if p < 1e-4 {
        format!("{p:.1e}")
    } else {
        format!("{p:.4}")
    }
}

#[derive(Debug, Clone)]
enum Span {
    Text(String),
    Strong(String),
}

#[derive(Debug, Clone)]
enum Block {
    /// Level (2 or 3), text, anchor id.
    Heading(u8, String, String),
    Para(Vec<Span>),
    Table {
        /// File stem of the table's CSV.
        csv: String,
        head: Vec<String>,
        rows: Vec<Vec<Cell>>,
    },
    Image {
        /// File stem of the image beside a Markdown report.
        file: String,
        alt: String,
        svg: String,
    },
    Code(String),
}

fn text(s: impl Into<String>) -> Span {
    Span::Text(s.into())
}

fn para(spans: Vec<Span>) -> Block {
    Block::Para(spans)
}

fn table(csv: impl Into<String>, head: &[&str], rows: Vec<Vec<Cell>>) -> Block {
    Block::Table {
        csv: csv.into(),
        head: head.iter().map(|h| h.to_string()).collect(),
        rows,
    }
}

/// The report laid out as blocks. `with_images`: draw the charts (not needed for CSV).
fn layout(r: &Report, with_images: bool) -> Result<Vec<Block>, ReportError> {
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
    for s in &r.sections {
        let before = b.len();
        b.push(Block::Heading(2, s.title().into(), s.name().into()));
        match s {
            Section::Datasets => datasets(r, &mut b),
            Section::Integrity => integrity(r, &mut b),
            Section::Vocabulary => vocabulary(r, &mut b),
            Section::Measures => measures(r, &mut b, with_images)?,
            Section::Words => words(r, &mut b),
            Section::Maps => maps(r, &mut b, with_images)?,
            Section::Bias => bias(r, &mut b, with_images)?,
            Section::Eval => eval(r, &mut b),
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

fn version_names(r: &Report) -> Vec<String> {
    let mut v: Vec<String> = r.pairs.iter().map(|p| p.a.clone()).collect();
    if let Some(p) = r.pairs.last() {
        v.push(p.b.clone());
    }
    v
}

fn pair_title(p: usize, r: &Report) -> String {
    let pr = &r.pairs[p];
    format!(
        "{} vs {}: {} vs {}",
        label(p),
        label(p + 1),
        short_name(&pr.a),
        short_name(&pr.b)
    )
}

/// A file's name without its folders, for narrow table cells (the full source is listed in
/// the provenance table).
pub(crate) fn short_name(name: &str) -> String {
    Path::new(name)
        .file_name()
        .map_or(name.to_string(), |n| n.to_string_lossy().into_owned())
}

fn datasets(r: &Report, b: &mut Vec<Block>) {
    let Some(ds) = &r.datasets else { return };
    let rows = ds
        .iter()
        .map(|d| {
            vec![
                Cell::Text(d.label.clone()),
                Cell::Text(short_name(&d.name)),
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
        for (k, v) in &d.params {
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
}

fn integrity(r: &Report, b: &mut Vec<Block>) {
    let Some(list) = &r.integrity else { return };
    let rows = list
        .iter()
        .map(|i| {
            let n = i.report.norms.as_ref();
            vec![
                Cell::Text(i.label.clone()),
                Cell::Text(short_name(&i.name)),
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

fn vocabulary(r: &Report, b: &mut Vec<Block>) {
    for (p, pr) in r.pairs.iter().enumerate() {
        let Some(v) = &pr.vocabulary else { continue };
        let n = p + 1;
        b.push(Block::Heading(
            3,
            pair_title(p, r),
            format!("vocabulary-{n}"),
        ));
        let s = &v.summary;
        b.push(table(
            format!("vocabulary_{n}"),
            &[
                "rows A",
                "rows B",
                "shared",
                "only in A",
                "only in B",
                "left out (NaN/Inf/zero)",
                "case variants merged A",
                "case variants merged B",
                "lowercase matching",
            ],
            vec![vec![
                Cell::Int(s.rows_a as u64),
                Cell::Int(s.rows_b as u64),
                Cell::Int(s.shared as u64),
                Cell::Int(s.only_a as u64),
                Cell::Int(s.only_b as u64),
                Cell::Int(s.excluded as u64),
                Cell::Int(s.merged_case_variants_a as u64),
                Cell::Int(s.merged_case_variants_b as u64),
                Cell::Text(if s.lowercase { "yes" } else { "no" }.into()),
            ]],
        ));
        let mut ex = Vec::new();
        for (side, list) in [
            ("only in A", &s.only_a_examples),
            ("only in B", &s.only_b_examples),
        ] {
            for t in list {
                ex.push(vec![
                    Cell::Text(side.into()),
                    Cell::Text(t.token.clone()),
                    t.count.map_or(Cell::Empty, Cell::Int),
                ]);
            }
        }
        for e in &s.excluded_examples {
            ex.push(vec![
                Cell::Text(format!("left out ({})", e.side)),
                Cell::Text(e.token.clone()),
                Cell::Empty,
            ]);
        }
        if !ex.is_empty() {
            b.push(para(vec![text(
                "Examples of tokens in one version only (the most frequent first):",
            )]));
            b.push(table(
                format!("vocabulary_{n}_examples"),
                &["where", "token", "count"],
                ex,
            ));
        }
        if let Some(td) = &v.tokenizer {
            let side = |t: &crate::model::tokdiff::TokenizerSummary| {
                vec![
                    Cell::Text(t.model.clone()),
                    Cell::Int(t.vocab_size as u64),
                    Cell::Text(if t.lowercase { "yes" } else { "no" }.into()),
                    Cell::Text(if t.strip_accents { "yes" } else { "no" }.into()),
                    t.max_length.map_or(Cell::Empty, |m| Cell::Int(m as u64)),
                    Cell::Text(t.normalizer.clone()),
                    Cell::Text(t.special_tokens.join(" ")),
                ]
            };
            let mut ra = vec![Cell::Text("A".into())];
            ra.extend(side(&td.a));
            let mut rb = vec![Cell::Text("B".into())];
            rb.extend(side(&td.b));
            b.push(para(vec![
                Span::Strong("Tokenizers.".into()),
                text(format!(
                    " {} of {} corpus words are split differently ({:.1}%); pieces per word A \
                     {:.2}, B {:.2}; words with an unknown piece A {:.1}%, B {:.1}%{}.",
                    td.words_different,
                    td.words_checked,
                    100.0 * td.share_different,
                    td.mean_pieces_a,
                    td.mean_pieces_b,
                    100.0 * td.unk_share_a,
                    100.0 * td.unk_share_b,
                    if td.identical_files {
                        "; the tokenizer files are identical"
                    } else {
                        ""
                    }
                )),
            ]));
            b.push(table(
                format!("tokenizer_{n}"),
                &[
                    "version",
                    "model",
                    "vocabulary",
                    "lowercase",
                    "strip accents",
                    "max length",
                    "normaliser",
                    "special tokens",
                ],
                vec![ra, rb],
            ));
            for note in &td.notes {
                b.push(para(vec![text(note.clone())]));
            }
            if !td.examples.is_empty() {
                b.push(table(
                    format!("tokenizer_{n}_examples"),
                    &["word", "pieces A", "pieces B"],
                    td.examples
                        .iter()
                        .map(|e| {
                            vec![
                                Cell::Text(e.word.clone()),
                                Cell::Text(e.a.join(" ")),
                                Cell::Text(e.b.join(" ")),
                            ]
                        })
                        .collect(),
                ));
            }
        }
    }
}

fn measures(r: &Report, b: &mut Vec<Block>, with_images: bool) -> Result<(), ReportError> {
    let ms: Vec<(usize, &super::Measures)> = r
        .pairs
        .iter()
        .enumerate()
        .filter_map(|(p, pr)| pr.measures.as_ref().map(|m| (p, m)))
        .collect();
    if ms.is_empty() {
        return Ok(());
    }
    let mut head: Vec<String> = vec!["measure".into()];
    head.extend(
        ms.iter()
            .map(|(p, _)| format!("{} vs {}", label(*p), label(p + 1))),
    );
    let mut rows: Vec<Vec<Cell>> = Vec::new();
    let mut row = |name: String, f: &dyn Fn(&super::Measures) -> Cell| {
        let mut v = vec![Cell::Text(name)];
        v.extend(ms.iter().map(|(_, m)| f(m)));
        rows.push(v);
    };
    if let Some((_, m0)) = ms.first() {
        for (ji, j) in m0.jaccard.iter().enumerate() {
            row(format!("mean Jaccard@{}", j.k), &|m| {
                m.jaccard
                    .get(ji)
                    .map_or(Cell::Empty, |j| Cell::Num(j.mean, 4))
            });
            row(format!("median Jaccard@{}", j.k), &|m| {
                m.jaccard
                    .get(ji)
                    .map_or(Cell::Empty, |j| Cell::Num(j.median, 4))
            });
        }
        row(
            format!("mean RBO (p = {}, depth {})", m0.rbo.p, m0.rbo.depth),
            &|m| Cell::Num(m.rbo.mean, 4),
        );
    }
    row("linear CKA".into(), &|m| Cell::Num(m.linear_cka, 4));
    row("Procrustes disparity".into(), &|m| {
        Cell::Num(m.procrustes.disparity, 4)
    });
    row("aligned cosine, mean".into(), &|m| {
        Cell::Num(m.procrustes.aligned_cosine_mean, 4)
    });
    row("aligned cosine, median".into(), &|m| {
        Cell::Num(m.procrustes.aligned_cosine_median, 4)
    });
    row("alignment anchors".into(), &|m| {
        Cell::Int(m.procrustes.anchors as u64)
    });
    row("row norm mean, first".into(), &|m| {
        Cell::Num(m.drift.a.row_norm_mean, 4)
    });
    row("row norm mean, second".into(), &|m| {
        Cell::Num(m.drift.b.row_norm_mean, 4)
    });
    row("KS of relative row norms".into(), &|m| {
        Cell::Num(m.drift.norm_ks, 4)
    });
    row("pair cosine mean, first".into(), &|m| {
        Cell::Num(m.drift.a.pair_cosine_mean, 4)
    });
    row("pair cosine mean, second".into(), &|m| {
        Cell::Num(m.drift.b.pair_cosine_mean, 4)
    });
    row("KS of pair cosines".into(), &|m| {
        Cell::Num(m.drift.pair_cosine_ks, 4)
    });
    row("Spearman of pair cosines".into(), &|m| {
        Cell::Num(m.drift.pair_cosine_spearman, 4)
    });
    row("drift score (1 - Spearman)".into(), &|m| {
        Cell::Num(m.drift.drift_score, 4)
    });
    row("centroid norm change".into(), &|m| {
        Cell::Num(m.drift.centroid_norm_change, 4)
    });
    row("sampled word pairs".into(), &|m| {
        Cell::Int(m.drift.pairs as u64)
    });
    b.push(Block::Table {
        csv: "measures".into(),
        head,
        rows,
    });
    for (p, m) in &ms {
        b.push(para(vec![
            Span::Strong(format!("{} vs {}:", label(*p), label(p + 1))),
            text(format!(" {}", m.procrustes.method)),
        ]));
        if with_images
            && let Some(svg) = charts::overlap_svg(
                m,
                &format!(
                    "{} vs {}: neighbourhood overlap per word",
                    label(*p),
                    label(p + 1)
                ),
            )?
        {
            b.push(Block::Image {
                file: format!("overlap_{}", p + 1),
                alt: format!(
                    "Histogram of neighbours in common, {} vs {}",
                    label(*p),
                    label(p + 1)
                ),
                svg,
            });
        }
    }
    Ok(())
}

fn neighbours(list: &[crate::analysis::compare::SideNeighbour]) -> String {
    list.iter()
        .map(|n| {
            format!(
                "{}{} ({:.2})",
                n.token,
                if n.shared { "*" } else { "" },
                n.similarity
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn words(r: &Report, b: &mut Vec<Block>) {
    for (p, pr) in r.pairs.iter().enumerate() {
        let Some(w) = &pr.words else { continue };
        let n = p + 1;
        b.push(Block::Heading(3, pair_title(p, r), format!("words-{n}")));
        b.push(para(vec![text(format!(
            "Neighbours are the {} nearest shared words by cosine in each version; * marks a \
             neighbour found in both lists. Jaccard@{} compares the two lists; the aligned \
             cosine compares the word's vectors after the Procrustes alignment.",
            w.k, w.k
        ))]));
        for (title, stem, list) in [
            (
                "Most changed neighbourhoods",
                "most_changed",
                &w.most_changed,
            ),
            (
                "Least changed neighbourhoods",
                "least_changed",
                &w.least_changed,
            ),
            (
                "Most displaced after alignment",
                "most_displaced",
                &w.most_displaced,
            ),
        ] {
            b.push(para(vec![Span::Strong(title.into())]));
            b.push(table(
                format!("words_{n}_{stem}"),
                &[
                    "word",
                    "rank",
                    &format!("Jaccard@{}", w.k),
                    "aligned cosine",
                    &format!("neighbours in {}", label(p)),
                    &format!("neighbours in {}", label(p + 1)),
                ],
                list.iter()
                    .map(|d| {
                        vec![
                            Cell::Text(d.token.clone()),
                            Cell::Int(u64::from(d.rank)),
                            Cell::Num(d.jaccard, 3),
                            Cell::Num(d.aligned_cosine, 3),
                            Cell::Text(neighbours(&d.a)),
                            Cell::Text(neighbours(&d.b)),
                        ]
                    })
                    .collect(),
            ));
        }
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

fn p_method(m: &crate::analysis::bias::PValueMethod) -> String {
    match m {
        crate::analysis::bias::PValueMethod::Exact { partitions } => {
            format!("exact ({partitions} partitions)")
        }
        crate::analysis::bias::PValueMethod::Permutations { permutations, seed } => {
            format!("{permutations} random partitions, seed {seed}")
        }
    }
}

fn bias(r: &Report, b: &mut Vec<Block>, with_images: bool) -> Result<(), ReportError> {
    let Some(s) = &r.bias else {
        b.push(para(vec![text(
            "No bias probes were chosen (embedscope report --probes weat1,weat2,... or all).",
        )]));
        return Ok(());
    };
    b.push(para(vec![text(format!(
        "WEAT on each version: effect size d (difference of mean associations over their \
         population standard deviation), one-sided permutation p-value, 95% percentile \
         bootstrap interval. Correction: {} over the {} p-values in the table, and separately \
         over the differences.",
        if s.correction == "holm" {
            "Holm".to_string()
        } else {
            s.correction.clone()
        },
        s.results.len()
    ))]));
    if s.results.is_empty() {
        b.push(para(vec![text(
            "No test could run on these versions; the reasons are listed below.",
        )]));
    } else {
        // Side by side: one row per test, one column per version.
        let mut head = vec!["test".to_string()];
        head.extend((0..s.versions.len()).map(|v| format!("{}: d [95% CI], p (Holm)", label(v))));
        let rows = s
            .tests
            .iter()
            .map(|t| {
                let mut row = vec![Cell::Text(t.clone())];
                row.extend((0..s.versions.len()).map(|v| {
                    let l = label(v);
                    s.results
                        .iter()
                        .find(|c| c.test == *t && c.label == l)
                        .map_or(Cell::Empty, |c| {
                            Cell::Text(format!(
                                "{:.3} {}, p {}",
                                c.effect_size,
                                c.ci95.map_or("[-]".to_string(), |ci| format!(
                                    "[{:.3}, {:.3}]",
                                    ci[0], ci[1]
                                )),
                                fmt_p(c.p_holm)
                            ))
                        })
                }));
                row
            })
            .collect();
        b.push(Block::Table {
            csv: "bias_side_by_side".into(),
            head,
            rows,
        });
        b.push(para(vec![Span::Strong("Each result".into())]));
    }
    b.push(table(
        "bias",
        &[
            "test",
            "version",
            "n x/y/a/b",
            "effect size",
            "95% CI",
            "p",
            "p (Holm)",
            "p-value method",
            "missing words",
        ],
        s.results
            .iter()
            .map(|c| {
                vec![
                    Cell::Text(c.test.clone()),
                    Cell::Text(c.label.clone()),
                    Cell::Text(format!("{}/{}/{}/{}", c.n[0], c.n[1], c.n[2], c.n[3])),
                    Cell::Num(c.effect_size, 3),
                    c.ci95.map_or(Cell::Empty, |ci| {
                        Cell::Text(format!("[{:.3}, {:.3}]", ci[0], ci[1]))
                    }),
                    Cell::P(c.p_value),
                    Cell::P(c.p_holm),
                    Cell::Text(p_method(&c.p_value_method)),
                    Cell::Text(c.missing.join(" ")),
                ]
            })
            .collect(),
    ));
    if with_images && let Some(svg) = charts::bias_svg(s)? {
        b.push(Block::Image {
            file: "bias".into(),
            alt: "WEAT effect sizes with 95% intervals per version".into(),
            svg,
        });
    }
    if !s.differences.is_empty() {
        b.push(para(vec![Span::Strong(
            "Differences between versions (on the target words both have; two-sided paired \
             sign-flip test)"
                .into(),
        )]));
        b.push(table(
            "bias_differences",
            &[
                "test",
                "first",
                "second",
                "effect first",
                "effect second",
                "difference",
                "p",
                "p (Holm)",
            ],
            s.differences
                .iter()
                .map(|d| {
                    vec![
                        Cell::Text(d.test.clone()),
                        Cell::Text(d.a.clone()),
                        Cell::Text(d.b.clone()),
                        Cell::Num(d.effect_a, 3),
                        Cell::Num(d.effect_b, 3),
                        Cell::Num(d.difference, 3),
                        Cell::P(d.p_value),
                        Cell::P(d.p_holm),
                    ]
                })
                .collect(),
        ));
    }
    if !s.errors.is_empty() {
        b.push(para(vec![Span::Strong("Not computed".into())]));
        b.push(table(
            "bias_not_computed",
            &["what", "reason"],
            s.errors
                .iter()
                .map(|e| {
                    let (what, why) = e.split_once(": ").unwrap_or(("", e));
                    vec![Cell::Text(what.into()), Cell::Text(why.into())]
                })
                .collect(),
        ));
    }
    Ok(())
}

fn eval(r: &Report, b: &mut Vec<Block>) {
    let Some(list) = &r.eval else { return };
    let corr = |c: &Option<crate::analysis::stats::Correlation>| {
        c.as_ref().map_or(Cell::Empty, |c| Cell::Num(c.r, 4))
    };
    let corr_p = |c: &Option<crate::analysis::stats::Correlation>| {
        c.as_ref()
            .and_then(|c| c.p_value)
            .map_or(Cell::Empty, Cell::P)
    };
    b.push(table(
        "eval_analogies",
        &[
            "version",
            "accuracy",
            "correct",
            "answered",
            "questions",
            "out of vocabulary %",
            "method",
        ],
        list.iter()
            .map(|e| {
                let a = &e.analogies;
                vec![
                    Cell::Text(e.label.clone()),
                    a.total.accuracy.map_or(Cell::Empty, |x| Cell::Num(x, 4)),
                    Cell::Int(a.total.correct),
                    Cell::Int(a.total.correct + a.total.incorrect),
                    Cell::Int(a.questions),
                    Cell::Num(a.oov_percent, 2),
                    Cell::Text(format!("{}, restrict_vocab {}", a.method, a.restrict_vocab)),
                ]
            })
            .collect(),
    ));
    b.push(table(
        "eval_similarity",
        &[
            "version",
            "benchmark",
            "Spearman rho",
            "p",
            "Pearson r",
            "p",
            "pairs",
            "out of vocabulary %",
        ],
        list.iter()
            .flat_map(|e| {
                e.similarity.iter().map(|s| {
                    vec![
                        Cell::Text(e.label.clone()),
                        Cell::Text(s.benchmark.clone()),
                        corr(&s.report.spearman),
                        corr_p(&s.report.spearman),
                        corr(&s.report.pearson),
                        corr_p(&s.report.pearson),
                        Cell::Int(s.report.pairs),
                        Cell::Num(s.report.oov_percent, 2),
                    ]
                })
            })
            .collect(),
    ));
    // Analogy sections: one row per section, one column per version.
    if let Some(first) = list.first() {
        let mut head = vec!["analogy section".to_string()];
        head.extend((0..list.len()).map(|v| format!("accuracy {}", label(v))));
        let rows = first
            .analogies
            .sections
            .iter()
            .enumerate()
            .map(|(si, s)| {
                let mut row = vec![Cell::Text(s.section.clone())];
                row.extend(list.iter().map(|e| {
                    e.analogies
                        .sections
                        .get(si)
                        .and_then(|x| x.accuracy)
                        .map_or(Cell::Empty, |x| Cell::Num(x, 4))
                }));
                row
            })
            .collect();
        b.push(Block::Table {
            csv: "eval_analogy_sections".into(),
            head,
            rows,
        });
    }
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

// ---------------------------------------------------------------------------------------------
// HTML

const CSS: &str = "
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; margin: 2rem auto;
  max-width: 1200px; padding: 0 1.5rem; color: #1b1b1b; line-height: 1.45; }
h1 { font-size: 1.7rem; margin-bottom: .3rem; }
h2 { font-size: 1.3rem; border-bottom: 2px solid #0072b2; padding-bottom: .2rem; margin-top: 2.2rem; }
h3 { font-size: 1.05rem; margin-top: 1.4rem; }
nav ul { display: flex; flex-wrap: wrap; gap: .3rem 1rem; padding: 0; list-style: none; }
nav a { color: #0072b2; text-decoration: none; }
table { border-collapse: collapse; margin: .6rem 0 1rem; font-size: .86rem; display: block;
  max-width: 100%; overflow-x: auto; }
th, td { border: 1px solid #d0d0d0; padding: .25rem .5rem; vertical-align: top; text-align: left;
  overflow-wrap: break-word; }
th { overflow-wrap: normal; }
th { background: #eef3f8; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td code, pre { font-family: ui-monospace, 'DejaVu Sans Mono', monospace; font-size: .8rem; }
td code { word-break: break-all; }
pre { background: #f5f5f5; border: 1px solid #ddd; padding: .6rem; white-space: pre-wrap;
  word-break: break-all; }
.ctl { background: #ffe3a3; color: #6b4000; border-radius: 3px; padding: 0 2px;
  font-family: ui-monospace, monospace; font-size: .8em; }
figure { display: inline-block; margin: .4rem .8rem .8rem 0; }
figure svg { max-width: 100%; height: auto; border: 1px solid #e3e3e3; }
figcaption { font-size: .8rem; color: #555; }
footer { margin-top: 3rem; font-size: .8rem; color: #666; }
@media print {
  body { margin: 0; max-width: none; font-size: 10pt; }
  nav { display: none; }
  h2 { break-before: auto; break-after: avoid; }
  h3 { break-after: avoid; }
  table { display: table; overflow: visible; }
  tr, figure { break-inside: avoid; }
  th { background: #eee !important; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  a { color: inherit; text-decoration: none; }
}
";

fn html_spans(spans: &[Span], out: &mut String) {
    for s in spans {
        match s {
            Span::Text(t) => out.push_str(&escape::html(t)),
            Span::Strong(t) => {
                let _ = write!(out, "<strong>{}</strong>", escape::html(t));
            }
        }
    }
}

/// The SVG element of a chart for inline use in HTML: the XML namespace attribute (a URL the
/// HTML parser does not need) removed, so the page names no external address at all.
fn inline_svg(svg: &str) -> String {
    svg.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1)
}

/// One self-contained HTML page: inline CSS and SVG, no script, a content security policy
/// that forbids fetching anything.
pub fn html(r: &Report) -> Result<String, ReportError> {
    let blocks = layout(r, true)?;
    let mut o = String::new();
    o.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    o.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; img-src data:\">\n",
    );
    o.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(
        o,
        "<meta name=\"generator\" content=\"embedscope {}\">",
        escape::html(&r.embedscope_version)
    );
    let _ = writeln!(o, "<title>{}</title>", escape::html(&r.title));
    let _ = writeln!(o, "<style>{CSS}</style>\n</head>\n<body>");
    let _ = writeln!(o, "<h1>{}</h1>", escape::html(&r.title));
    o.push_str("<nav><ul>\n");
    for s in &r.sections {
        let _ = writeln!(
            o,
            "<li><a href=\"#{}\">{}</a></li>",
            s.name(),
            escape::html(s.title())
        );
    }
    o.push_str("</ul></nav>\n");
    for b in &blocks {
        match b {
            Block::Heading(level, t, id) => {
                let _ = writeln!(
                    o,
                    "<h{level} id=\"{}\">{}</h{level}>",
                    escape::html(id),
                    escape::html(t)
                );
            }
            Block::Para(spans) => {
                o.push_str("<p>");
                html_spans(spans, &mut o);
                o.push_str("</p>\n");
            }
            Block::Code(t) => {
                let _ = writeln!(o, "<pre>{}</pre>", escape::html(t));
            }
            Block::Image { alt, svg, .. } => {
                let _ = writeln!(
                    o,
                    "<figure role=\"img\" aria-label=\"{}\">\n{}<figcaption>{}</figcaption>\n\
                     </figure>",
                    escape::html(alt),
                    inline_svg(svg),
                    escape::html(alt)
                );
            }
            Block::Table { head, rows, .. } => {
                o.push_str("<table>\n<thead><tr>");
                for h in head {
                    let _ = write!(o, "<th>{}</th>", escape::html(h));
                }
                o.push_str("</tr></thead>\n<tbody>\n");
                for row in rows {
                    o.push_str("<tr>");
                    for c in row {
                        match c {
                            Cell::Code(t) => {
                                let _ = write!(o, "<td><code>{}</code></td>", escape::html(t));
                            }
                            c if c.is_number() => {
                                let _ = write!(
                                    o,
                                    "<td class=\"num\">{}</td>",
                                    escape::html(&c.shown())
                                );
                            }
                            c => {
                                let _ = write!(o, "<td>{}</td>", escape::html(&c.shown()));
                            }
                        }
                    }
                    o.push_str("</tr>\n");
                }
                o.push_str("</tbody>\n</table>\n");
            }
        }
    }
    let _ = writeln!(
        o,
        "<footer>Made by embedscope {} on this machine; no data was sent anywhere.</footer>\n\
         </body>\n</html>",
        escape::html(&r.embedscope_version)
    );
    Ok(o)
}

// ---------------------------------------------------------------------------------------------
// Markdown

fn md_spans(spans: &[Span], out: &mut String) {
    for s in spans {
        match s {
            Span::Text(t) => out.push_str(&escape::markdown(t)),
            Span::Strong(t) => {
                let _ = write!(out, "**{}**", escape::markdown(t));
            }
        }
    }
}

fn md_cell(c: &Cell) -> String {
    match c {
        c if c.is_number() => c.shown(),
        Cell::Empty => "-".into(),
        Cell::Code(t) | Cell::Text(t) => escape::markdown_cell(t),
        c => escape::markdown_cell(&c.shown()),
    }
}

/// Markdown text and its images (`(file name, SVG)`), referenced as `image_dir/NAME.svg`.
pub fn markdown(
    r: &Report,
    image_dir: &str,
) -> Result<(String, Vec<(String, String)>), ReportError> {
    let blocks = layout(r, true)?;
    let mut o = String::new();
    let mut images = Vec::new();
    let _ = writeln!(o, "# {}\n", escape::markdown(&r.title));
    for b in &blocks {
        match b {
            Block::Heading(level, t, _) => {
                let _ = writeln!(
                    o,
                    "{} {}\n",
                    "#".repeat(usize::from(*level)),
                    escape::markdown(t)
                );
            }
            Block::Para(spans) => {
                md_spans(spans, &mut o);
                o.push_str("\n\n");
            }
            Block::Code(t) => {
                let (fence, body) = escape::markdown_fence(t);
                let _ = writeln!(o, "{fence}text\n{body}\n{fence}\n");
            }
            Block::Image { file, alt, svg } => {
                let name = format!("{file}.svg");
                let _ = writeln!(
                    o,
                    "![{}]({}/{})\n",
                    escape::markdown(alt),
                    md_link_target(image_dir),
                    name
                );
                images.push((name, svg.clone()));
            }
            Block::Table { head, rows, .. } => {
                o.push('|');
                for h in head {
                    let _ = write!(o, " {} |", escape::markdown_cell(h));
                }
                o.push_str("\n|");
                for _ in head {
                    o.push_str(" --- |");
                }
                o.push('\n');
                for row in rows {
                    o.push('|');
                    for c in row {
                        let _ = write!(o, " {} |", md_cell(c));
                    }
                    o.push('\n');
                }
                o.push('\n');
            }
        }
    }
    let _ = writeln!(
        o,
        "---\n\nMade by embedscope {} on this machine; no data was sent anywhere.",
        escape::markdown(&r.embedscope_version)
    );
    Ok((o, images))
}

/// A relative link target: percent-encoded where a character would end or confuse the link.
fn md_link_target(dir: &str) -> String {
    let mut out = String::new();
    for b in dir.bytes() {
        if b.is_ascii_alphanumeric() || b"-_./".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// JSON and CSV

/// The report as pretty JSON (no timestamps; the same report gives the same bytes), hazardous
/// characters inside strings written as `\uXXXX`.
pub fn json(r: &Report) -> Result<String, ReportError> {
    let text = serde_json::to_string_pretty(r)
        .map_err(|e| ReportError::Invalid(format!("the report cannot be written as JSON: {e}")))?;
    Ok(escape::json_ascii_hazards(&text) + "\n")
}

/// One CSV text per table: `(file name, text)`.
pub fn csv_tables(r: &Report) -> Result<Vec<(String, String)>, ReportError> {
    let blocks = layout(r, false)?;
    let mut out = Vec::new();
    let mut used = std::collections::HashSet::new();
    for b in &blocks {
        let Block::Table { csv, head, rows } = b else {
            continue;
        };
        let mut name = format!("{csv}.csv");
        let mut n = 2;
        while !used.insert(name.clone()) {
            name = format!("{csv}_{n}.csv");
            n += 1;
        }
        let mut t = head
            .iter()
            .map(|h| escape::csv(h))
            .collect::<Vec<_>>()
            .join(",");
        t.push('\n');
        for row in rows {
            t.push_str(
                &row.iter()
                    .map(|c| escape::csv(&c.exact()))
                    .collect::<Vec<_>>()
                    .join(","),
            );
            t.push('\n');
        }
        out.push((name, t));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Files

/// What `--out` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Html,
    Markdown,
    Json,
    /// A folder with one CSV file per table.
    CsvDir,
}

impl OutputFormat {
    /// From the output path: `.html`/`.htm`, `.md`/`.markdown`, `.json`, or a folder (an
    /// existing one, a path ending in `/`, or a name without extension) for CSV files.
    pub fn from_path(path: &Path) -> Result<OutputFormat, ReportError> {
        let s = path.to_string_lossy();
        if path.is_dir() || s.ends_with('/') || s.ends_with(std::path::MAIN_SEPARATOR) {
            return Ok(OutputFormat::CsvDir);
        }
        match path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .as_deref()
        {
            Some("html" | "htm") => Ok(OutputFormat::Html),
            Some("md" | "markdown") => Ok(OutputFormat::Markdown),
            Some("json") => Ok(OutputFormat::Json),
            None => Ok(OutputFormat::CsvDir),
            Some(other) => Err(ReportError::Invalid(format!(
                "{}: unknown report format .{other}; use .html, .md, .json, or a folder for \
                 CSV tables",
                path.display()
            ))),
        }
    }
}

/// The folder of a Markdown report's images: `NAME_files` beside `NAME.md`.
pub fn image_dir_name(md: &Path) -> String {
    let stem = md
        .file_stem()
        .map_or("report".into(), |s| s.to_string_lossy().into_owned());
    format!("{stem}_files")
}

fn create_dir(dir: &Path) -> Result<(), ReportError> {
    std::fs::create_dir_all(dir).map_err(|e| {
        ReportError::Invalid(format!("{}: cannot create the folder: {e}", dir.display()))
    })
}

/// Writes the report to `path` in `format`; every file is written atomically (a temporary
/// file renamed into place), images before the Markdown that links them. Returns the files.
pub fn write(r: &Report, path: &Path, format: OutputFormat) -> Result<Vec<PathBuf>, ReportError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.is_dir()
    {
        return Err(ReportError::Invalid(format!(
            "{}: the folder {} does not exist",
            path.display(),
            parent.display()
        )));
    }
    let mut written = Vec::new();
    match format {
        OutputFormat::Html => {
            formats::atomic_write(path, html(r)?.as_bytes())?;
            written.push(path.to_path_buf());
        }
        OutputFormat::Json => {
            formats::atomic_write(path, json(r)?.as_bytes())?;
            written.push(path.to_path_buf());
        }
        OutputFormat::Markdown => {
            let dir_name = image_dir_name(path);
            let (text, images) = markdown(r, &dir_name)?;
            if !images.is_empty() {
                let dir = path.with_file_name(&dir_name);
                create_dir(&dir)?;
                for (name, svg) in images {
                    let p = dir.join(name);
                    formats::atomic_write(&p, svg.as_bytes())?;
                    written.push(p);
                }
            }
            formats::atomic_write(path, text.as_bytes())?;
            written.push(path.to_path_buf());
        }
        OutputFormat::CsvDir => {
            create_dir(path)?;
            for (name, text) in csv_tables(r)? {
                let p = path.join(name);
                formats::atomic_write(&p, text.as_bytes())?;
                written.push(p);
            }
        }
    }
    Ok(written)
}
