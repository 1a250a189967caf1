//! Opening sets, search, the inspector, maps, sessions, settings and the compare screen.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::super::colors::Legend;
use super::super::*;
use super::{demo_app, settle};
use crate::analysis::project::tsne::TsneParams;

#[test]
fn demo_opens_on_its_umap_map_with_named_clusters_and_search_selects_king_with_queen_nearby() {
    let mut app = demo_app();
    assert_eq!(app.datasets.len(), 1);
    let d = app.active_dataset().expect("active");
    let map = d.map.as_ref().expect("the shipped UMAP map after opening");
    assert_eq!(map.method, "UMAP");
    assert_eq!(map.coords.len(), d.set.rows());
    assert!(map.finished);
    assert!(
        matches!(map.spec, Some(ProjectSpec::Umap(_))),
        "rows can be placed on it"
    );
    let q = map.quality.as_ref().expect("quality");
    // A neighbourhood-preserving map: 0.877 (the PCA map of the demo scores about 0.67).
    assert!(q.trustworthiness > 0.85, "{}", q.trustworthiness);
    let c = d.map_clusters.as_ref().expect("clusters found at once");
    assert_eq!(c.map_version, map.version);
    assert!(
        (10..=200).contains(&c.fine.clusters.len()),
        "{} clusters",
        c.fine.clusters.len()
    );
    assert!(c.fine.clusters.iter().all(|k| !k.summary.label.is_empty()));
    assert_eq!(d.color, ColorMode::Cluster);
    app.apply(Command::Search("king".into(), SearchMode::Exact));
    let d = app.active_dataset().expect("active");
    let king = d.set.vocab.get("king").expect("king");
    assert_eq!(app.search.matches, vec![king]);
    assert_eq!(d.primary(), Some(king));
    let names: Vec<&str> = app
        .inspector
        .neighbours
        .iter()
        .map(|(r, _)| d.token(*r))
        .collect();
    assert_eq!(names.len(), 10);
    assert!(names.contains(&"queen"), "{names:?}");
    assert!(!names.contains(&"king"));
    // Hover finds king at its own position.
    let map = d.map.as_ref().expect("map");
    let p = map.position(king).expect("king on the map");
    assert_eq!(map.row_at(p, 1e-6), Some(king));
}

#[test]
fn search_modes_selection_and_inspector_settings() {
    let mut app = demo_app();
    app.apply(Command::Search("king".into(), SearchMode::Prefix));
    let d = app.active_dataset().expect("active");
    assert!(app.search.matches.len() > 3);
    assert!(
        app.search
            .matches
            .iter()
            .all(|&r| d.token(r).starts_with("king"))
    );
    app.apply(Command::Search("^qu.*n$".into(), SearchMode::Regex));
    let d = app.active_dataset().expect("active");
    assert!(app.search.matches.iter().any(|&r| d.token(r) == "queen"));
    app.apply(Command::Search("([".into(), SearchMode::Regex));
    assert!(app.search.matches.is_empty());
    assert!(
        app.search
            .error
            .as_ref()
            .is_some_and(|e| e.to_string().contains("regular expression"))
    );
    app.apply(Command::SelectRows {
        rows: vec![5, 3, 5, 999_999_999],
        add: false,
    });
    assert_eq!(app.active_dataset().expect("d").selection, vec![5, 3]);
    app.apply(Command::Select { row: 7, add: true });
    assert_eq!(app.active_dataset().expect("d").selection, vec![5, 3, 7]);
    assert_eq!(app.inspector.neighbours_of, Some(7));
    app.apply(Command::SetK(25));
    assert_eq!(app.inspector.neighbours.len(), 25);
    // k = 0 is refused as on the command line; the list stays as it was.
    let notices = app.notifications.len();
    app.apply(Command::SetK(0));
    assert_eq!(app.inspector.k, 25);
    assert_eq!(app.inspector.neighbours.len(), 25);
    assert_eq!(app.notifications.len(), notices + 1);
    app.apply(Command::SetK(1500));
    assert_eq!(app.inspector.neighbours.len(), 1500);
    app.apply(Command::SetK(25));
    app.apply(Command::SetMetric(Metric::Euclidean));
    let s: Vec<f32> = app.inspector.neighbours.iter().map(|n| n.1).collect();
    assert!(s.windows(2).all(|w| w[0] <= w[1]), "distances ascend");
    app.apply(Command::ClearSelection);
    assert!(app.active_dataset().expect("d").selection.is_empty());
    assert!(app.inspector.neighbours.is_empty());
}

#[test]
fn analogy_similarity_and_colours() {
    let mut app = demo_app();
    app.apply(Command::Analogy {
        a: "man".into(),
        b: "king".into(),
        c: "woman".into(),
        method: Method::Add,
    });
    let top = app.inspector.analogy.clone().expect("ran").expect("ok");
    assert_eq!(top[0].0, "queen");
    app.apply(Command::Analogy {
        a: "man".into(),
        b: "king".into(),
        c: "zzzunknownzzz".into(),
        method: Method::Mul,
    });
    let err = app
        .inspector
        .analogy
        .clone()
        .expect("ran")
        .expect_err("unknown");
    assert!(err.to_string().contains("zzzunknownzzz"), "{err}");
    app.apply(Command::Similarity("king".into(), "queen".into()));
    let s = app.inspector.similarity.clone().expect("ran").expect("ok");
    assert!(s > 0.7 && s < 0.8, "{s}");
    app.apply(Command::Evaluate);
    settle(&mut app);
    let (name, b) = app.inspector.benchmarks.clone().expect("benchmarks");
    assert!(name.contains("glove"), "{name}");
    assert_eq!(b.analogies.sections.len(), 14);
    let acc = b.analogies.total.accuracy.expect("accuracy");
    assert!(acc > 0.3 && acc < 0.8, "{acc}");
    assert_eq!(b.pairs.len(), 2);
    app.apply(Command::SetColor(ColorMode::Norm));
    let d = app.active_dataset().expect("d");
    assert!(matches!(d.legend, Legend::Ramp { .. }));
    assert_eq!(d.colors.len(), d.set.rows());
    app.apply(Command::SetColor(ColorMode::Recall));
    assert!(matches!(
        app.active_dataset().expect("d").legend,
        Legend::Ramp { .. }
    ));
    // Without the map's clusters (the demo opens with them), colour by cluster is k-means 10.
    app.apply(Command::ClearClusters);
    app.apply(Command::SetColor(ColorMode::Cluster));
    let d = app.active_dataset().expect("d");
    assert!(matches!(&d.legend, Legend::Categories(c) if c.len() == 10));
}

#[test]
fn tsne_animates_and_cancel_keeps_the_app_running() {
    let mut app = App::new(Settings::default(), None);
    let set = Arc::new(crate::formats::demo_set(Some(600)).expect("demo"));
    app.datasets.push(Dataset::new("small".into(), set));
    app.active = Some(0);
    app.apply(Command::Project(ProjectSpec::Tsne(TsneParams {
        iterations: 300,
        early_exaggeration_iter: 100,
        ..TsneParams::default()
    })));
    settle(&mut app);
    let m = app.datasets[0].map.as_ref().expect("t-SNE map");
    assert_eq!(m.method, "t-SNE");
    assert!(m.finished);
    assert_eq!(m.coords.len(), 600);
    // A long run, cancelled once it has drawn an intermediate layout.
    app.apply(Command::Project(ProjectSpec::Tsne(TsneParams {
        iterations: 1_000_000,
        ..TsneParams::default()
    })));
    let id = app.jobs[0].id;
    let t = Instant::now();
    while app.datasets[0].map.as_ref().is_none_or(|m| m.finished) {
        app.poll();
        assert!(t.elapsed() < Duration::from_secs(60), "no preview layout");
        std::thread::sleep(Duration::from_millis(5));
    }
    app.apply(Command::CancelJob(id));
    settle(&mut app);
    assert!(
        app.notifications
            .iter()
            .any(|n| n.title.contains("cancelled"))
    );
}

#[test]
fn bad_files_become_error_notifications() {
    let dir = tempfile::tempdir().expect("tmp");
    let bad = dir.path().join("broken.vec");
    std::fs::write(&bad, "3 4\nfoo 1 2 3 4\nbar 1 2\n").expect("write");
    let mut app = App::new(Settings::default(), None);
    app.apply(Command::OpenPath(bad.clone()));
    settle(&mut app);
    assert!(app.datasets.is_empty());
    let n = app.notifications.last().expect("a notification");
    assert_eq!(n.level, Severity::Error);
    assert!(n.details.contains("broken.vec"), "{}", n.details);
    // A corpus asks for a model instead of failing as a vector file.
    let corpus = dir.path().join("notes.txt");
    std::fs::write(&corpus, "The first document.\nAnd a second one here.\n").expect("write");
    app.apply(Command::OpenPath(corpus.clone()));
    assert_eq!(app.pending_corpus.as_deref(), Some(corpus.as_path()));
    assert!(app.settings.recent.len() == 2);
    app.apply(Command::Dismiss(0));
    app.apply(Command::Dismiss(99));
}

#[test]
fn sessions_and_exports_round_trip() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut app = demo_app();
    app.apply(Command::Search("paris".into(), SearchMode::Exact));
    app.apply(Command::AddBookmark(Bookmark {
        name: "capitals".into(),
        dataset: "demo".into(),
        center: [0.5, -1.0],
        zoom: 120.0,
        selection: vec!["paris".into()],
    }));
    let path = dir.path().join("s.embedscope.json");
    app.apply(Command::SaveSession(path.clone()));
    let saved = Session::load(&path).expect("loads");
    assert_eq!(saved.datasets.len(), 1);
    assert_eq!(saved.datasets[0].selection_tokens, vec!["paris"]);
    assert_eq!(saved.bookmarks[0].name, "capitals");
    let mut other = App::new(Settings::default(), None);
    other.apply(Command::OpenSession(path.clone()));
    settle(&mut other);
    let d = other.active_dataset().expect("restored");
    assert_eq!(d.selection.len(), 1);
    assert_eq!(d.token(d.selection[0]), "paris");
    assert!(d.map.is_some());
    assert_eq!(other.bookmarks.len(), 1);
    // Not a session: a clear error.
    std::fs::write(dir.path().join("x.json"), "{\"kind\": \"other\"}").expect("write");
    other.apply(Command::OpenSession(dir.path().join("x.json")));
    assert_eq!(
        other.notifications.last().expect("n").level,
        Severity::Error
    );
    // CSV exports quote what needs quoting.
    let csv = dir.path().join("sel.csv");
    app.apply(Command::ExportSelectionCsv(csv.clone()));
    let text = std::fs::read_to_string(&csv).expect("csv");
    assert!(text.starts_with("token,row,x,y,norm\nparis,"), "{text}");
    let nb = dir.path().join("nb.csv");
    app.apply(Command::ExportNeighboursCsv(nb.clone()));
    let text = std::fs::read_to_string(&nb).expect("csv");
    assert_eq!(text.lines().count(), 11);
    assert_eq!(session::csv_field("a,\"b\""), "\"a,\"\"b\"\"\"");
}

#[test]
fn settings_survive_damage_and_keep_defaults() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("settings.json");
    std::fs::write(&p, "{\"dark\": false}").expect("write");
    let (s, msg) = Settings::load(&p);
    assert!(!s.dark && msg.is_none());
    assert_eq!(s.point_size, Settings::default().point_size);
    std::fs::write(&p, "{not json").expect("write");
    let (s, msg) = Settings::load(&p);
    assert_eq!(s, Settings::default());
    assert!(msg.expect("message").contains("settings.json"));
    let mut s = Settings::default();
    for i in 0..15 {
        s.add_recent(Path::new(&format!("/tmp/f{i}.vec")));
    }
    s.add_recent(Path::new("/tmp/f3.vec"));
    assert_eq!(s.recent.len(), MAX_RECENT_FOR_TEST);
    assert_eq!(s.recent[0], Path::new("/tmp/f3.vec"));
    s.save(&p).expect("save");
    assert_eq!(Settings::load(&p).0, s);
}

const MAX_RECENT_FOR_TEST: usize = session::MAX_RECENT;

pub(super) fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/compare")
        .join(name)
}

#[test]
fn compare_screen_aligns_maps_links_selection_and_ranks_changes() {
    let mut app = App::new(Settings::default(), None);
    app.apply(Command::OpenPath(fixture("pair_a.vec")));
    settle(&mut app);
    app.apply(Command::OpenPath(fixture("pair_b.vec")));
    settle(&mut app);
    assert_eq!(app.datasets.len(), 2);
    // One data set is not enough.
    app.apply(Command::StartCompare(vec![0, 0]));
    assert!(app.compare.is_none());
    assert!(
        app.notifications
            .iter()
            .any(|n| n.title.contains("two or more"))
    );
    app.apply(Command::StartCompare(vec![0, 1]));
    settle(&mut app);
    let cv = app.compare.as_mut().expect("compare view");
    assert!(!cv.busy());
    // The versions' rows were scanned once, on the worker that opened them; the compare view
    // shares those scans.
    for (m, d) in cv.maps.iter().zip(&app.datasets) {
        assert!(std::sync::Arc::ptr_eq(&m.view.scan, &d.scan));
        assert_eq!(d.scan.norms.len(), d.set.rows());
    }
    let l = cv.layouts.as_ref().expect("aligned layouts");
    assert_eq!(l.tokens.len(), 1000);
    for m in &cv.maps {
        let map = m.view.map.as_ref().expect("a map per version");
        assert_eq!(map.coords.len(), 1000);
    }
    assert_eq!(cv.results.len(), 1);
    let c = &cv.results[0];
    assert!((c.jaccard[0].mean - 0.264_427_157_723_598_3).abs() < 1e-12);
    // Coloured by change, with a legend.
    assert!(matches!(
        cv.maps[1].view.legend,
        colors::Legend::Ramp { .. }
    ));
    // Ranked list: the most changed first; least changed reverses it.
    let ranked = cv.ranked(5);
    assert_eq!(ranked[0].token, "is");
    assert_eq!(ranked[0].jaccard["jaccard_at_10"], 0.0);
    cv.most = false;
    let least = cv.ranked(5);
    assert!(least[0].jaccard["jaccard_at_10"] > 0.8, "{least:?}");
    cv.most = true;
    assert_eq!(cv.ranked(1)[0].token, "is");
    // Selecting a row on the second map selects the same word on both.
    let row_b = cv.maps[1].view.set.vocab.get("king").expect("king in B");
    cv.select_row(1, row_b);
    let row_a = cv.maps[0].view.set.vocab.get("king").expect("king in A");
    assert_eq!(cv.maps[0].view.selection, vec![row_a]);
    assert_eq!(cv.maps[1].view.selection, vec![row_b]);
    let d = cv.detail().expect("detail").expect("king is shared");
    assert_eq!(d.a.len(), 10);
    // Linked hover: a word hovered anywhere has its row in every version.
    cv.hovered = Some("queen".into());
    assert_eq!(cv.hovered_row(0), cv.maps[0].view.set.vocab.get("queen"));
    assert_eq!(cv.hovered_row(1), cv.maps[1].view.set.vocab.get("queen"));
    let dom = cv.dominoes(4);
    assert_eq!(dom.len(), 4);
    assert_eq!(dom[0].token, "is");
    assert_eq!(dom[0].sides[0].points.len(), 10);
    assert!(
        dom[0].sides[0].points.iter().all(|p| !p.2),
        "Jaccard 0: nothing shared"
    );
    app.apply(Command::CloseCompare);
    assert!(app.compare.is_none());
}

#[test]
fn the_encode_command_keeps_one_row_per_record_unless_told_to_skip_empty_ones() {
    let dir = tempfile::tempdir().expect("tmp");
    let corpus = dir.path().join("c.jsonl");
    std::fs::write(
        &corpus,
        "{\"text\": \"the cat sat\"}\n{\"text\": \"\"}\n{\"text\": \"zebra jumps\"}\n",
    )
    .expect("write");
    let spec = |skip_empty| crate::engine::jobs::EncodeSpec {
        model: PathBuf::from("tests/fixtures/encoder/tiny-bert"),
        corpus: corpus.clone(),
        corpus_options: crate::formats::corpus::CorpusOptions {
            skip_empty,
            ..Default::default()
        },
        level: crate::engine::encode::Level::Sentence,
        backend: crate::engine::device::BackendChoice::Cpu,
        pooling: None,
        prompt: crate::model::PromptChoice::FolderDefault,
        truncate_dim: None,
        batch_size: 8,
    };
    let mut app = App::new(Settings::default(), None);
    app.apply(Command::Encode(spec(None)));
    settle(&mut app);
    let d = app.active_dataset().expect("encoded");
    let tokens: Vec<&str> = d.set.vocab.iter().collect();
    assert_eq!(tokens, ["d0", "d1", "d2"]);
    assert_eq!(
        d.set
            .provenance
            .params
            .get("skip_empty")
            .map(String::as_str),
        Some("false")
    );
    app.apply(Command::Encode(spec(Some(true))));
    settle(&mut app);
    let d = app.active_dataset().expect("encoded");
    let tokens: Vec<&str> = d.set.vocab.iter().collect();
    assert_eq!(
        tokens,
        ["d0", "d2"],
        "the skipped record's id is not reused"
    );
    assert_eq!(
        d.set
            .provenance
            .params
            .get("skipped_records")
            .map(String::as_str),
        Some("d1")
    );
    assert!(
        app.notifications
            .iter()
            .any(|n| n.title.contains("1 record left out") && n.title.contains("d1 (line 2)")),
        "{:?}",
        app.notifications
            .iter()
            .map(|n| &n.title)
            .collect::<Vec<_>>()
    );
    assert!(d.set.notes.warnings.iter().any(|w| w.contains("d1")));
}

#[test]
fn encoding_records_show_in_the_provenance_and_the_compare_screen() {
    let d = tempfile::tempdir().expect("tempdir");
    let set = formats::load(&fixture("pair_a.vec"), &LoadOptions::default()).expect("fixture");
    let record = |file: &str, pooling: &str| {
        serde_json::json!({
            "kind": "embedscope-provenance",
            "version": 1,
            "output": {"file": file, "rows": set.rows(), "dim": set.dim()},
            "provenance": {"model_id": "m", "params": {"pooling": pooling}},
        })
        .to_string()
    };
    for (name, pooling) in [("a", "mean"), ("b", "cls")] {
        formats::save(&set, &d.path().join(format!("{name}.npy")), None).expect("save");
        std::fs::write(
            d.path().join(format!("{name}.provenance.json")),
            record(&format!("{name}.npy"), pooling),
        )
        .expect("record");
    }
    // c's record is damaged: c opens, with a notification naming the record.
    formats::save(&set, &d.path().join("c.npy"), None).expect("save");
    std::fs::write(d.path().join("c.provenance.json"), "{ damaged").expect("record");
    let mut app = App::new(Settings::default(), None);
    for name in ["a.npy", "b.npy", "c.npy"] {
        app.apply(Command::OpenPath(d.path().join(name)));
        settle(&mut app);
    }
    assert_eq!(app.datasets.len(), 3);
    let lines = app.datasets[0].provenance_lines();
    assert!(lines.iter().any(|l| l == "model: m"), "{lines:?}");
    assert!(lines.iter().any(|l| l == "pooling: mean"), "{lines:?}");
    assert!(
        lines.iter().any(|l| l.contains("checked, attached")),
        "{lines:?}"
    );
    let lines = app.datasets[2].provenance_lines();
    assert!(
        lines.iter().any(|l| l.starts_with("encoding: unknown")),
        "{lines:?}"
    );
    assert!(
        app.notifications
            .iter()
            .any(|n| n.title.contains("c.provenance.json")),
        "damaged record not notified"
    );
    app.apply(Command::StartCompare(vec![0, 1, 2]));
    settle(&mut app);
    let cv = app.compare.as_ref().expect("compare view");
    assert_eq!(
        cv.provenance[0].summary,
        "b.npy differs from a.npy in: pooling (mean -> cls)"
    );
    assert!(
        cv.provenance[1]
            .summary
            .starts_with("Provenance unknown for c.npy"),
        "{}",
        cv.provenance[1].summary
    );
}

/// File > Native cache: a limit set there is saved and applied at once (the least recently
/// used entries evicted down to it); "Clear cache" empties the cache; the files still open.
#[test]
fn the_cache_limit_is_set_saved_and_applied_and_the_cache_cleared() {
    use crate::formats::cache_admin;
    let dir = tempfile::tempdir().expect("tmp");
    let cache = dir.path().join("cache");
    let settings = dir.path().join("settings.json");
    let mut app = App::new(Settings::default(), Some(settings.clone()));
    app.cache_dir = Some(cache.clone());
    app.apply(Command::OpenPath(fixture("pair_a.vec")));
    app.apply(Command::OpenPath(fixture("pair_b.vec")));
    settle(&mut app);
    assert_eq!(app.datasets.len(), 2);
    assert_eq!(cache_admin::entries(&cache).len(), 2, "both cached");
    app.apply(Command::SetCacheLimit(Some(1)));
    assert!(
        cache_admin::entries(&cache).is_empty(),
        "evicted down to 1 byte"
    );
    assert_eq!(Settings::load(&settings).0.cache_limit, Some(1));
    app.apply(Command::SetCacheLimit(None));
    assert_eq!(Settings::load(&settings).0.cache_limit, None);
    app.apply(Command::OpenPath(fixture("pair_a.vec")));
    settle(&mut app);
    assert_eq!(cache_admin::entries(&cache).len(), 1, "cached again");
    app.apply(Command::ClearCache);
    assert!(cache_admin::entries(&cache).is_empty());
    assert!(
        app.notifications
            .iter()
            .any(|n| n.title.starts_with("cache cleared")),
        "said"
    );
    // A file opened from an empty cache still loads.
    app.apply(Command::OpenPath(fixture("pair_b.vec")));
    settle(&mut app);
    assert!(app.notifications.iter().all(|n| n.level != Severity::Error));
}
