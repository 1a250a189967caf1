//! The bias probes panel.

use super::super::*;
use super::{demo_app, settle};

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
