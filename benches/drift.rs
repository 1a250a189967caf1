//! Drift tests on 50,000 x 384 rows per side (issue 18's size): every method with 1,000
//! permutations (MMD and energy on a seeded sample of 5,000 rows per side), first each method
//! alone timed once (printed, with its score and p-value), then criterion on all of them
//! together.
//!
//! The rows: a 32-dimensional latent Gaussian mapped linearly into 384 dimensions plus noise
//! and a common offset (embedding-like: most variance in a few directions, all rows in one
//! half-space); the current side has 10% of its rows moved along a latent direction.
//! `EMBEDSCOPE_DRIFT_PERMUTATIONS=N` sets the permutations of the one-shot timings (20, the
//! fewest alpha 0.05 allows, is close to the cost of the scores alone).
//! `EMBEDSCOPE_DRIFT_DATA=DIR` also writes them as `DIR/reference.npy` and `DIR/current.npy`
//! (f32) for `benches/peers/compare_drift.py`, which runs Evidently on the same rows.

use std::hint::black_box;
use std::io::Write as _;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use embedscope::analysis::drift::{DriftInput, DriftMethod, DriftParams, drift};
use embedscope::core::Matrix;

const N: usize = 50_000;
const DIM: usize = 384;
const LATENT: usize = 32;

struct Gen(u64);

impl Gen {
    fn uni(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        (-2.0 * self.uni().ln()).sqrt() * (std::f64::consts::TAU * self.uni()).cos()
    }
}

fn sides() -> (Vec<f32>, Vec<f32>) {
    let mut g = Gen(0x5EED_D21F7);
    let w: Vec<f64> = (0..LATENT * DIM).map(|_| g.normal() * 0.25).collect();
    let offset: Vec<f64> = (0..DIM).map(|_| 0.2 + 0.1 * g.normal()).collect();
    let make = |g: &mut Gen, shifted: bool| {
        let mut x = Vec::with_capacity(N * DIM);
        let mut z = vec![0f64; LATENT];
        for i in 0..N {
            for (k, v) in z.iter_mut().enumerate() {
                *v = g.normal() * (1.0 + 2.0 / (1.0 + k as f64));
            }
            if shifted && i % 10 == 0 {
                z[3] += 2.5;
            }
            for j in 0..DIM {
                let mut v = offset[j] + 0.3 * g.normal();
                for (k, &zk) in z.iter().enumerate() {
                    v += zk * w[k * DIM + j];
                }
                x.push(v as f32);
            }
        }
        x
    };
    let r = make(&mut g, false);
    let c = make(&mut g, true);
    (r, c)
}

fn write_npy(path: &std::path::Path, rows: usize, cols: usize, x: &[f32]) -> std::io::Result<()> {
    let mut header =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    f.write_all(b"\x93NUMPY\x01\x00")?;
    f.write_all(&(header.len() as u16).to_le_bytes())?;
    f.write_all(header.as_bytes())?;
    for v in x {
        f.write_all(&v.to_le_bytes())?;
    }
    f.flush()
}

fn bench(c: &mut Criterion) {
    let t = Instant::now();
    let (r, cur) = sides();
    eprintln!(
        "drift bench: data made in {:.2} s",
        t.elapsed().as_secs_f64()
    );
    let out_dir = std::env::var("EMBEDSCOPE_DRIFT_DATA")
        .ok()
        .map(std::path::PathBuf::from);
    if let Some(dir) = &out_dir {
        std::fs::create_dir_all(dir).expect("data folder");
        write_npy(&dir.join("reference.npy"), N, DIM, &r).expect("write reference.npy");
        write_npy(&dir.join("current.npy"), N, DIM, &cur).expect("write current.npy");
        eprintln!("drift bench: rows written to {}", dir.display());
    }
    let rm = Matrix::from_vec(N, DIM, r).expect("matrix");
    let cm = Matrix::from_vec(N, DIM, cur).expect("matrix");
    let input = DriftInput::Two {
        reference: &rm,
        current: &cm,
    };
    let permutations: usize = std::env::var("EMBEDSCOPE_DRIFT_PERMUTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    eprintln!("drift bench: one-shot timings with {permutations} permutations");
    let params = |methods: Vec<DriftMethod>, permutations: usize| {
        DriftParams {
            methods,
            permutations,
            ..DriftParams::default()
        }
        .check()
        .expect("valid")
    };
    // Each method alone, once (the two distances share their pass, as MMD and energy do).
    let groups: [(&str, &[DriftMethod]); 5] = [
        (
            "distance",
            &[DriftMethod::DistanceEuclidean, DriftMethod::DistanceCosine],
        ),
        ("ratio", &[DriftMethod::Ratio]),
        ("kernel", &[DriftMethod::Mmd, DriftMethod::Energy]),
        ("classifier", &[DriftMethod::Classifier]),
        ("all", &DriftMethod::ALL),
    ];
    let mut times = serde_json::Map::new();
    for (key, g) in groups {
        let p = params(g.to_vec(), permutations);
        let t = Instant::now();
        let rep = drift(input, &p, &mut |_| {}, None).expect("drift");
        let secs = t.elapsed().as_secs_f64();
        let names: Vec<&str> = g.iter().map(|m| m.name()).collect();
        eprintln!("drift bench: {} in {secs:.2} s", names.join(" + "));
        times.insert(key.into(), secs.into());
        for (m, res) in &rep.methods {
            eprintln!(
                "    {m}: score {:.6} threshold {:.4} drift {} p {:.4}",
                res.score, res.threshold, res.drift, res.p_value
            );
        }
    }
    if let Some(dir) = &out_dir {
        std::fs::write(
            dir.join("embedscope.json"),
            serde_json::Value::Object(times).to_string(),
        )
        .expect("write embedscope.json");
    }
    let p = params(DriftMethod::ALL.to_vec(), 1000);
    let mut g = c.benchmark_group("drift");
    g.sample_size(10);
    g.bench_function("all methods 50k x 384 per side, 1000 permutations", |b| {
        b.iter(|| drift(black_box(input), &p, &mut |_| {}, None).expect("drift"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
