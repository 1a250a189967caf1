//! Runs embedscope's HDBSCAN on a raw little-endian f32 file and reports the time of each run;
//! used by `benches/peers/hdbscan_peer.py`.
//!
//! `hdbscan_eval POINTS.f32 DIM MIN_CLUSTER_SIZE [--min-samples M] [--leaf] [--epsilon E]
//!  [--single] [--repeats R] [--out PREFIX]`
//!
//! Prints `run_s <seconds>` per run and `clusters <k> noise <rows>`; with `--out`, writes
//! `PREFIX.labels.i32` (per row, -1 noise), `PREFIX.probs.f32` and `PREFIX.mst.bin` (per
//! spanning-tree edge: row a u32, row b u32, weight f64, little-endian).

use std::time::Instant;

use embedscope::analysis::cluster::{HdbscanParams, Selection, hdbscan};

fn usage() -> ! {
    eprintln!(
        "usage: hdbscan_eval POINTS.f32 DIM MIN_CLUSTER_SIZE [--min-samples M] [--leaf] \
         [--epsilon E] [--single] [--repeats R] [--out PREFIX]"
    );
    std::process::exit(2)
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 4 {
        usage();
    }
    let bytes = std::fs::read(&a[1]).unwrap_or_else(|e| {
        eprintln!("{}: {e}", a[1]);
        std::process::exit(1)
    });
    let points: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let dim: usize = a[2].parse().unwrap_or_else(|_| usage());
    let mut p = HdbscanParams {
        min_cluster_size: a[3].parse().unwrap_or_else(|_| usage()),
        ..HdbscanParams::default()
    };
    let mut repeats = 1;
    let mut out = None;
    let mut i = 4;
    while i < a.len() {
        let val = |i: usize| a.get(i + 1).cloned().unwrap_or_else(|| usage());
        match a[i].as_str() {
            "--min-samples" => p.min_samples = Some(val(i).parse().unwrap_or_else(|_| usage())),
            "--epsilon" => p.cluster_selection_epsilon = val(i).parse().unwrap_or_else(|_| usage()),
            "--repeats" => repeats = val(i).parse().unwrap_or_else(|_| usage()),
            "--out" => out = Some(val(i)),
            "--leaf" => {
                p.selection = Selection::Leaf;
                i -= 1;
            }
            "--single" => {
                p.allow_single_cluster = true;
                i -= 1;
            }
            _ => usage(),
        }
        i += 2;
    }
    let mut result = None;
    for _ in 0..repeats {
        let t = Instant::now();
        let r = hdbscan(&points, dim, &p, None).unwrap_or_else(|e| {
            eprintln!("hdbscan: {e}");
            std::process::exit(1)
        });
        println!("run_s {:.6}", t.elapsed().as_secs_f64());
        result = Some(r);
    }
    let Some(r) = result else { return };
    println!(
        "clusters {} noise {}",
        r.n_clusters,
        r.labels.iter().filter(|&&l| l == -1).count()
    );
    if let Some(prefix) = out {
        let write = |ext: &str, data: Vec<u8>| {
            let path = format!("{prefix}.{ext}");
            std::fs::write(&path, data).unwrap_or_else(|e| {
                eprintln!("{path}: {e}");
                std::process::exit(1)
            });
        };
        write(
            "labels.i32",
            r.labels.iter().flat_map(|l| l.to_le_bytes()).collect(),
        );
        write(
            "probs.f32",
            r.probabilities
                .iter()
                .flat_map(|p| p.to_le_bytes())
                .collect(),
        );
        let mut mst = Vec::with_capacity(r.spanning_tree.len() * 16);
        for e in &r.spanning_tree {
            mst.extend_from_slice(&e.a.to_le_bytes());
            mst.extend_from_slice(&e.b.to_le_bytes());
            mst.extend_from_slice(&e.weight.to_le_bytes());
        }
        write("mst.bin", mst);
    }
}
