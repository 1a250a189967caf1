use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::analysis::compare::CompareOptions;
use crate::analysis::project::tsne::TsneParams;
use crate::core::EmbeddingSet;
use crate::formats::{self, LoadOptions};
use crate::report::{OutputFormat, ReportOptions, Section};

fn finish(w: &mut Worker, id: JobId) -> JobEvent {
    loop {
        let e = w.wait(Duration::from_secs(120)).expect("an event in time");
        if e.id() == id && e.is_final() {
            return e;
        }
    }
}

#[test]
fn jobs_report_results_errors_and_cancellation() {
    let mut w = Worker::new();
    let id = w.submit(Demo);
    let set = match finish(&mut w, id) {
        JobEvent::Done { output, .. } => {
            let o = output.take::<Opened>().expect("a set");
            // The rows were scanned on the worker.
            let again = crate::core::RowScan::new(&o.set.matrix);
            assert_eq!(o.scan.norms, again.norms);
            assert_eq!(o.scan.zero_rows, again.zero_rows);
            o.set
        }
        e => panic!("demo: {e:?}"),
    };
    assert!(set.rows() > 10_000);
    // A missing file fails with its name; the worker keeps working.
    let id = w.submit(Load {
        path: "/nonexistent/vectors.txt".into(),
        options: LoadOptions::default(),
    });
    match finish(&mut w, id) {
        JobEvent::Failed { error, .. } => assert!(error.contains("vectors.txt"), "{error}"),
        e => panic!("missing file: {e:?}"),
    }
    // PCA of 2,000 rows, with quality.
    let small = Arc::new(set.truncate(2000));
    let id = w.submit(Project {
        set: small.clone(),
        spec: ProjectSpec::Pca,
        quality_k: 10,
        index: None,
        precomputed: None,
    });
    match finish(&mut w, id) {
        JobEvent::Done { output, .. } => {
            let Projected {
                projection,
                quality,
                ..
            } = output.take().expect("a map");
            assert_eq!(projection.rows.len(), 2000);
            assert_eq!(projection.coords.len(), 4000);
            let q = quality.expect("quality");
            assert!(q.trustworthiness > 0.5 && q.trustworthiness <= 1.0);
        }
        e => panic!("pca: {e:?}"),
    }
    // A long t-SNE cancelled after its first progress report.
    let id = w.submit(Project {
        set: small,
        spec: ProjectSpec::Tsne(TsneParams {
            iterations: 100_000,
            early_exaggeration_iter: 250,
            ..TsneParams::default()
        }),
        quality_k: 10,
        index: None,
        precomputed: None,
    });
    let mut saw_layout = false;
    loop {
        let e = w.wait(Duration::from_secs(120)).expect("event");
        match e {
            JobEvent::Progress { .. } => {}
            JobEvent::Partial { value, .. } => {
                saw_layout |= value
                    .get::<LayoutPreview>()
                    .is_some_and(|l| l.0.len() == 4000);
                if saw_layout {
                    w.cancel(id);
                }
            }
            JobEvent::Cancelled { id: i } if i == id => break,
            e => panic!("t-SNE: {e:?}"),
        }
    }
    assert!(saw_layout);
    assert_eq!(w.running(), 0);
}

#[test]
fn compare_sends_maps_first_then_statistics_and_the_tokenizer_diff() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let demo = formats::demo_set(Some(3000)).expect("demo");
    // Two versions "encoded" from one corpus by two model folders (their provenance says
    // so): the comparison adds the tokenizer diff.
    let tagged = |model: &str| {
        let mut s = demo.clone();
        s.provenance.params.insert(
            "model".into(),
            root.join("encoder").join(model).display().to_string(),
        );
        s.provenance.params.insert(
            "corpus".into(),
            root.join("tokdiff/sample.txt").display().to_string(),
        );
        Arc::new(s)
    };
    let mut w = Worker::new();
    let first = w.submit(Compare {
        sets: vec![tagged("tiny-bert"), tagged("tiny-bert-normalized")],
        options: CompareOptions {
            ks: vec![10],
            ..CompareOptions::default()
        },
    });
    let mut maps_first = false;
    loop {
        let e = w.wait(Duration::from_secs(120)).expect("event");
        assert_eq!(e.id(), first);
        match e {
            JobEvent::Partial { value, .. } => {
                let CompareLayouts { layouts, .. } = value.take().expect("maps");
                assert_eq!(layouts.coords.len(), 2);
                assert_eq!(layouts.tokens.len(), 3000);
                maps_first = true;
            }
            JobEvent::Progress { .. } => {}
            JobEvent::Done { output, .. } => {
                let Compared {
                    comparisons,
                    tokenizers,
                    ..
                } = output.take().expect("a comparison");
                assert!(maps_first, "the maps come before the statistics");
                assert_eq!(comparisons[0].jaccard[0].mean, 1.0);
                let td = tokenizers[0]
                    .as_ref()
                    .expect("a diff")
                    .as_ref()
                    .expect("ok");
                assert!(td.identical_files && td.words_checked >= 300);
                break;
            }
            e => panic!("compare: {e:?}"),
        }
    }
    // Versions with no model provenance get no tokenizer diff; a missing folder is
    // reported with the comparison.
    let mut gone = (*tagged("tiny-bert")).clone();
    gone.provenance
        .params
        .insert("model".into(), "/nonexistent/model".into());
    let id = w.submit(Compare {
        sets: vec![Arc::new(demo.clone()), tagged("tiny-bert"), Arc::new(gone)],
        options: CompareOptions {
            ks: vec![5],
            ..CompareOptions::default()
        },
    });
    match finish(&mut w, id) {
        JobEvent::Done { output, .. } => {
            let Compared { tokenizers, .. } = output.take().expect("a comparison");
            assert!(tokenizers[0].is_none());
            let e = tokenizers[1]
                .as_ref()
                .expect("tried")
                .as_ref()
                .expect_err("missing");
            assert!(e.to_string().contains("/nonexistent/model"), "{e}");
        }
        e => panic!("compare: {e:?}"),
    }
}

#[test]
fn report_job_writes_its_files_with_progress_and_fails_as_an_event() {
    let dir = tempfile::tempdir().expect("tmp");
    let a = Arc::new(formats::demo_set(Some(2000)).expect("demo"));
    let b = Arc::new(formats::demo_set(Some(1500)).expect("demo"));
    let options = ReportOptions {
        sections: vec![Section::Datasets, Section::Measures, Section::Maps],
        map_points: 300,
        ..ReportOptions::default()
    };
    let job = |versions: Vec<(String, Arc<EmbeddingSet>)>, out: PathBuf| ReportJob {
        versions,
        options: options.clone(),
        out,
        format: OutputFormat::Markdown,
    };
    let mut w = Worker::new();
    let out = dir.path().join("r.md");
    let id = w.submit(job(
        vec![("2k".into(), a.clone()), ("1.5k".into(), b.clone())],
        out.clone(),
    ));
    let mut fractions = Vec::new();
    let run = loop {
        match w.wait(Duration::from_secs(120)).expect("event") {
            JobEvent::Progress { fraction, .. } => fractions.extend(fraction),
            JobEvent::Done { output, .. } => break output.take::<ReportRun>().expect("a report"),
            e => panic!("report: {e:?}"),
        }
    };
    assert!(!fractions.is_empty());
    assert!(fractions.windows(2).all(|f| f[0] <= f[1]), "{fractions:?}");
    assert!(fractions.iter().all(|f| (0.0..=1.0).contains(f)));
    assert_eq!(run.files.last(), Some(&out));
    // The charts (a map per version, the neighbourhood overlap) beside the Markdown.
    let names: Vec<String> = run
        .files
        .iter()
        .filter_map(|f| f.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    assert_eq!(
        names,
        vec!["overlap_1.svg", "map_A.svg", "map_B.svg", "r.md"],
        "{:?}",
        run.files
    );
    assert!(run.files.iter().all(|f| f.is_file()));
    assert_eq!(
        std::fs::read_to_string(&out).expect("md"),
        run.preview,
        "the preview is the file"
    );
    assert_eq!(run.versions, vec!["2k", "1.5k"]);
    assert_eq!(run.sections, options.sections);
    assert!(run.warnings.is_empty(), "{:?}", run.warnings);
    // One version, and a "folder" that is a file: failures, with the reason.
    let id1 = w.submit(job(vec![("2k".into(), a.clone())], dir.path().join("x.md")));
    match finish(&mut w, id1) {
        JobEvent::Failed { error, .. } => assert!(error.contains("at least two"), "{error}"),
        e => panic!("one version: {e:?}"),
    }
    let file = dir.path().join("plain.txt");
    std::fs::write(&file, "not a folder").expect("write");
    let id2 = w.submit(job(
        vec![("2k".into(), a), ("1.5k".into(), b)],
        file.join("r.md"),
    ));
    match finish(&mut w, id2) {
        JobEvent::Failed { error, .. } => assert!(error.contains("plain.txt"), "{error}"),
        e => panic!("a file as the folder: {e:?}"),
    }
    assert_ne!(id, id2);
    assert_eq!(w.running(), 0);
}

#[test]
fn durations_read_naturally() {
    assert_eq!(duration_text(42.4), "42 s");
    assert_eq!(duration_text(185.0), "3 min 05 s");
    assert_eq!(duration_text(3720.0), "1 h 02 min");
}

/// Run in a child process of this test binary with `EMBEDSCOPE_MEMORY_LIMIT` set (the variable
/// is read by every job's check, so it is not set in the process the other tests share).
#[test]
fn jobs_over_the_memory_limit_are_refused_before_they_start() {
    const NAME: &str =
        "engine::jobs::tests::jobs_over_the_memory_limit_are_refused_before_they_start";
    let limit = crate::engine::memory::LIMIT_VAR;
    if std::env::var_os(limit).is_none() {
        let exe = std::env::current_exe().expect("the test binary");
        let out = std::process::Command::new(exe)
            .args(["--exact", NAME, "--nocapture", "--test-threads=1"])
            .env(limit, "16K")
            .output()
            .expect("the child test runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{text}");
        assert!(text.contains("1 passed"), "the child ran the test: {text}");
        return;
    }
    let a = Arc::new(formats::demo_set(Some(2000)).expect("demo"));
    let b = Arc::new(formats::demo_set(Some(1500)).expect("demo"));
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("r.md");
    let refused = |w: &mut Worker, id: JobId, what: &str| match finish(w, id) {
        JobEvent::Failed { error, .. } => {
            assert!(error.contains("not enough memory for"), "{what}: {error}");
            assert!(error.contains(what), "{what}: {error}");
            assert!(error.contains("EMBEDSCOPE_MEMORY_LIMIT"), "{error}");
            assert!(error.contains("Try "), "a suggestion: {error}");
        }
        e => panic!("{what}: {e:?}"),
    };
    let mut w = Worker::new();
    let id = w.submit(ReportJob {
        versions: vec![("2k".into(), a.clone()), ("1.5k".into(), b.clone())],
        options: ReportOptions {
            sections: vec![Section::Datasets, Section::Measures, Section::Maps],
            map_points: 300,
            ..ReportOptions::default()
        },
        out: out.clone(),
        format: OutputFormat::Markdown,
    });
    refused(&mut w, id, "a report of 2 versions");
    assert!(!out.exists(), "a refused report writes nothing");
    let id = w.submit(ExactNeighbours {
        set: a.clone(),
        row: 0,
        k: 10,
        metric: crate::analysis::knn::Metric::Cosine,
    });
    refused(&mut w, id, "exact search of 1 queries in 2,000 x");
    let id = w.submit(PlaceRows {
        map_set: a.clone(),
        map_rows: (0..100).collect(),
        layout: vec![0.0; 200],
        new_set: b.clone(),
        how: PlaceHow::Pca,
    });
    refused(&mut w, id, "projecting 1,500 rows onto the principal axes");
    let id = w.submit(Evaluate { set: a.clone() });
    refused(&mut w, id, "the word benchmarks on 2,000 x");
    let id = w.submit(ScanSet { set: b });
    refused(&mut w, id, "the privacy scan of 1,500 rows");
    let words: Vec<String> = a.vocab.iter().take(200).map(str::to_string).collect();
    let spec = DirectSpec {
        pairs: vec![("he".into(), "she".into()), ("man".into(), "woman".into())],
        positive: "he".into(),
        negative: "she".into(),
        words,
        c: 1.0,
        case: crate::analysis::bias::CaseMode::Exact,
    };
    let id = w.submit(DirectBiasJob {
        name: "2k".into(),
        set: a.clone(),
        spec: spec.clone(),
        debias: None,
    });
    refused(&mut w, id, "the direct bias of 200 words in 50 dimensions");
    let id = w.submit(DirectBiasJob {
        name: "2k".into(),
        set: a.clone(),
        spec,
        debias: Some(crate::analysis::bias::DebiasOptions {
            specific: vec!["he".into(), "she".into()],
            equality_pairs: vec![("he".into(), "she".into())],
        }),
    });
    refused(&mut w, id, "hard debiasing of 2,000 x 50");
    assert_eq!(w.running(), 0);
}
