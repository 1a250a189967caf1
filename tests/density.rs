//! The binned kernel density (`analysis::density`) against `scipy.stats.gaussian_kde` 1.17.1
//! (`tests/fixtures/density/scipy_kde.json`, made by `tests/fixtures/gen/density_reference.py`):
//! 500 points of a seeded mixture turned onto their principal axes, so scipy's kernel
//! covariance (the sample covariance times Scott's factor squared, or times 0.2 squared) is the
//! diagonal one embedscope uses. Checked: Scott's bandwidths equal scipy's, the lattice equals
//! the one the script computed, and the density at every 8th node in both directions is within
//! 0.5% of scipy's peak (linear binning's error, `(step / h)^2 / 12` per axis: 0.1% for
//! these bandwidths of 5 to 10 lattice steps), with the mean error printed.

use std::path::PathBuf;

use embedscope::analysis::density::{
    Bandwidth, DEFAULT_FRACTIONS, DensityParams, contours, estimate, scott_bandwidth,
};
use serde_json::Value;

fn fixture() -> Value {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/density/scipy_kde.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("json")
}

fn numbers(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs())
}

#[test]
fn binned_kde_matches_scipy_gaussian_kde() {
    let f = fixture();
    let points: Vec<[f32; 2]> = f["points"]
        .as_array()
        .expect("points")
        .iter()
        .map(|p| {
            let p = numbers(p);
            [p[0] as f32, p[1] as f32]
        })
        .collect();
    assert_eq!(points.len(), 500);
    assert!(f["correlation"].as_f64().expect("corr").abs() < 1e-6);
    let grid = f["grid"].as_u64().expect("grid") as usize;
    let stride = f["stride"].as_u64().expect("stride") as usize;
    let margin = f["margin"].as_f64().expect("margin");
    let scott = scott_bandwidth(&points, None).expect("scott");
    for case in f["cases"].as_array().expect("cases") {
        let name = case["name"].as_str().expect("name");
        let h = numbers(&case["bandwidth"]);
        // scipy's kernel covariance is diagonal here; its diagonal is h^2.
        let cov: Vec<Vec<f64>> = case["covariance"]
            .as_array()
            .expect("cov")
            .iter()
            .map(numbers)
            .collect();
        assert!(cov[0][1].abs() < 1e-6 * (cov[0][0] * cov[1][1]).sqrt());
        let bandwidth = if name == "scott" {
            for a in 0..2 {
                assert!(close(scott[a], h[a], 1e-9), "{name}: {scott:?} vs {h:?}");
            }
            Bandwidth::Scott
        } else {
            Bandwidth::Fixed([h[0], h[1]])
        };
        let params = DensityParams {
            grid,
            bandwidth,
            margin,
        }
        .check()
        .expect("params");
        let g = estimate(&points, None, &params).expect("density");
        let (origin, step) = (numbers(&case["origin"]), numbers(&case["step"]));
        for a in 0..2 {
            assert!(
                close(g.lattice.origin[a], origin[a], 1e-9),
                "{name}: origin"
            );
            assert!(close(g.lattice.step[a], step[a], 1e-9), "{name}: step");
        }
        let want = numbers(&case["density"]);
        let idx: Vec<usize> = (0..grid).step_by(stride).collect();
        assert_eq!(want.len(), idx.len() * idx.len());
        let peak = want.iter().copied().fold(0.0, f64::max);
        let mut worst = 0f64;
        let mut sum = 0f64;
        for (k, w) in want.iter().enumerate() {
            let (i, j) = (idx[k % idx.len()], idx[k / idx.len()]);
            let got = g.values[j * grid + i];
            worst = worst.max((got - w).abs());
            sum += (got - w).abs();
        }
        eprintln!(
            "{name}: h {:?} ({:.1} steps), max |ours - scipy| {:.2e} = {:.3}% of the peak \
             {peak:.4}, mean {:.2e}",
            g.bandwidth,
            g.resolution(),
            worst,
            100.0 * worst / peak,
            sum / want.len() as f64
        );
        assert!(worst < 0.005 * peak, "{name}: {worst} vs peak {peak}");
        // Its contours: one or more closed loops per level, inside the lattice.
        let levels = contours(&g, &DEFAULT_FRACTIONS).expect("contours");
        for l in &levels {
            assert!(!l.lines.is_empty() && l.lines.iter().all(|p| p.closed));
        }
    }
}
