//! The app's flows without egui: commands in, state out.

use std::time::{Duration, Instant};

use super::colors::Legend;
use super::*;
use crate::analysis::project::tsne::TsneParams;

/// Polls until no job runs (or panics after a minute).
fn settle(app: &mut App) {
    let t = Instant::now();
    loop {
        app.poll();
        if !app.busy() {
            return;
        }
        assert!(t.elapsed() < Duration::from_secs(120), "jobs still running");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn demo_app() -> App {
    let mut app = App::new(Settings::default(), None);
    app.apply(Command::OpenDemo);
    settle(&mut app);
    app
}

#[test]
fn demo_opens_with_a_pca_map_and_search_selects_king_with_queen_nearby() {
    let mut app = demo_app();
    assert_eq!(app.datasets.len(), 1);
    let d = app.active_dataset().expect("active");
    let map = d.map.as_ref().expect("a PCA map after opening");
    assert_eq!(map.method, "PCA");
    assert_eq!(map.coords.len(), d.set.rows());
    let q = map.quality.as_ref().expect("quality");
    assert!(q.trustworthiness > 0.5, "{}", q.trustworthiness);
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

fn fixture(name: &str) -> PathBuf {
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

fn bias(app: &mut App, c: bias::BiasCommand) {
    app.apply(Command::Bias(c));
}

#[test]
fn bias_probes_weat_direct_bias_and_debias_on_the_demo() {
    use crate::analysis::bias::{self as b, CaseMode};
    use bias::BiasCommand as B;
    let mut app = demo_app();
    let demo_name = app.datasets[0].name.clone();
    assert_eq!(app.bias.options.permutations, 10_000);
    assert_eq!(app.bias.options.bootstrap, 2_000);
    bias(&mut app, B::SelectTest("weat1".into(), true));
    bias(&mut app, B::SelectTest("weat7".into(), true));
    bias(&mut app, B::SelectTest("weat99".into(), true));
    assert_eq!(app.bias.selected, vec!["weat1", "weat7"]);
    bias(&mut app, B::RunWeat);
    assert!(app.bias.busy());
    settle(&mut app);
    assert!(!app.bias.busy());
    let run = app.bias.weat.clone().expect("WEAT results");
    assert_eq!(run.tests, vec!["weat1", "weat7"]);
    assert_eq!(run.datasets, vec![demo_name.clone()]);
    assert!(run.errors.is_empty(), "{:?}", run.errors);
    assert!(
        run.differences.is_empty(),
        "one data set: nothing to compare"
    );
    assert_eq!(run.cells.len(), 2);
    // The same numbers as WEFE 1.0.1 on the demo vectors.
    let w1 = &run.cells[0];
    assert_eq!(w1.test, "weat1");
    assert!(
        (w1.result.effect_size - 1.091_644_5).abs() < 1e-6,
        "{}",
        w1.result.effect_size
    );
    let w7 = &run.cells[1];
    assert!(
        (w7.result.effect_size - 1.544_168_2).abs() < 1e-6,
        "{}",
        w7.result.effect_size
    );
    for c in &run.cells {
        let r = &c.result;
        assert!(
            r.ci95[0] < r.effect_size && r.effect_size < r.ci95[1],
            "{r:?}"
        );
        assert!(r.p_value < 0.05 && c.p_holm >= r.p_value && c.p_holm <= 1.0);
    }
    // Holm over the two p-values.
    let want = b::holm(&[w1.result.p_value, w7.result.p_value]);
    assert_eq!([w1.p_holm, w7.p_holm], [want[0], want[1]]);
    assert!(
        bias::missing_text(w1).contains("gladiola"),
        "{:?}",
        w1.result.missing
    );

    // Direct bias of the neutral professions along she - he.
    bias(&mut app, B::RunDirectBias);
    settle(&mut app);
    let r = app.bias.result.clone().expect("direct bias");
    assert_eq!(r.dataset, demo_name);
    assert_eq!(r.direction.pairs_used.len(), 10);
    assert!(r.direction.explained_variance_ratio[0] > 0.3);
    assert!(
        r.bias.direct_bias > 0.05 && r.bias.direct_bias < 0.5,
        "{}",
        r.bias.direct_bias
    );
    assert!(r.debias.is_none());
    let (pos, neg) = r.extremes(10);
    assert_eq!((pos.len(), neg.len()), (10, 10));
    assert!(pos[0].projection > 0.0 && neg[0].projection < 0.0);
    assert!(pos.windows(2).all(|w| w[0].projection >= w[1].projection));
    assert!(neg.windows(2).all(|w| w[0].projection <= w[1].projection));

    // Hard debiasing: a new data set, neutral professions orthogonal to the direction.
    bias(&mut app, B::Debias);
    settle(&mut app);
    assert_eq!(app.datasets.len(), 2);
    let debiased_name = format!("{demo_name} (hard-debiased)");
    assert_eq!(app.datasets[1].name, debiased_name);
    assert_eq!(app.active, Some(1));
    assert!(app.datasets[1].map.is_some(), "the new set gets its map");
    let r = app.bias.result.clone().expect("direct bias");
    let summary = r.debias.as_ref().expect("debias summary");
    assert_eq!(summary.name, debiased_name);
    assert!(summary.report.neutralised > 40_000);
    assert!(summary.bias_after.as_ref().expect("after").direct_bias < 1e-5);
    let neutral = b::bolukbasi().neutral_professions();
    let (proj, _) = b::projections(&app.datasets[1].set, &r.direction, &neutral, CaseMode::Auto);
    assert!(proj.len() > 200);
    for p in &proj {
        assert!(p.projection.abs() < 1e-5, "{}: {}", p.word, p.projection);
    }
    // The original is unchanged.
    let (before, _) = b::projections(&app.datasets[0].set, &r.direction, &neutral, CaseMode::Auto);
    assert!(before.iter().any(|p| p.projection.abs() > 0.1));
    // The derived set lives in memory: a session does not list it (its source is the original).
    assert_eq!(app.session().datasets.len(), 1);
    // It is a version of the original for the compare screen.
    app.apply(Command::StartCompare(vec![0, 1]));
    settle(&mut app);
    let cv = app.compare.as_ref().expect("compare view");
    assert_eq!(cv.results.len(), 1);
    assert_eq!(
        cv.results[0].vocab_summary.shared,
        app.datasets[0].set.rows()
    );
    app.apply(Command::CloseCompare);

    // Across versions: both sets (all loaded by default), differences and Holm.
    bias(&mut app, B::RunWeat);
    settle(&mut app);
    let run = app.bias.weat.clone().expect("WEAT results");
    assert_eq!(run.datasets, vec![demo_name.clone(), debiased_name.clone()]);
    assert_eq!(run.cells.len(), 4);
    assert_eq!(run.differences.len(), 2);
    let d7 = run
        .differences
        .iter()
        .find(|d| d.test == "weat7")
        .expect("weat7 difference");
    assert_eq!(
        (d7.a.as_str(), d7.b.as_str()),
        (demo_name.as_str(), debiased_name.as_str())
    );
    assert!((d7.difference - (d7.effect_a - d7.effect_b)).abs() < 1e-12);
    assert!(d7.p_holm >= d7.p_value && d7.p_holm <= 1.0);
    let e7: Vec<f64> = run
        .cells
        .iter()
        .filter(|c| c.test == "weat7")
        .map(|c| c.result.effect_size)
        .collect();
    assert!(
        e7[1] < e7[0],
        "debiasing lowers the gender association: {e7:?}"
    );
    let series = bias::effect_series(&run);
    assert_eq!(series.len(), 2);
    assert!(series.iter().all(|s| s.points.len() == 2));
    assert!(series[0].points[0][0] < series[1].points[0][0]);
    assert_eq!(series[1].points[1][1], run.cells[3].result.effect_size);
    // Leaving a data set out.
    bias(&mut app, B::IncludeDataset(debiased_name.clone(), false));
    assert_eq!(app.bias_datasets(), vec![0]);
    bias(&mut app, B::IncludeDataset(debiased_name, true));
    assert_eq!(app.bias_datasets(), vec![0, 1]);
}

#[test]
fn bias_probes_report_bad_input_as_notifications() {
    use bias::BiasCommand as B;
    let mut app = demo_app();
    let errors = |app: &App| {
        app.notifications
            .iter()
            .filter(|n| n.level == Severity::Error)
            .map(|n| format!("{}: {}", n.title, n.details))
            .collect::<Vec<_>>()
    };
    // Nothing chosen.
    bias(&mut app, B::RunWeat);
    assert!(
        errors(&app)[0].contains("no WEAT test"),
        "{:?}",
        errors(&app)
    );
    assert!(!app.bias.busy());
    // A user test, prefilled from weat1, edited down to one word in X.
    bias(&mut app, B::PrefillUser("weat1".into()));
    assert!(app.bias.user.enabled);
    assert_eq!(app.bias.user.set_names[0], "Flowers");
    assert!(app.bias.user.lists[0].lines().count() == 25);
    bias(&mut app, B::SetUserList(0, "rose\n\n# a comment\n".into()));
    bias(&mut app, B::RunWeat);
    settle(&mut app);
    let e = errors(&app);
    assert_eq!(e.len(), 2, "{e:?}");
    assert!(e[1].contains("at least 2 words"), "{e:?}");
    assert!(app.bias.weat.is_none());
    // With a good test beside it, the good one's results arrive and the bad one is reported.
    bias(&mut app, B::SelectTest("weat2".into(), true));
    bias(&mut app, B::RunWeat);
    settle(&mut app);
    let run = app.bias.weat.clone().expect("results");
    assert_eq!(run.cells.len(), 1);
    assert_eq!(run.cells[0].test, "weat2");
    assert_eq!(run.errors.len(), 1);
    assert!(errors(&app)[2].contains("could not be computed"));
    // An X word also in Y is refused by name.
    bias(&mut app, B::SetUserList(0, "rose\nant\ntulip".into()));
    bias(&mut app, B::SetUserList(1, "ant\nbee\nfly".into()));
    bias(&mut app, B::SelectTest("weat2".into(), false));
    bias(&mut app, B::RunWeat);
    settle(&mut app);
    assert!(errors(&app)[3].contains("ant"), "{:?}", errors(&app));
    // A user test from a JSON file, and a word list from a text file.
    let dir = tempfile::tempdir().expect("tmp");
    let f = dir.path().join("colours.json");
    std::fs::write(
        &f,
        r#"{"name": "colours", "x": ["red", "blue"], "y": ["car", "bus"],
            "a": {"name": "Good", "words": ["good", "nice"]}, "b": ["bad", "awful"]}"#,
    )
    .expect("write");
    bias(&mut app, B::LoadUserTest(f));
    assert_eq!(app.bias.user.name, "colours");
    assert_eq!(app.bias.user.set_names[2], "Good");
    assert_eq!(app.bias.user.lists[1], "car\nbus");
    let l = dir.path().join("vehicles.txt");
    std::fs::write(&l, "car\nbus\ntrain\n").expect("write");
    bias(&mut app, B::LoadUserList(1, l));
    assert_eq!(app.bias.user.set_names[1], "vehicles");
    let t = app.bias.user.test();
    assert_eq!(t.y.words, vec!["car", "bus", "train"]);
    bias(&mut app, B::LoadUserTest(dir.path().join("nothing.json")));
    assert!(errors(&app).last().expect("e").contains("nothing.json"));
    // Direct bias: pairs that do not parse, and pairs not in the vocabulary.
    let mut f = app.bias.direct.clone();
    f.pairs = "she he\nqueen\n".into();
    bias(&mut app, B::SetDirect(f.clone()));
    bias(&mut app, B::RunDirectBias);
    assert!(
        errors(&app).last().expect("e").contains("line 2"),
        "{:?}",
        errors(&app)
    );
    f.pairs = "zzqx1 zzqx2\nzzqx3 zzqx4".into();
    bias(&mut app, B::SetDirect(f));
    bias(&mut app, B::Debias);
    settle(&mut app);
    assert!(
        errors(&app)
            .last()
            .expect("e")
            .contains("definitional pairs"),
        "{:?}",
        errors(&app)
    );
    assert_eq!(app.datasets.len(), 1, "no set from a failed debias");
    bias(&mut app, B::ResetDirectLists);
    assert_eq!(app.bias.direct, bias::DirectForm::default());
    // A long run is cancelled between tests.
    bias(&mut app, B::SelectAllTests(true));
    bias(&mut app, B::UseUserTest(false));
    let mut o = app.bias.options.clone();
    o.permutations = 2_000_000;
    o.bootstrap = 200_000;
    bias(&mut app, B::SetOptions(o));
    bias(&mut app, B::RunWeat);
    let id = app.bias.weat_job.expect("running");
    app.apply(Command::CancelJob(id));
    settle(&mut app);
    assert!(app.bias.weat_job.is_none());
    assert!(
        app.notifications
            .iter()
            .any(|n| n.title.contains("WEAT") && n.title.contains("cancelled"))
    );
}

fn export(app: &mut App, c: report::ReportCommand) {
    app.apply(Command::Report(c));
}

/// The demo set and the compare fixture's first version (1,003 GloVe words), open.
fn demo_and_pair_a() -> App {
    let mut app = demo_app();
    app.apply(Command::OpenPath(fixture("pair_a.vec")));
    settle(&mut app);
    assert_eq!(app.datasets.len(), 2);
    app
}

/// Exports with the current state and waits; returns the result.
fn export_and_wait(app: &mut App) -> report::Exported {
    export(app, report::ReportCommand::Export);
    assert!(
        app.report.busy(),
        "export did not start: {:?}",
        app.report_check().problems
    );
    settle(app);
    assert!(!app.report.busy());
    assert_eq!(app.report.error, None);
    app.report.last.clone().expect("an export result")
}

#[test]
fn report_export_writes_every_format_with_the_chosen_sections_only() {
    use crate::report::{OutputFormat, Section};
    use report::ReportCommand as R;
    let dir = tempfile::tempdir().expect("tmp");
    let mut app = demo_and_pair_a();
    let demo_name = app.datasets[0].name.clone();
    let pair_a = fixture("pair_a.vec").display().to_string();
    // Defaults: every section, every loaded set in order, no WEAT test, the CLI's title.
    assert_eq!(app.report.sections, Section::ALL.to_vec());
    assert_eq!(app.report_datasets(), vec![0, 1]);
    assert!(app.report.probes.is_empty());
    assert_eq!(app.report.title, "Model comparison");

    // JSON with three sections and one bias test: exactly those sections in the file.
    export(&mut app, R::SelectAllSections(false));
    for s in [Section::Datasets, Section::Measures, Section::Bias] {
        export(&mut app, R::SelectSection(s, true));
    }
    export(&mut app, R::SelectProbe("weat1".into(), true));
    export(&mut app, R::SelectProbe("weat99".into(), true));
    assert_eq!(app.report.probes, vec!["weat1"]);
    export(&mut app, R::SetTitle("Demo vs pair A".into()));
    let json_path = dir.path().join("r.json");
    export(&mut app, R::SetPath(json_path.display().to_string()));
    let check = app.report_check();
    assert!(check.problems.is_empty(), "{:?}", check.problems);
    assert_eq!(check.format, Some(OutputFormat::Json));
    let done = export_and_wait(&mut app);
    assert_eq!(done.run.files, vec![json_path.clone()]);
    // Version names are the files as `embedscope report` takes them.
    assert_eq!(done.run.versions, vec!["demo".to_string(), pair_a.clone()]);
    assert_eq!(
        done.command,
        format!(
            "embedscope report demo {pair_a} --title 'Demo vs pair A' --sections \
             datasets,measures,bias --probes weat1 --out {}",
            json_path.display()
        )
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).expect("read")).expect("json");
    assert_eq!(v["title"], "Demo vs pair A");
    assert_eq!(v["command"], done.command.as_str());
    assert_eq!(
        v["sections"],
        serde_json::json!(["datasets", "measures", "bias"])
    );
    assert_eq!(v["datasets"].as_array().map(Vec::len), Some(2));
    assert_eq!(v["datasets"][0]["rows"], 50_107);
    for absent in ["integrity", "maps", "eval", "parameters"] {
        assert!(v.get(absent).is_none(), "{absent} written: {v}");
    }
    let pair = &v["pairs"][0];
    assert_eq!(pair["b"], pair_a.as_str());
    assert!(pair["measures"]["linear_cka"].as_f64().is_some());
    assert!(pair.get("words").is_none() && pair.get("vocabulary").is_none());
    assert_eq!(v["bias"]["tests"], serde_json::json!(["weat1"]));
    // weat1 runs on the demo; pair A lacks most of its words, which is said, not hidden.
    let results = v["bias"]["results"].as_array().expect("results");
    assert!(results.iter().any(|r| r["version"] == "demo"));
    assert!(!done.run.warnings.is_empty(), "pair A cannot run weat1");
    // The preview is the report as Markdown.
    assert!(
        done.run
            .preview
            .starts_with("# Demo vs pair A\n\n**embedscope"),
        "{}",
        &done.run.preview[..200.min(done.run.preview.len())]
    );
    assert!(done.run.preview.contains("## Global measures"));
    assert!(!done.run.preview.contains("## Integrity"));
    assert!(
        app.notifications
            .iter()
            .any(|n| n.title.contains("report written")
                && n.title.contains("r.json")
                && n.title.contains("in the export window"))
    );

    // HTML with every section (weat1 still ticked).
    export(&mut app, R::SelectAllSections(true));
    export(&mut app, R::SetTitle("Model comparison".into()));
    let html = dir.path().join("all.html");
    export(&mut app, R::SetPath(html.display().to_string()));
    let done = export_and_wait(&mut app);
    assert_eq!(done.run.files, vec![html.clone()]);
    assert_eq!(done.run.sections, Section::ALL.to_vec());
    let text = std::fs::read_to_string(&html).expect("html");
    assert!(text.contains("<title>Model comparison</title>"), "no title");
    for s in Section::ALL {
        assert!(
            done.run.preview.contains(&format!("## {}", s.title())),
            "{} missing from the preview",
            s.title()
        );
    }
    assert!(done.command.contains("--probes weat1"));
    assert!(!done.command.contains("--sections"));

    // Markdown: the images beside it, and the preview is the file's text.
    export(&mut app, R::SelectSection(Section::Eval, false));
    export(&mut app, R::SelectSection(Section::Bias, false));
    let md = dir.path().join("notes.md");
    export(&mut app, R::SetPath(md.display().to_string()));
    let done = export_and_wait(&mut app);
    assert_eq!(done.run.files.last(), Some(&md));
    assert!(done.run.files.len() >= 3, "{:?}", done.run.files);
    for f in &done.run.files {
        assert!(f.is_file(), "{} not written", f.display());
    }
    assert!(dir.path().join("notes_files").is_dir());
    let text = std::fs::read_to_string(&md).expect("md");
    assert_eq!(text, done.run.preview);
    assert!(text.contains("](notes_files/"));
    assert!(!text.contains("## Evaluation benchmarks") && !text.contains("## Bias probes"));
    // Probes are left out of the command once the bias section is.
    assert!(!done.command.contains("--probes"), "{}", done.command);

    // CSV tables into a folder (a path without extension), one file per table.
    let csv = dir.path().join("tables");
    export(&mut app, R::SetPath(csv.display().to_string()));
    assert_eq!(app.report_check().format, Some(OutputFormat::CsvDir));
    let done = export_and_wait(&mut app);
    assert!(done.run.files.len() >= 4, "{:?}", done.run.files);
    for f in &done.run.files {
        assert_eq!(f.parent(), Some(csv.as_path()));
        assert_eq!(f.extension().and_then(|e| e.to_str()), Some("csv"));
        let text = std::fs::read_to_string(f).expect("csv");
        assert!(text.lines().count() >= 2, "{}: {text}", f.display());
    }
    // The preview of a non-Markdown report links its images under preview/.
    assert!(done.run.preview.contains("](preview/"));

    // A format chosen over the path's extension: written as chosen, said in the command.
    let odd = dir.path().join("report.txt");
    export(&mut app, R::SetPath(odd.display().to_string()));
    assert!(!app.report_check().problems.is_empty(), "unknown extension");
    export(&mut app, R::SetFormat(Some(OutputFormat::Json)));
    let done = export_and_wait(&mut app);
    assert!(done.command.ends_with(" --as json"), "{}", done.command);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&odd).expect("read")).expect("json");
    assert_eq!(v["sections"].as_array().map(Vec::len), Some(7));
    // The data set order is the comparison order: swapped, the demo is version B.
    export(&mut app, R::MoveDataset(demo_name.clone(), false));
    assert_eq!(app.report_datasets(), vec![1, 0]);
    export(&mut app, R::SelectAllSections(false));
    export(&mut app, R::SelectSection(Section::Datasets, true));
    let swapped = dir.path().join("swapped.json");
    export(&mut app, R::SetFormat(None));
    export(&mut app, R::SetPath(swapped.display().to_string()));
    let done = export_and_wait(&mut app);
    assert_eq!(done.run.versions, vec![pair_a.clone(), "demo".to_string()]);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&swapped).expect("read")).expect("json");
    assert_eq!(v["datasets"][1]["name"], "demo");
    assert_eq!(v["datasets"][1]["label"], "B");
}

#[test]
fn report_export_validation_messages() {
    use crate::report::{OutputFormat, Section};
    use report::ReportCommand as R;
    let dir = tempfile::tempdir().expect("tmp");
    let problems = |app: &App| app.report_check().problems.join("\n");
    // Nothing open: fewer than two data sets, and no path.
    let mut app = App::new(Settings::default(), None);
    let p = problems(&app);
    assert!(
        p.contains("at least two data sets") && p.contains("(0 ticked)"),
        "{p}"
    );
    assert!(p.contains("Type where to save the report"), "{p}");
    // Export anyway: refused with the reasons as a notification, no job.
    export(&mut app, R::Export);
    assert!(!app.report.busy() && app.jobs.is_empty());
    let n = app.notifications.last().expect("notification");
    assert_eq!(n.level, Severity::Error);
    assert_eq!(n.title, "cannot export the report");
    assert!(
        n.details.contains("at least two data sets"),
        "{}",
        n.details
    );
    assert!(app.report.error.is_some());

    let mut app = demo_and_pair_a();
    let demo_name = app.datasets[0].name.clone();
    let good = dir.path().join("r.html");
    export(&mut app, R::SetPath(good.display().to_string()));
    assert_eq!(problems(&app), "");
    // One data set left.
    export(&mut app, R::IncludeDataset(demo_name.clone(), false));
    assert_eq!(app.report_datasets(), vec![1]);
    assert!(problems(&app).contains("(1 ticked)"), "{}", problems(&app));
    export(&mut app, R::IncludeDataset(demo_name.clone(), true));
    assert_eq!(app.report_datasets(), vec![1, 0], "re-ticked goes last");
    export(&mut app, R::ResetDatasets);
    assert_eq!(app.report_datasets(), vec![0, 1]);
    // No section.
    export(&mut app, R::SelectAllSections(false));
    assert_eq!(problems(&app), "Tick at least one section.");
    export(&mut app, R::SelectSection(Section::Words, true));
    export(&mut app, R::SelectSection(Section::Datasets, true));
    assert_eq!(app.report.sections, vec![Section::Datasets, Section::Words]);
    // An empty title.
    export(&mut app, R::SetTitle("  ".into()));
    assert_eq!(problems(&app), "Type a title.");
    export(&mut app, R::SetTitle("t".into()));
    // An empty path, and one of blanks.
    export(&mut app, R::SetPath("   ".into()));
    assert!(problems(&app).starts_with("Type where to save the report"));
    // An unknown extension.
    export(
        &mut app,
        R::SetPath(dir.path().join("r.docx").display().to_string()),
    );
    let p = problems(&app);
    assert!(
        p.contains("unknown report format .docx") && p.contains("choose a format"),
        "{p}"
    );
    // A folder for a single-file format.
    export(&mut app, R::SetPath(dir.path().display().to_string()));
    assert_eq!(app.report_check().format, Some(OutputFormat::CsvDir));
    assert_eq!(problems(&app), "");
    export(&mut app, R::SetFormat(Some(OutputFormat::Html)));
    let p = problems(&app);
    assert!(
        p.contains("is a folder: name a file") && p.contains("report.html"),
        "{p}"
    );
    export(
        &mut app,
        R::SetPath(format!("{}/new/", dir.path().display())),
    );
    assert!(problems(&app).contains("is a folder"), "{}", problems(&app));
    export(&mut app, R::SetFormat(None));
    // CSV tables onto an existing file.
    let file = dir.path().join("taken");
    std::fs::write(&file, "x").expect("write");
    export(&mut app, R::SetPath(file.display().to_string()));
    assert!(problems(&app).contains("is a file"), "{}", problems(&app));
    // A folder that does not exist.
    let p = dir.path().join("nope").join("r.md");
    export(&mut app, R::SetPath(p.display().to_string()));
    assert!(
        problems(&app).contains("does not exist"),
        "{}",
        problems(&app)
    );
    // Warnings do not stop an export: bias without a test, a file to be replaced.
    std::fs::write(&good, "old").expect("write");
    export(&mut app, R::SetPath(good.display().to_string()));
    export(&mut app, R::SelectSection(Section::Bias, true));
    let c = app.report_check();
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    let w = c.warnings.join("\n");
    assert!(
        w.contains("no WEAT test") && w.contains("will be replaced"),
        "{w}"
    );
    // The compare screen's versions are the default data sets, in its order.
    app.apply(Command::StartCompare(vec![1, 0]));
    assert_eq!(app.report_datasets(), vec![1, 0]);
    settle(&mut app);
}

#[test]
fn report_export_cancel_and_write_failure_are_reported() {
    use report::ReportCommand as R;
    let dir = tempfile::tempdir().expect("tmp");
    let mut app = demo_and_pair_a();
    // Every section (the benchmarks on 50k words take a while): cancelled, nothing written.
    let out = dir.path().join("r.html");
    export(&mut app, R::SetPath(out.display().to_string()));
    export(&mut app, R::Export);
    let id = app.report.job.expect("running");
    // A second export while one runs is refused.
    export(&mut app, R::Export);
    assert_eq!(app.report.job, Some(id));
    assert!(
        app.notifications
            .last()
            .is_some_and(|n| n.title.contains("being written"))
    );
    app.apply(Command::CancelJob(id));
    settle(&mut app);
    assert!(!app.report.busy() && app.report.last.is_none());
    assert_eq!(
        app.report.error.as_deref(),
        Some("cancelled; nothing was written")
    );
    assert!(!out.exists());
    assert!(
        app.notifications
            .iter()
            .any(|n| n.title.contains("report of 2 versions") && n.title.contains("cancelled"))
    );
    // The folder vanishes after the check: the write fails, as a notification.
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).expect("mkdir");
    let out = sub.join("r.json");
    export(&mut app, R::SetPath(out.display().to_string()));
    export(&mut app, R::Export);
    assert!(app.report.busy());
    std::fs::remove_dir(&sub).expect("rmdir");
    settle(&mut app);
    let e = app.report.error.clone().expect("an error");
    assert!(e.contains("r.json"), "{e}");
    let n = app.notifications.last().expect("notification");
    assert_eq!(n.level, Severity::Error);
    assert!(
        n.title.contains("failed") && n.details.contains("r.json"),
        "{n:?}"
    );
    assert!(app.report.last.is_none());
    // A version sharing no word with the demo: the report is written, and says what it lacks.
    let alien = dir.path().join("alien.vec");
    let rows: String = (0..20)
        .map(|i| format!("zzqx{i} {} 0.5 -0.25\n", i as f32 / 10.0))
        .collect();
    std::fs::write(&alien, format!("20 3\n{rows}")).expect("write");
    app.apply(Command::OpenPath(alien));
    settle(&mut app);
    assert_eq!(app.datasets.len(), 3);
    let pair_a_name = app.datasets[1].name.clone();
    export(&mut app, R::IncludeDataset(pair_a_name, false));
    assert_eq!(app.report_datasets(), vec![0, 2]);
    export(&mut app, R::SelectAllSections(false));
    export(
        &mut app,
        R::SelectSection(crate::report::Section::Datasets, true),
    );
    export(
        &mut app,
        R::SelectSection(crate::report::Section::Measures, true),
    );
    let out = dir.path().join("alien.json");
    export(&mut app, R::SetPath(out.display().to_string()));
    let done = export_and_wait(&mut app);
    assert!(out.is_file());
    assert!(
        done.run
            .warnings
            .iter()
            .any(|w| w.starts_with("measures: A vs B")),
        "{:?}",
        done.run.warnings
    );
}
