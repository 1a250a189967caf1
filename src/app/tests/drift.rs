//! The Drift window: a split of one set and two sets of one model, run as jobs; the joint map's
//! points per side, the planted region's cluster first with its documents, the cluster's rows
//! selected on the main map; bad forms said, other weights refused, cancel.

use super::super::*;
use super::settle;
use crate::analysis::drift::DriftMethod;
use crate::app::drift::{DriftCommand as D, DriftForm, DriftMode, SplitKind};
use crate::core::{Matrix, MetaColumn, Metadata, Provenance, Vocab};

/// `n` tickets of 16 dimensions: the first half dated January, the rest June; the last 10%
/// of June's point another way and are about refunds. Encoded by `weights`.
fn tickets(n: usize, dim: usize, weights: &str, seed: u64) -> EmbeddingSet {
    let mut rng = crate::analysis::project::Rng::new(seed);
    let planted = n - n / 10;
    let mut data = Vec::with_capacity(n * dim);
    for i in 0..n {
        for j in 0..dim {
            let lean = match (i >= planted, j) {
                (false, 0) | (true, 3) => 6.0,
                _ => 0.0,
            };
            data.push((rng.normal() + lean) as f32);
        }
    }
    let words = ["login", "invoice", "shipping", "delay", "colour", "size"];
    let text = (0..n)
        .map(|i| {
            if i >= planted {
                format!("refund password reset {i}")
            } else {
                format!("{} {} {i}", words[i % 6], words[(i / 6) % 6])
            }
        })
        .collect();
    let date = (0..n)
        .map(|i| {
            if i < n / 2 {
                "2024-01-15"
            } else {
                "2024-06-15"
            }
            .to_string()
        })
        .collect();
    let mut meta = Metadata::new();
    for (name, values) in [("text", text), ("date", date)] {
        meta.push(
            MetaColumn {
                name: name.into(),
                values,
            },
            n,
        )
        .expect("column");
    }
    let mut provenance = Provenance {
        source: format!("tickets-{seed}.npy"),
        ..Provenance::default()
    };
    provenance
        .encoding
        .insert("weights_sha256".into(), weights.into());
    provenance.encoding.insert("model".into(), "m".into());
    EmbeddingSet::new(
        Vocab::from_unique((0..n).map(|i| format!("t{i}"))).expect("vocab"),
        Matrix::from_vec(n, dim, data).expect("matrix"),
        meta,
        provenance,
    )
    .expect("set")
}

fn drift(app: &mut App, c: D) {
    app.apply(Command::Drift(c));
}

fn form(app: &mut App, f: impl FnOnce(&mut DriftForm)) {
    let mut form = app.drift.form.clone();
    f(&mut form);
    drift(app, D::SetForm(form));
}

fn quick(f: &mut DriftForm) {
    f.permutations = 99;
    f.clusters = 6;
    f.keywords = 3;
}

fn errors(app: &App) -> Vec<String> {
    app.notifications
        .iter()
        .filter(|n| n.level == Severity::Error)
        .map(|n| format!("{}: {}", n.title, n.details))
        .collect()
}

#[test]
fn a_split_runs_and_its_planted_region_is_listed_shown_and_selected() {
    let mut app = App::new(Settings::default(), None);
    app.add_dataset(Arc::new(tickets(400, 16, "aaa", 1)));
    settle(&mut app);
    form(&mut app, |f| {
        quick(f);
        f.mode = DriftMode::Split;
        f.column = "date".into();
        f.kind = SplitKind::Before;
        f.value = "2024-03-01".into();
    });
    drift(&mut app, D::Run);
    assert!(app.drift.busy());
    assert!(app.jobs.iter().any(|j| j.kind == JobKind::Drift));
    settle(&mut app);
    assert!(errors(&app).is_empty(), "{:?}", errors(&app));
    let run = app.drift.run.clone().expect("a study");
    let s = &run.study;
    assert_eq!((s.report.n_ref, s.report.n_cur), (200, 200));
    assert_eq!(s.report.methods.len(), DriftMethod::ALL.len());
    assert!(s.report.methods[&DriftMethod::Classifier].p_value <= 0.05);
    assert_eq!(s.split.as_ref().map(|x| x.left_out), Some(0));
    // The joint map's points per side, thinned evenly when asked for fewer.
    let [r, c] = app.drift.points(1000);
    assert_eq!((r.len(), c.len()), (200, 200));
    let [r, c] = app.drift.points(50);
    assert_eq!((r.len(), c.len()), (50, 50));
    // The planted region is the first cluster and is chosen; its documents are about refunds
    // and all from June.
    let top = &s.clusters[0];
    assert_eq!(app.drift.cluster, Some(top.drift.id));
    assert!(top.drift.ratio > 0.9 && top.keywords.contains(&"refund".to_string()));
    let docs = app.drift.documents(top.drift.id, 100);
    assert_eq!(docs.len(), 40);
    assert!(
        docs.iter()
            .all(|d| d.side == 1 && d.row >= 360 && d.text.contains("refund")),
        "{docs:?}"
    );
    assert_eq!(app.drift.documents(top.drift.id, 5).len(), 5);
    let [cr, cc] = app.drift.cluster_points(top.drift.id);
    assert_eq!((cr.len(), cc.len()), (0, 40));
    // On the map: the cluster's rows selected on the split set.
    drift(&mut app, D::ShowInMap(top.drift.id));
    assert_eq!(app.datasets[0].selection, (360..400).collect::<Vec<_>>());
    assert_eq!(app.active, Some(0));
    drift(&mut app, D::SelectCluster(None));
    assert_eq!(app.drift.cluster, None);
}

#[test]
fn two_sets_of_one_model_and_the_refusals() {
    let mut app = App::new(Settings::default(), None);
    for (n, w, seed) in [(300, "aaa", 2), (300, "aaa", 3), (300, "bbb", 4)] {
        app.add_dataset(Arc::new(tickets(n, 16, w, seed)));
    }
    app.add_dataset(Arc::new(tickets(300, 8, "aaa", 5)));
    settle(&mut app);
    let names: Vec<String> = app.datasets.iter().map(|d| d.name.clone()).collect();
    // Two sets of one model: the second's planted tenth is new.
    form(&mut app, |f| {
        quick(f);
        f.methods = vec![DriftMethod::Mmd, DriftMethod::DistanceCosine];
        f.reference = Some(names[0].clone());
        f.current = Some(names[1].clone());
    });
    drift(&mut app, D::Run);
    settle(&mut app);
    let run = app.drift.run.clone().expect("a study");
    assert_eq!(run.names, [names[0].clone(), names[1].clone()]);
    assert_eq!(run.study.report.methods.len(), 2);
    // Both sides have the planted tenth: no region is new, and the tests see no drift.
    assert!(run.study.clusters.iter().all(|c| c.drift.ratio.abs() < 0.5));
    assert!(run.study.report.methods[&DriftMethod::Mmd].p_value > 0.01);
    // Showing a cluster selects its rows on both sets.
    let id = run.study.clusters[0].drift.id;
    drift(&mut app, D::ShowInMap(id));
    let c = &run.study.clusters[0].drift;
    assert_eq!(app.datasets[0].selection.len(), c.n_ref);
    assert_eq!(app.datasets[1].selection.len(), c.n_cur);

    // Other weights: refused, with the override named; allowed with it.
    form(&mut app, |f| f.current = Some(names[2].clone()));
    drift(&mut app, D::Run);
    settle(&mut app);
    let e = errors(&app);
    assert!(
        e.iter()
            .any(|m| m.contains("different models") && m.contains("allow")),
        "{e:?}"
    );
    assert_eq!(
        app.drift.run.as_ref().map(|r| r.names[1].clone()),
        Some(names[1].clone())
    );
    form(&mut app, |f| f.allow_other_models = true);
    drift(&mut app, D::Run);
    settle(&mut app);
    assert_eq!(
        app.drift.run.as_ref().map(|r| r.names[1].clone()),
        Some(names[2].clone())
    );
    // Another dimension.
    app.notifications.clear();
    form(&mut app, |f| f.current = Some(names[3].clone()));
    drift(&mut app, D::Run);
    settle(&mut app);
    let e = errors(&app);
    assert!(e.iter().any(|m| m.contains("8-dimensional")), "{e:?}");
    // Forms that cannot run are said before any job.
    for (change, says) in [
        (
            Box::new(|f: &mut DriftForm| f.methods.clear()) as Box<dyn Fn(&mut DriftForm)>,
            "no drift test",
        ),
        (
            Box::new(|f: &mut DriftForm| {
                f.methods = vec![DriftMethod::Mmd];
                f.mode = DriftMode::Split;
                f.column = String::new();
            }),
            "which column",
        ),
        (
            Box::new(|f: &mut DriftForm| {
                f.column = "date".into();
                f.kind = SplitKind::Threshold;
                f.value = "soon".into();
            }),
            "expected a number",
        ),
        (
            Box::new(|f: &mut DriftForm| {
                f.kind = SplitKind::Before;
                f.value = "2020-01-01".into();
            }),
            "reference has 0",
        ),
        (
            Box::new(|f: &mut DriftForm| {
                f.value = "2024-03-01".into();
                f.permutations = 10_000_000;
            }),
            "permutations",
        ),
    ] {
        app.notifications.clear();
        form(&mut app, |f| change(f));
        drift(&mut app, D::Run);
        settle(&mut app);
        let e = errors(&app);
        assert!(e.iter().any(|m| m.contains(says)), "{says}: {e:?}");
    }
    // Cancel: the job stops, the last results stay.
    let before = app.drift.run.as_ref().map(|r| r.names.clone());
    form(&mut app, |f| {
        f.mode = DriftMode::TwoSets;
        f.current = Some(names[1].clone());
        f.permutations = 100_000;
        f.methods = DriftMethod::ALL.to_vec();
    });
    drift(&mut app, D::Run);
    let id = app.drift.job.expect("running");
    app.apply(Command::CancelJob(id));
    settle(&mut app);
    assert!(!app.drift.busy());
    assert_eq!(app.drift.run.as_ref().map(|r| r.names.clone()), before);
}
