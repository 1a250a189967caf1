//! Reports' UMAP maps (`--map-method umap`): the JSON names the method and its parameters, the
//! maps hold the drawn words of every version, a version that is a rotation of the first lands
//! on the first map, the same seed gives the same report, and the CLI refuses a bad method.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;

use embedscope::core::{EmbeddingSet, Matrix, Metadata, Provenance};
use embedscope::formats::{self, LoadOptions};
use embedscope::report::{self, MapMethod, ReportOptions, Section, Version, render};
use serde_json::Value;

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/compare")
        .join(name)
        .display()
        .to_string()
}

fn load(name: &str) -> EmbeddingSet {
    formats::load(Path::new(&fixture(name)), &LoadOptions::default()).expect("load fixture")
}

fn options(seed: u64, points: usize) -> ReportOptions {
    let mut o = ReportOptions {
        sections: vec![Section::Maps, Section::Parameters],
        map_points: points,
        map_method: MapMethod::Umap,
        ..ReportOptions::default()
    };
    o.compare.seed = seed;
    o
}

fn build(a: &EmbeddingSet, b: &EmbeddingSet, o: &ReportOptions) -> report::Report {
    let versions = [
        Version {
            name: "a.vec".into(),
            set: a,
        },
        Version {
            name: "b.vec".into(),
            set: b,
        },
    ];
    report::build(
        &versions,
        &[None],
        o,
        &mut |_, _| {},
        &AtomicBool::new(false),
    )
    .expect("build report")
}

fn dist(p: [f32; 2], q: [f32; 2]) -> f64 {
    (f64::from(p[0] - q[0]).powi(2) + f64::from(p[1] - q[1]).powi(2)).sqrt()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[test]
fn json_says_umap_and_the_maps_hold_the_drawn_words() {
    let (a, b) = (load("pair_a.vec"), load("pair_b.vec"));
    let rep = build(&a, &b, &options(3, 300));
    assert!(rep.notes.is_empty(), "{:?}", rep.notes);
    let maps = rep.maps.as_ref().expect("maps");
    assert_eq!(maps.drawn, 300);
    assert!(maps.shared_words >= 300, "{}", maps.shared_words);
    assert_eq!(maps.points.len(), 2);
    for pts in &maps.points {
        assert_eq!(pts.len(), 300);
        assert!(pts.iter().flatten().all(|x| x.is_finite()));
    }
    // One scale: the first map centred with a root-mean-square radius of 1.
    let rms = (maps.points[0]
        .iter()
        .map(|p| f64::from(p[0]).powi(2) + f64::from(p[1]).powi(2))
        .sum::<f64>()
        / 300.0)
        .sqrt();
    assert!((rms - 1.0).abs() < 1e-3, "{rms}");
    assert_eq!(maps.labelled.len(), 10);
    assert!(
        maps.method.starts_with("UMAP (n_neighbors 15"),
        "{}",
        maps.method
    );
    let v: Value = serde_json::from_str(&render::json(&rep).expect("json")).expect("parse");
    let u = &v["maps"]["umap"];
    assert_eq!(u["method"], "umap");
    assert_eq!(u["params"]["seed"], 3);
    assert_eq!(u["params"]["n_neighbors"], 15);
    assert_eq!(u["fitted"], 300);
    assert_eq!(u["n_epochs"], 500);
    // The section says it too.
    let (md, _) = render::markdown(&rep, "f").expect("md");
    assert!(
        md.contains("UMAP (n\\_neighbors 15, min\\_dist 0.1"),
        "{md}"
    );
    assert!(
        md.contains("placed into its map by UMAP's transform"),
        "{md}"
    );
    // The principal-axes maps write no UMAP object.
    let pca = build(
        &a,
        &b,
        &ReportOptions {
            map_method: MapMethod::Pca,
            ..options(3, 300)
        },
    );
    assert!(pca.maps.as_ref().expect("maps").umap.is_none());
    let v: Value = serde_json::from_str(&render::json(&pca).expect("json")).expect("parse");
    assert!(v["maps"].get("umap").is_none());
}

/// `set` under an exact orthogonal map (axes reversed, every other one negated), with the
/// rows of `moved` swapped pairwise (those words change their neighbourhoods).
fn rotated(set: &EmbeddingSet, moved: &[usize]) -> EmbeddingSet {
    let (n, d) = (set.rows(), set.dim());
    let mut data = Vec::with_capacity(n * d);
    for i in 0..n {
        let src = match moved.iter().position(|&m| m == i) {
            Some(p) => moved[p ^ 1],
            None => i,
        };
        let row = set.matrix.row(src);
        data.extend((0..d).map(|c| {
            if c % 2 == 0 {
                -row[d - 1 - c]
            } else {
                row[d - 1 - c]
            }
        }));
    }
    EmbeddingSet::new(
        set.vocab.clone(),
        Matrix::from_vec(n, d, data).expect("matrix"),
        Metadata::default(),
        Provenance::default(),
    )
    .expect("set")
}

#[test]
fn unchanged_words_stay_put_and_changed_words_move() {
    // B is A under an orthogonal map except 20 words of the drawn ones, swapped in pairs:
    // aligned, the unchanged rows are A's, so transform puts them where the fit put them.
    let a = load("pair_a.vec");
    let moved: Vec<usize> = (0..20).map(|i| 7 + 13 * i).collect();
    let b = rotated(&a, &moved);
    let rep = build(&a, &b, &options(1, 300));
    let maps = rep.maps.as_ref().expect("maps");
    let moves: Vec<f64> = maps.points[0]
        .iter()
        .zip(&maps.points[1])
        .map(|(&p, &q)| dist(p, q))
        .collect();
    let still = median(
        (0..300)
            .filter(|i| !moved.contains(i))
            .map(|i| moves[i])
            .collect(),
    );
    let swapped = median(moved.iter().map(|&i| moves[i]).collect());
    // transform's short SGD moves even a word equal to a reference row a little (0.12 here,
    // the first map's root-mean-square radius being 1); a swapped word moves about 1.1.
    assert!(still < 0.25, "median move of an unchanged word {still}");
    assert!(
        swapped > 4.0 * still,
        "median move of a swapped word {swapped}, of an unchanged one {still}"
    );
    // The labelled (most displaced) words are swapped ones.
    assert_eq!(maps.labelled.len(), 10);
    for w in &maps.labelled {
        let i = a.vocab.get(&w.token).expect("token");
        assert!(moved.contains(&i), "{}", w.token);
    }
}

#[test]
fn the_same_seed_gives_the_same_report() {
    let (a, b) = (load("pair_a.vec"), load("pair_b.vec"));
    let r1 = build(&a, &b, &options(7, 200));
    let r2 = build(&a, &b, &options(7, 200));
    assert_eq!(
        render::json(&r1).expect("json"),
        render::json(&r2).expect("json")
    );
    let (m1, m2) = (r1.maps.expect("maps"), r2.maps.expect("maps"));
    assert_eq!(m1.points, m2.points);
    let r3 = build(&a, &b, &options(8, 200));
    assert_ne!(m1.points, r3.maps.expect("maps").points);
}

#[test]
fn too_few_words_for_umap_is_a_note() {
    let (a, b) = (load("pair_a.vec"), load("pair_b.vec"));
    let rep = build(&a, &b, &options(1, 10));
    assert!(rep.maps.is_none());
    assert!(
        rep.notes
            .iter()
            .any(|n| n.starts_with("maps: UMAP map:") && n.contains("16")),
        "{:?}",
        rep.notes
    );
}

fn cli(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_embedscope"))
        .arg("report")
        .args(args)
        .arg("--no-cache")
        .output()
        .expect("run embedscope");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_cli_takes_umap_and_refuses_another_method() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("r.json");
    let out_s = out.display().to_string();
    let (a, b) = (fixture("pair_a.vec"), fixture("pair_b.vec"));
    let common = [
        a.as_str(),
        b.as_str(),
        "--sections",
        "maps",
        "--map-points",
        "200",
        "--out",
        out_s.as_str(),
    ];
    let (code, err) = cli(&[&common[..], &["--map-method", "tsne"]].concat());
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--map-method") && err.contains("umap"),
        "{err}"
    );
    assert!(!out.exists());
    let (code, err) = cli(&[&common[..], &["--map-method", "umap", "--seed", "4"]].concat());
    assert_eq!(code, 0, "{err}");
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("read")).expect("parse");
    assert_eq!(v["maps"]["umap"]["method"], "umap");
    assert_eq!(v["maps"]["umap"]["params"]["seed"], 4);
    assert_eq!(v["maps"]["drawn"], 200);
    assert!(
        v["command"]
            .as_str()
            .is_some_and(|c| c.contains("--map-method umap")),
        "{}",
        v["command"]
    );
}
