//! The dependency rule of ARCHITECTURE.md, checked on the source text:
//! a module uses only lower layers; L1 siblings (formats, model, analysis) do not import each
//! other; burn only in model/ and engine/; egui/eframe only in ui/ and main.rs; threads and
//! channels only in engine/; no todo!/unimplemented! anywhere in src/.

use std::path::{Path, PathBuf};

/// Layer of a top-level module (None: the binary's own files, which may use everything).
fn layer(module: &str) -> Option<u8> {
    Some(match module {
        "core" => 0,
        "formats" | "model" | "analysis" => 1,
        "report" => 2,
        "engine" => 3,
        "app" => 4,
        "ui" => 5,
        _ => return None,
    })
}

const MODULES: [&str; 8] = [
    "core", "formats", "model", "analysis", "report", "engine", "app", "ui",
];

/// Violations of the rule in one file of module `module` (`""` for lib.rs / main.rs / cli).
fn check_file(module: &str, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let own = layer(module);
    for (no, line) in text.lines().enumerate() {
        let l = line.trim_start();
        if l.starts_with("//") {
            continue;
        }
        let at = |what: &str| format!("line {}: {what}: {}", no + 1, l);
        for m in MODULES {
            let uses =
                l.contains(&format!("crate::{m}")) || l.contains(&format!("embedscope::{m}"));
            if !uses || m == module {
                continue;
            }
            if let (Some(a), Some(b)) = (own, layer(m))
                && b >= a
            {
                out.push(at(&format!("layer {a} module uses {m} (layer {b})")));
            }
        }
        let word = |w: &str| {
            l.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .any(|t| t == w)
        };
        if (word("burn") && (l.contains("burn::") || l.starts_with("use burn")))
            && !matches!(module, "model" | "engine")
        {
            out.push(at("burn outside model/ and engine/"));
        }
        for g in ["egui", "eframe", "egui_plot", "egui_wgpu", "egui_kittest"] {
            if l.contains(&format!("{g}::")) && !matches!(module, "ui" | "main") {
                out.push(at(&format!("{g} outside ui/ and main.rs")));
            }
        }
        if (l.contains("thread::spawn") || l.contains("mpsc::") || l.contains("crossbeam_channel"))
            && module != "engine"
        {
            out.push(at("threads or channels outside engine/"));
        }
        if l.contains("todo!(") || l.contains("unimplemented!(") {
            out.push(at("todo!/unimplemented! left in src/"));
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn source_tree_follows_the_layer_rule() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 10, "source files found: {}", files.len());
    let mut violations = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .to_string();
        let module = match first.as_str() {
            "main.rs" | "cli" => "main".to_string(),
            "lib.rs" => "lib".to_string(),
            m => m.trim_end_matches(".rs").to_string(),
        };
        let text = std::fs::read_to_string(f).unwrap();
        for v in check_file(&module, &text) {
            violations.push(format!("{}: {v}", rel.display()));
        }
    }
    assert!(
        violations.is_empty(),
        "layer rule broken:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_checker_catches_violations() {
    assert!(!check_file("core", "use crate::formats::load;").is_empty());
    assert!(!check_file("formats", "use crate::analysis::KnnIndex;").is_empty());
    assert!(!check_file("analysis", "use crate::report::Report;").is_empty());
    assert!(!check_file("analysis", "use burn::tensor::Tensor;").is_empty());
    assert!(!check_file("app", "let x = egui::Button::new(\"a\");").is_empty());
    assert!(!check_file("analysis", "std::thread::spawn(|| {});").is_empty());
    assert!(!check_file("formats", "    todo!()").is_empty());
    assert!(check_file("analysis", "use crate::core::EmbeddingSet;").is_empty());
    assert!(
        check_file(
            "engine",
            "use crate::analysis::KnnIndex; std::thread::spawn(f);"
        )
        .is_empty()
    );
    assert!(check_file("main", "use embedscope::ui::App;").is_empty());
    assert!(check_file("formats", "// mentions crate::analysis in a comment").is_empty());
}
