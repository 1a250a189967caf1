//! The map's density layer: off by default; on, the active map's contours are made for its map
//! and filter versions and made again when either changes (only the kept rows counted; a
//! filter keeping nothing leaves no contours and says why); off drops them; a large map's are
//! made on the worker; the setting is saved and old settings files load with it off.

use super::*;
use crate::app::density::{DENSITY_JOB_POINTS, MapDensity, map_density};
use crate::app::table::TableCommand;
use crate::core::{MetaColumn, Metadata, Provenance, Vocab};

const N: usize = 600;

/// Three groups of rows in 3-D (tight, loose, elongated), with their group as metadata.
fn grouped() -> EmbeddingSet {
    let mut s = 0x2545_F491_4F6C_DD1Du64;
    let mut unit = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f32 / (1u64 << 53) as f32 - 0.5
    };
    let centres = [[0.0, 0.0, 0.0], [3.0, 1.0, -1.0], [-2.0, 3.0, 1.0]];
    let spread = [0.3, 0.8, 0.5];
    let mut data = Vec::with_capacity(N * 3);
    for i in 0..N {
        let g = i % 3;
        for c in centres[g] {
            data.push(c + spread[g] * (unit() + unit() + unit()));
        }
    }
    let mut meta = Metadata::new();
    meta.push(
        MetaColumn {
            name: "group".into(),
            values: (0..N).map(|i| ["a", "b", "c"][i % 3].to_string()).collect(),
        },
        N,
    )
    .expect("group");
    EmbeddingSet::new(
        Vocab::from_unique((0..N).map(|i| format!("r{i}"))).expect("vocab"),
        crate::core::Matrix::from_vec(N, 3, data).expect("matrix"),
        meta,
        Provenance {
            source: "groups.npy".into(),
            ..Provenance::default()
        },
    )
    .expect("set")
}

fn current(app: &App) -> &MapDensity {
    let d = app.active_dataset().expect("set");
    let c = d.density.contours.as_ref().expect("contours");
    assert!(c.is_current(d), "made for the current map and filter");
    c
}

fn category(app: &mut App, values: &[&str]) {
    let col = app
        .active_dataset()
        .and_then(|d| d.table.cross_filter())
        .and_then(|cf| cf.column_index("group"))
        .expect("group chart");
    app.apply(Command::Table(TableCommand::SetCategoryFilter {
        column: col,
        values: values.iter().map(|v| v.to_string()).collect(),
        other: false,
        missing: false,
    }));
}

#[test]
fn density_contours_follow_the_map_and_the_filter_and_go_when_turned_off() {
    let mut app = App::new(Settings::default(), None);
    assert!(!app.settings.density, "off by default");
    app.add_dataset(Arc::new(grouped()));
    settle(&mut app);
    assert!(
        app.active_dataset()
            .expect("set")
            .density
            .contours
            .is_none()
    );

    app.apply(Command::SetDensity(true));
    assert!(app.settings.density);
    let c = current(&app);
    assert_eq!(c.points, N);
    assert_eq!(c.levels.len(), 4);
    assert!(c.note.is_none(), "{:?}", c.note);
    assert!(c.bandwidth.iter().all(|h| *h > 0.0));
    for (l, f) in c.levels.iter().zip([0.25, 0.5, 0.75, 0.9]) {
        assert_eq!(l.fraction, f);
        assert!(!l.lines.is_empty(), "level {f}");
    }
    for w in c.levels.windows(2) {
        assert!(w[0].threshold > w[1].threshold, "densest first");
    }
    // Every vertex lies within the map's bounds widened by the lattice's margin.
    let m = app
        .active_dataset()
        .and_then(|d| d.map.as_ref())
        .expect("map");
    let (lo, hi) = crate::app::grid::bounds(&m.coords).expect("bounds");
    for p in c.lines().flat_map(|l| &l.points) {
        for a in 0..2 {
            let pad = 3.0 * c.bandwidth[a] as f32 + 1e-3;
            assert!(p[a] >= lo[a] - pad && p[a] <= hi[a] + pad, "{p:?}");
        }
    }
    // Polling again with nothing changed keeps them.
    let before = c.clone();
    assert!(!app.poll());
    assert_eq!(current(&app).levels, before.levels);

    // A filter: only group "a" counts, made again at the next poll.
    app.apply(Command::Table(TableCommand::BuildFilter));
    category(&mut app, &["a"]);
    app.poll();
    let c = current(&app);
    assert_eq!(c.points, N / 3);
    assert_ne!(c.levels, before.levels);
    assert!(c.levels.iter().all(|l| !l.lines.is_empty()));
    // A filter keeping nothing: no contours, and why.
    category(&mut app, &[]);
    app.poll();
    let c = current(&app);
    assert!(c.levels.is_empty());
    assert_eq!(c.points, 0);
    assert!(
        c.note
            .as_deref()
            .is_some_and(|n| n.contains("keeps no rows")),
        "{:?}",
        c.note
    );
    app.apply(Command::Table(TableCommand::ClearFilters));
    app.poll();
    assert_eq!(current(&app).points, N);

    // A new map: its own contours.
    let v0 = current(&app).map_version;
    app.apply(Command::Project(ProjectSpec::Pca));
    settle(&mut app);
    let c = current(&app);
    assert_ne!(c.map_version, v0);
    assert_eq!(c.levels.len(), 4);

    app.apply(Command::SetDensity(false));
    assert!(!app.settings.density);
    assert!(
        app.active_dataset()
            .expect("set")
            .density
            .contours
            .is_none()
    );
    app.poll();
    assert!(
        app.active_dataset()
            .expect("set")
            .density
            .contours
            .is_none()
    );
}

#[test]
fn points_that_do_not_spread_give_no_contours_and_a_note() {
    let c = map_density(&[[1.0, 2.0]; 4], None, 3, 7);
    assert!(c.levels.is_empty());
    assert_eq!((c.map_version, c.filter_version), (3, 7));
    assert!(
        c.note.as_deref().is_some_and(|n| n.contains("spread")),
        "{:?}",
        c.note
    );
    // Non-finite points are left out.
    let coords = [[0.0, 0.0], [1.0, 0.5], [f32::NAN, 1.0], [0.3, 1.0]];
    let c = map_density(&coords, None, 3, 7);
    assert_eq!(c.points, 3);
    assert_eq!(c.levels.len(), 4);
    // Every point masked: no contours, and why.
    let c = map_density(&coords, Some(&[false; 4]), 3, 7);
    assert!(c.levels.is_empty());
    assert!(
        c.note
            .as_deref()
            .is_some_and(|n| n.contains("keeps no rows"))
    );
}

#[test]
fn a_large_map_gets_its_contours_on_the_worker() {
    let n = DENSITY_JOB_POINTS;
    // Two discs of points in 2-D (the PCA map is the points turned).
    let data: Vec<f32> = (0..n)
        .flat_map(|i| {
            let t = (i as f32 * 0.618_034).fract() * std::f32::consts::TAU;
            let r = ((i * 7919 % 1000) as f32 / 1000.0).sqrt();
            let c = if i % 2 == 0 { -3.0 } else { 3.0 };
            [c + r * t.cos(), r * t.sin()]
        })
        .collect();
    let set = EmbeddingSet::new(
        Vocab::from_unique((0..n).map(|i| format!("p{i}"))).expect("vocab"),
        crate::core::Matrix::from_vec(n, 2, data).expect("matrix"),
        Metadata::new(),
        Provenance::default(),
    )
    .expect("set");
    let mut app = App::new(Settings::default(), None);
    app.add_dataset(Arc::new(set));
    settle(&mut app);
    app.apply(Command::SetDensity(true));
    assert!(
        app.jobs.iter().any(|j| j.kind == JobKind::Density),
        "a job, not the UI thread"
    );
    assert!(
        app.active_dataset()
            .expect("set")
            .density
            .contours
            .is_none()
    );
    settle(&mut app);
    let c = current(&app);
    assert_eq!(c.points, n);
    assert_eq!(c.levels.len(), 4);
    // Two discs: the densest quarter is two loops.
    assert!(c.levels[0].lines.len() >= 2, "{}", c.levels[0].lines.len());
    assert!(!app.poll(), "nothing to make again");
    assert!(app.jobs.is_empty());
}

#[test]
fn the_density_setting_is_saved_and_old_settings_load_with_it_off() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("settings.json");
    std::fs::write(&p, r#"{"dark": false, "point_size": 3.0}"#).expect("write");
    let (s, msg) = Settings::load(&p);
    assert!(msg.is_none());
    assert!(!s.density && !s.dark);
    let mut app = App::new(s, Some(p.clone()));
    app.apply(Command::SetDensity(true));
    assert!(Settings::load(&p).0.density);
}
