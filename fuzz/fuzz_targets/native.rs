//! The native `.esv` file, a cache entry (the same format with a source stamp, reached through
//! `load` with a cache folder), and the stored HNSW index file.
//!
//! Mode byte: bits 0-1 what (0 a user's `.esv`, 1 a cache entry, 2 an index file, 3 a `.esv`
//! read with a row limit from bits 2-7).
#![no_main]

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use embedscope::analysis::ann::{self, AnnData, AnnIndex, AnnParams, HnswGraph};
use embedscope::analysis::knn::Query;
use embedscope::formats::{self, Format, LoadOptions};
use embedscope_fuzz::{Input, base, file};
use libfuzzer_sys::fuzz_target;

/// A small GloVe source and the cache folder that holds its entry. The source's modification
/// time and folder are fixed (`embedscope-fuzz-cache` under `EMBEDSCOPE_FUZZ_TMP` or the
/// temporary folder), so the entry's stamp (path, size, time) is the same in every run: a seed
/// made by `fuzz/seeds.sh` is a hit, and its mutations reach past the stamp.
fn cache_source() -> &'static (PathBuf, PathBuf) {
    static SRC: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    SRC.get_or_init(|| {
        let root = base().join("embedscope-fuzz-cache");
        let _ = std::fs::create_dir_all(&root);
        let src = root.join("source_glove.txt");
        let _ = std::fs::write(&src, b"a 1 2\nb 3 4\n");
        if let Ok(f) = std::fs::File::options().write(true).open(&src) {
            let _ = f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1 << 30));
        }
        let dir = root.join("cache");
        let _ = std::fs::create_dir_all(&dir);
        (src, dir)
    })
}

/// With `EMBEDSCOPE_FUZZ_WRITE_SEEDS=DIR`, writes this target's seeds that only embedscope can
/// make (a native file, a cache entry, an index file) into DIR, once, before the first input.
fn write_seeds() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let Some(dir) = std::env::var_os("EMBEDSCOPE_FUZZ_WRITE_SEEDS").map(PathBuf::from) else {
            return;
        };
        let _ = std::fs::create_dir_all(&dir);
        let seed = |name: &str, mode: u8, bytes: &[u8]| {
            let mut v = vec![mode];
            v.extend_from_slice(bytes);
            let _ = std::fs::write(dir.join(name), v);
        };
        let Ok(set) = formats::demo_set(Some(40)) else {
            return;
        };
        let esv = base().join("embedscope-fuzz-seed.esv");
        if formats::save(&set, &esv, Some(Format::Native)).is_ok()
            && let Ok(b) = std::fs::read(&esv)
        {
            seed("esv", 0, &b);
            seed("esv-limit", 3 | (5 << 2), &b);
        }
        for (name, metric) in [
            ("index-cosine", embedscope::analysis::Metric::Cosine),
            ("index-euclidean", embedscope::analysis::Metric::Euclidean),
        ] {
            let rows: Vec<f32> = (0..set.rows())
                .flat_map(|r| set.matrix.row(r).to_vec())
                .collect();
            let params = AnnParams {
                m: 4,
                ef_construction: 16,
                ..AnnParams::default()
            };
            if let (Ok(data), Ok(p)) = (AnnData::new(&rows, set.dim(), metric), params.check())
                && let Ok(g) = ann::build(&data, &p, &mut |_| std::ops::ControlFlow::Continue(()))
            {
                let mut b = Vec::new();
                if g.write_to(&mut b, "seed-key").is_ok() {
                    seed(name, 2, &b);
                }
            }
        }
        let (src, cache) = cache_source();
        let opts = LoadOptions {
            format: Some(Format::GloveText),
            cache_dir: Some(cache.clone()),
            ..LoadOptions::default()
        };
        let _ = formats::load(src, &opts);
        if let Some(entry) = std::fs::read_dir(cache)
            .ok()
            .and_then(|mut d| d.find_map(|e| e.ok().map(|e| e.path())))
            && let Ok(b) = std::fs::read(entry)
        {
            seed("cache-entry", 1, &b);
            seed("cache-entry-as-esv", 0, &b);
        }
    });
}

fuzz_target!(|data: &[u8]| {
    write_seeds();
    let input = Input::new(data);
    let bytes = input.rest;
    match input.mode & 3 {
        0 | 3 => {
            let p = file("input.esv", bytes);
            let limit = (input.mode & 3 == 3).then_some(usize::from(input.mode >> 2));
            let opts = LoadOptions {
                format: Some(Format::Native),
                limit,
                ..LoadOptions::default()
            };
            if let Ok(set) = formats::load(&p, &opts) {
                assert_eq!(set.vocab.len(), set.rows());
                let mut sum = 0f64;
                for r in 0..set.rows() {
                    sum += set.matrix.row(r).iter().map(|&x| f64::from(x)).sum::<f64>();
                }
                std::hint::black_box(sum);
            }
        }
        1 => {
            let (src, dir) = cache_source();
            let opts = LoadOptions {
                format: Some(Format::GloveText),
                cache_dir: Some(dir.clone()),
                ..LoadOptions::default()
            };
            // The one entry of the folder is replaced by the input (found by listing: its name
            // is a hash of the path and options).
            let entry = std::fs::read_dir(dir)
                .ok()
                .and_then(|mut d| d.find_map(|e| e.ok().map(|e| e.path())));
            let entry = match entry {
                Some(e) => e,
                None => {
                    let _ = formats::load(src, &opts);
                    return;
                }
            };
            if std::fs::write(&entry, bytes).is_err() {
                return;
            }
            // A damaged entry is a miss (the source is read and the entry written again), never
            // an error: the source is fine.
            match formats::load(src, &opts) {
                Ok(set) => assert_eq!(set.rows(), 2, "{}", entry.display()),
                Err(e) => panic!("a damaged cache entry failed the load: {e}"),
            }
        }
        _ => {
            let owned: Arc<dyn AsRef<[u8]> + Send + Sync> = Arc::new(bytes.to_vec());
            let Ok((graph, _key)) = HnswGraph::from_bytes(owned) else {
                return;
            };
            let info = graph.info().clone();
            // Search the graph over made-up rows of its declared shape, when that is small.
            let Some(n) = info.rows.checked_mul(info.dim) else {
                return;
            };
            if n == 0 || n > 1 << 16 {
                return;
            }
            let rows: Vec<f32> = (0..n).map(|i| ((i * 7919) % 101) as f32 - 50.0).collect();
            let Ok(data) = AnnData::new(&rows, info.dim, info.metric) else {
                return;
            };
            let Ok(index) = AnnIndex::new(&graph, &data) else {
                return;
            };
            let query = Query {
                vector: rows[..info.dim].to_vec(),
                exclude: Vec::new(),
            };
            let _ = index.search(&[query], 3, info.metric, None);
        }
    }
});
