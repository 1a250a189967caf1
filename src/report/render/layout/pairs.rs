//! The sections of each compared pair: vocabulary and tokenizer, global measures, changed
//! words.

use super::pair_title;
use crate::analysis::compare::SideNeighbour;
use crate::core::one_line;
use crate::model::tokdiff::TokenizerSummary;
use crate::report::fmt::tokenizer_sentence;
use crate::report::render::blocks::{Block, Cell, Span, para, table, text};
use crate::report::{Measures, PairSection, Report, ReportError, charts, label};

pub(super) fn vocabulary(r: &Report, b: &mut Vec<Block>) {
    for (p, pr) in r.pairs.iter().enumerate() {
        vocabulary_of(p, pr, b);
    }
}

/// Pair `p`'s vocabulary and tokenizer diff (nothing when it has none).
pub(super) fn vocabulary_of(p: usize, pr: &PairSection, b: &mut Vec<Block>) {
    let Some(v) = &pr.vocabulary else { return };
    let n = p + 1;
    b.push(Block::Heading(
        3,
        pair_title(p, pr),
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
        let side = |t: &TokenizerSummary| {
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
            text(format!(" {}", tokenizer_sentence(td))),
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

pub(super) fn measures(
    r: &Report,
    b: &mut Vec<Block>,
    with_images: bool,
) -> Result<(), ReportError> {
    let ms: Vec<(usize, &Measures)> = r
        .pairs
        .iter()
        .enumerate()
        .filter_map(|(p, pr)| pr.measures.as_ref().map(|m| (p, m)))
        .collect();
    measures_of(&ms, b, with_images)
}

/// One table of the measures of the pairs `(p, measures)`, a column per pair, then each pair's
/// alignment method (and, `with_images`, its overlap histogram).
pub(super) fn measures_of(
    ms: &[(usize, &Measures)],
    b: &mut Vec<Block>,
    with_images: bool,
) -> Result<(), ReportError> {
    if ms.is_empty() {
        return Ok(());
    }
    let mut head: Vec<String> = vec!["measure".into()];
    head.extend(
        ms.iter()
            .map(|(p, _)| format!("{} vs {}", label(*p), label(p + 1))),
    );
    let mut rows: Vec<Vec<Cell>> = Vec::new();
    let mut row = |name: String, f: &dyn Fn(&Measures) -> Cell| {
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
    for &(p, m) in ms {
        b.push(para(vec![
            Span::Strong(format!("{} vs {}:", label(p), label(p + 1))),
            text(format!(" {}", m.procrustes.method)),
        ]));
        if with_images
            && let Some(svg) = charts::overlap_svg(
                m,
                &format!(
                    "{} vs {}: neighbourhood overlap per word",
                    label(p),
                    label(p + 1)
                ),
            )?
        {
            b.push(Block::Image {
                file: format!("overlap_{}", p + 1),
                alt: format!(
                    "Histogram of neighbours in common, {} vs {}",
                    label(p),
                    label(p + 1)
                ),
                svg,
            });
        }
    }
    Ok(())
}

fn neighbours(list: &[SideNeighbour]) -> String {
    let documents = list.iter().any(|n| n.text.is_some());
    list.iter()
        .map(|n| {
            // A document: its id and first words.
            let name = match &n.text {
                Some(text) => format!("{} \"{}\"", n.token, one_line(text, NEIGHBOUR_CHARS)),
                None => n.token.clone(),
            };
            format!(
                "{name}{} ({:.2})",
                if n.shared { "*" } else { "" },
                n.similarity
            )
        })
        .collect::<Vec<_>>()
        .join(if documents { "; " } else { ", " })
}

/// Characters of a document's text in a ranked list and in a neighbour list.
const ROW_CHARS: usize = 100;
const NEIGHBOUR_CHARS: usize = 40;

pub(super) fn words(r: &Report, b: &mut Vec<Block>) {
    for (p, pr) in r.pairs.iter().enumerate() {
        words_of(p, pr, b);
    }
}

/// Pair `p`'s ranked word lists (nothing when it has none).
pub(super) fn words_of(p: usize, pr: &PairSection, b: &mut Vec<Block>) {
    let Some(w) = &pr.words else { return };
    let n = p + 1;
    b.push(Block::Heading(3, pair_title(p, pr), format!("words-{n}")));
    let lists = [&w.most_changed, &w.least_changed, &w.most_displaced];
    // Lists made without neighbours (the command line's ranked lists) leave their columns out.
    let with_neighbours = lists.iter().all(|l| l.is_empty())
        || lists
            .iter()
            .any(|l| l.iter().any(|d| !d.a.is_empty() || !d.b.is_empty()));
    b.push(para(vec![text(if with_neighbours {
        format!(
            "Neighbours are the {} nearest shared words by cosine in each version; * marks a \
             neighbour found in both lists. Jaccard@{} compares the two lists; the aligned \
             cosine compares the word's vectors after the Procrustes alignment.",
            w.k, w.k
        )
    } else {
        format!(
            "Jaccard@{} compares a word's {} nearest shared words by cosine in the two \
             versions; the aligned cosine compares the word's vectors after the Procrustes \
             alignment.",
            w.k, w.k
        )
    })]));
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
        let jaccard = format!("Jaccard@{}", w.k);
        let in_a = format!("neighbours in {}", label(p));
        let in_b = format!("neighbours in {}", label(p + 1));
        let documents = list.iter().any(|d| d.text.is_some());
        let mut head = if documents {
            vec!["document", "text", "row", &jaccard, "aligned cosine"]
        } else {
            vec!["word", "rank", &jaccard, "aligned cosine"]
        };
        if with_neighbours {
            head.extend([in_a.as_str(), in_b.as_str()]);
        }
        b.push(table(
            format!("words_{n}_{stem}"),
            &head,
            list.iter()
                .map(|d| {
                    let mut row = vec![Cell::Text(d.token.clone())];
                    if documents {
                        row.push(Cell::Text(one_line(
                            d.text.as_deref().unwrap_or(""),
                            ROW_CHARS,
                        )));
                    }
                    row.extend([
                        Cell::Int(u64::from(d.rank)),
                        Cell::Num(d.jaccard, 3),
                        Cell::Num(d.aligned_cosine, 3),
                    ]);
                    if with_neighbours {
                        row.push(Cell::Text(neighbours(&d.a)));
                        row.push(Cell::Text(neighbours(&d.b)));
                    }
                    row
                })
                .collect(),
        ));
    }
}
