//! `embedscope bias weat`: every test on every version (vector files, or model folders for
//! the SEAT-style sentence probes), Holm's correction and the differences between versions;
//! one JSON object, or the report's bias tables as text.

use std::path::Path;
use std::time::Instant;

use embedscope::analysis::AnalysisError;
use embedscope::analysis::bias::{self, WeatOptions, WeatResult, WeatTest, seat};
use embedscope::core::EmbeddingSet;
use embedscope::engine::device::{self, BackendChoice};
use embedscope::engine::encode::{self, Level};
use embedscope::model::Encoder;
use embedscope::report::{self, BiasSection, render};
use serde_json::{Value, json};

use super::{WeatArgs, tests_of, weat_options};
use crate::cli::{CliError, print_json, usage};

/// A version the tests run on: vectors, or an encoder for SEAT.
enum Subject {
    Vectors(Box<EmbeddingSet>),
    Encoder(Box<Encoder>, usize, usize),
}

fn run_test(s: &Subject, test: &WeatTest, opts: &WeatOptions) -> Result<WeatResult, AnalysisError> {
    match s {
        Subject::Vectors(set) => bias::weat(set, test, opts),
        Subject::Encoder(enc, batch, max_tokens) => {
            let st = seat::sentence_test(test);
            let mut vecs: [Vec<Vec<f32>>; 4] = Default::default();
            for (slot, set) in vecs.iter_mut().zip([&st.x, &st.y, &st.a, &st.b]) {
                let texts: Vec<&str> = set.words.iter().map(String::as_str).collect();
                // The grid records failures as analysis errors; the message is the encoder's.
                *slot = enc
                    .encode(&texts, *batch, *max_tokens)
                    .map_err(|e| AnalysisError::InvalidParameter(e.to_string()))?;
            }
            bias::weat_on_vectors(&st, vecs, opts)
        }
    }
}

fn result_json(model: &str, r: &WeatResult, p_holm: f64) -> Value {
    let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        m.insert("model".into(), json!(model));
        m.insert("p_holm".into(), json!(p_holm));
        // NaN is not JSON: an interval that was not computed is null.
        if r.ci95.iter().any(|x| x.is_nan()) {
            m.insert("ci95".into(), Value::Null);
        }
    }
    v
}

fn load(a: &WeatArgs) -> Result<Vec<Subject>, CliError> {
    let mut subjects = Vec::with_capacity(a.files.len());
    for f in &a.files {
        if Path::new(f).is_dir() {
            let choice = BackendChoice::from(a.backend);
            let (dev, info) = device::select(choice).map_err(|e| CliError::Runtime(e.into()))?;
            eprintln!("{f}: {}", info.describe());
            let enc =
                Encoder::load(Path::new(f), &dev, None).map_err(|e| CliError::Runtime(e.into()))?;
            let eo = encode::options_for(&enc, &info, Level::Sentence, a.batch_size);
            subjects.push(Subject::Encoder(
                Box::new(enc),
                eo.batch_size,
                eo.max_tokens,
            ));
        } else {
            subjects.push(Subject::Vectors(Box::new(a.load.load(f)?.set)));
        }
    }
    Ok(subjects)
}

pub(super) fn weat(a: &WeatArgs) -> Result<(), CliError> {
    let opts = weat_options(a)?;
    let tests = tests_of(a)?;
    if a.batch_size == 0 {
        return Err(usage("--batch-size must be at least 1"));
    }
    let t0 = Instant::now();
    let subjects = load(a)?;
    let load_s = t0.elapsed().as_secs_f64();
    {
        let words = tests
            .iter()
            .map(|t| t.x.words.len() + t.y.words.len() + t.a.words.len() + t.b.words.len())
            .max()
            .unwrap_or(0);
        super::super::guard(&embedscope::analysis::memory::bias_grid(
            a.files.len(),
            tests.len(),
            words,
            // The widest space a version may have (no family here is wider than 1,024).
            1024,
            opts.permutations.max(opts.bootstrap),
        ))?;
    }
    let t1 = Instant::now();
    let grid = bias::weat_grid(
        &tests,
        &a.files,
        &opts,
        &mut |test, v| run_test(&subjects[v], test, &opts),
        &mut |_, _, _, _| {},
        &|| false,
    )?;
    // The first cell that failed stops the command, named by its file.
    if let Some(f) = grid.failures.first() {
        return Err(CliError::Runtime(anyhow::anyhow!(
            "{}: {}",
            a.files[f.version],
            f.error
        )));
    }
    if let Some(e) = grid.across.errors.first() {
        return Err(CliError::Runtime(anyhow::anyhow!("{e}")));
    }
    let stats_s = t1.elapsed().as_secs_f64();
    if a.json {
        print_results_json(a, &grid, json!({"load": load_s, "statistics": stats_s}));
    } else {
        print!("{}", text(a, &tests, &grid, &opts, stats_s)?);
    }
    Ok(())
}

fn print_results_json(a: &WeatArgs, grid: &bias::WeatGrid, seconds: Value) {
    let mut items: Vec<Value> = grid
        .results
        .iter()
        .zip(&grid.across.p_holm)
        .flat_map(|(row, holm)| a.files.iter().zip(row).zip(holm))
        .filter_map(|((f, r), p)| Some(result_json(f, r.as_ref()?, (*p)?)))
        .collect();
    if items.len() == 1 {
        let mut one = items.remove(0);
        if let Value::Object(m) = &mut one {
            m.insert("seconds".into(), seconds);
        }
        print_json(&one);
    } else {
        print_json(&json!({
            "results": items,
            "differences": grid.across.differences,
            "correction": "holm",
            "seconds": seconds,
        }));
    }
}

/// The versions by label, the report's bias tables, the original IAT findings of the bundled
/// tests, and the time taken.
fn text(
    a: &WeatArgs,
    tests: &[WeatTest],
    grid: &bias::WeatGrid,
    opts: &WeatOptions,
    seconds: f64,
) -> Result<String, CliError> {
    let labels: Vec<String> = (0..a.files.len()).map(report::label).collect();
    let mut out = format!(
        "Versions: {}.\n\n",
        labels
            .iter()
            .zip(&a.files)
            .map(|(l, f)| format!("{l} = {f}"))
            .collect::<Vec<_>>()
            .join("; ")
    );
    // A row is named as its results name it (a SEAT test adds "-seat").
    let names: Vec<String> = tests
        .iter()
        .zip(&grid.results)
        .map(|(t, row)| {
            row.iter()
                .flatten()
                .next()
                .map_or_else(|| t.name.clone(), |r| r.test.clone())
        })
        .collect();
    // The differences name the versions by label, as the tables do (a file given twice gets
    // the label of its first place).
    let mut labelled = grid.clone();
    for d in &mut labelled.across.differences {
        for name in [&mut d.a, &mut d.b] {
            if let Some(i) = a.files.iter().position(|f| f == name) {
                *name = labels[i].clone();
            }
        }
    }
    let section = BiasSection::of(&names, &a.files, &labelled);
    out.push_str(&render::text::bias(&section).map_err(|e| CliError::Runtime(e.into()))?);
    for t in tests {
        if let Some(o) = &t.original
            && !o.d.is_empty()
        {
            out.push_str(&format!(
                "\n{} original IAT: d = {}, p = {}",
                t.name, o.d, o.p
            ));
        }
    }
    out.push_str(&format!(
        "\n\nBootstrap: {} replicates; {seconds:.2} s\n",
        opts.bootstrap
    ));
    Ok(out)
}
