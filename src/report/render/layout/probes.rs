//! The bias probes and the evaluation benchmarks of every version.

use crate::analysis::bias::PValueMethod;
use crate::analysis::stats::Correlation;
use crate::report::fmt;
use crate::report::render::blocks::{Block, Cell, Span, para, table, text};
use crate::report::{BiasSection, Report, ReportError, charts, label};

fn p_method(m: &PValueMethod) -> String {
    match m {
        PValueMethod::Exact { partitions } => {
            format!("exact ({partitions} partitions)")
        }
        PValueMethod::Permutations { permutations, seed } => {
            format!("{permutations} random partitions, seed {seed}")
        }
    }
}

pub(super) fn bias(r: &Report, b: &mut Vec<Block>, with_images: bool) -> Result<(), ReportError> {
    match &r.bias {
        Some(s) => bias_of(s, b, with_images),
        None => {
            b.push(para(vec![text(
                "No bias probes were chosen (embedscope report --probes weat1,weat2,... or all).",
            )]));
            Ok(())
        }
    }
}

/// The WEAT results side by side, each result, the chart (`with_images`), the differences
/// between versions and what could not be computed.
pub(super) fn bias_of(
    s: &BiasSection,
    b: &mut Vec<Block>,
    with_images: bool,
) -> Result<(), ReportError> {
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
                                fmt::p_value(c.p_holm)
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

pub(super) fn eval(r: &Report, b: &mut Vec<Block>) {
    let Some(list) = &r.eval else { return };
    let corr = |c: &Option<Correlation>| c.as_ref().map_or(Cell::Empty, |c| Cell::Num(c.r, 4));
    let corr_p = |c: &Option<Correlation>| {
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
