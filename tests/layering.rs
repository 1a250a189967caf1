//! The dependency rule of ARCHITECTURE.md, checked on the module tree: every file under src/ is
//! parsed with syn, and every path it names (each leaf of a `use` tree with groups, renames and
//! globs expanded; every path in an expression, type, pattern or attribute; paths inside macro
//! invocations, token by token) is resolved from the file's module (`crate::`, `self::`,
//! `super::` as often as written, `embedscope::`). The rules, test modules included:
//! - a module uses only lower layers; L1 siblings (formats, model, analysis) do not import each
//!   other; a layered module does not import the crate root itself (`use crate::*`);
//! - burn only in model/ and engine/; egui/eframe/egui_plot/egui_wgpu/egui_extras/egui_kittest
//!   only in ui/ and main.rs (and cli/); threads and channels (`thread::spawn`, `mpsc`,
//!   crossbeam channels) only in engine/;
//! - no `todo!`/`unimplemented!` anywhere in src/.
//!
//! main.rs and cli/ (the binary) may use every layer. `#[path]` on a module is refused, since the
//! module tree would no longer follow the file tree.

use std::path::{Path, PathBuf};

use syn::buffer::{Cursor, TokenBuffer};
use syn::visit::{self, Visit};

/// Layer of a top-level module of the library (None: lib.rs and the binary's files).
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

const GUI_CRATES: [&str; 6] = [
    "egui",
    "eframe",
    "egui_plot",
    "egui_wgpu",
    "egui_extras",
    "egui_kittest",
];

/// Where a file sits: in the binary (main.rs, cli/) or the library, and its module path there
/// (`src/analysis/project/mod.rs` is `analysis::project`, lib.rs and main.rs the crate roots).
fn module_of(rel: &str) -> (bool, Vec<String>) {
    let rel = rel.trim_end_matches(".rs");
    let mut path: Vec<String> = rel.split('/').map(str::to_string).collect();
    if path.last().is_some_and(|l| l == "mod") {
        path.pop();
    }
    let bin = matches!(path.first().map(String::as_str), Some("main" | "cli"));
    if path.len() == 1 && matches!(path[0].as_str(), "lib" | "main") {
        path.clear();
    }
    (bin, path)
}

/// What a path names, resolved against the module it is written in.
enum Target {
    /// An item of the library, by its path from the crate root (empty: the root itself).
    Library(Vec<String>),
    /// An item of the binary crate.
    Binary,
    /// A relative path, or one into another crate.
    Other,
}

struct Checker {
    /// The file belongs to the binary (main.rs, cli/).
    bin: bool,
    /// The module being visited: the file's, then any inline `mod` it is inside.
    module: Vec<String>,
    /// The module whose rules apply: the top-level library module, "lib" for lib.rs, "main" for
    /// the binary.
    rules: String,
    out: Vec<String>,
}

impl Checker {
    fn new(rel: &str) -> Checker {
        let (bin, module) = module_of(rel);
        let rules = if bin {
            "main".to_string()
        } else {
            module.first().cloned().unwrap_or_else(|| "lib".to_string())
        };
        Checker {
            bin,
            module,
            rules,
            out: Vec::new(),
        }
    }

    fn report(&mut self, written: &str, what: &str) {
        let module = if self.module.is_empty() {
            "crate root".to_string()
        } else {
            self.module.join("::")
        };
        self.out.push(format!("in {module}: `{written}`: {what}"));
    }

    /// Resolves `segs` (a trailing "*" for a glob) written in the current module.
    fn resolve(&self, segs: &[String]) -> Target {
        let segs: Vec<&str> = segs
            .iter()
            .map(String::as_str)
            .filter(|s| *s != "*")
            .collect();
        let (mut base, rest) = match segs.first().copied() {
            Some("crate") if self.bin => return Target::Binary,
            Some("crate" | "embedscope") => (Vec::new(), &segs[1..]),
            Some("self" | "super") => (self.module.clone(), &segs[..]),
            _ => return Target::Other,
        };
        let mut rest = rest;
        while let Some((&first, tail)) = rest.split_first() {
            match first {
                "self" => {}
                "super" => {
                    if base.pop().is_none() {
                        return Target::Other;
                    }
                }
                _ => break,
            }
            rest = tail;
        }
        if self.bin && segs.first() != Some(&"embedscope") {
            return Target::Binary;
        }
        base.extend(rest.iter().map(|s| s.to_string()));
        Target::Library(base)
    }

    /// Checks one path; `import`: it is a `use` leaf or an `extern crate` (which may name the
    /// crate root or a crate on its own).
    fn check_path(&mut self, segs: &[String], leading_colon: bool, import: bool) {
        if segs.is_empty() || (!import && segs.len() < 2) {
            return;
        }
        let written = format!(
            "{}{}",
            if leading_colon { "::" } else { "" },
            segs.join("::")
        );
        let first = segs[0].as_str();
        let rules = self.rules.clone();
        if (first == "burn" || first.starts_with("burn_"))
            && !matches!(rules.as_str(), "model" | "engine")
        {
            self.report(&written, "burn outside model/ and engine/");
        }
        if GUI_CRATES.contains(&first) && !matches!(rules.as_str(), "ui" | "main") {
            self.report(&written, &format!("{first} outside ui/ and main.rs"));
        }
        let threads = segs.windows(2).any(|w| {
            (w[0] == "thread" && w[1] == "spawn") || (w[0] == "crossbeam" && w[1] == "channel")
        }) || segs.iter().any(|s| s == "mpsc" || s == "crossbeam_channel");
        if threads && rules != "engine" {
            self.report(&written, "threads or channels outside engine/");
        }
        if leading_colon && first != "embedscope" {
            return;
        }
        let Target::Library(path) = self.resolve(segs) else {
            return;
        };
        if self.bin {
            return;
        }
        let Some(own) = layer(&rules) else {
            return;
        };
        match path.first() {
            None if import => {
                self.report(&written, "a layered module imports the crate root");
            }
            Some(m) if *m != rules => {
                if let Some(other) = layer(m)
                    && other >= own
                {
                    self.report(
                        &written,
                        &format!("layer {own} module {rules} uses {m} (layer {other})"),
                    );
                }
            }
            _ => {}
        }
    }

    /// Every leaf of a `use` tree, with its full path.
    fn use_tree(&mut self, tree: &syn::UseTree, prefix: &mut Vec<String>, leading_colon: bool) {
        let leaf = |this: &mut Checker, prefix: &mut Vec<String>, name: String| {
            let pushed = name != "self";
            if pushed {
                prefix.push(name);
            }
            this.check_path(prefix, leading_colon, true);
            if pushed {
                prefix.pop();
            }
        };
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(&p.tree, prefix, leading_colon);
                prefix.pop();
            }
            syn::UseTree::Name(n) => leaf(self, prefix, n.ident.to_string()),
            syn::UseTree::Rename(r) => leaf(self, prefix, r.ident.to_string()),
            syn::UseTree::Glob(_) => leaf(self, prefix, "*".to_string()),
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(t, prefix, leading_colon);
                }
            }
        }
    }

    /// Paths written in a macro's or attribute's tokens: runs of `ident (:: ident)*`, with
    /// `$crate` read as `crate`; `todo!`/`unimplemented!` invocations nested in them.
    fn tokens(&mut self, mut c: Cursor) {
        let mut path: Vec<String> = Vec::new();
        let mut leading = false;
        // Whether the last token was `::` (the next identifier continues the path).
        let mut joined = false;
        let flush = |this: &mut Checker, path: &mut Vec<String>, leading: &mut bool| {
            this.check_path(path, *leading, false);
            path.clear();
            *leading = false;
        };
        while !c.eof() {
            if let Some((inner, _, _, next)) = c.any_group() {
                flush(self, &mut path, &mut leading);
                joined = false;
                self.tokens(inner);
                c = next;
            } else if let Some((ident, next)) = c.ident() {
                if !joined {
                    flush(self, &mut path, &mut leading);
                }
                let name = ident.to_string();
                if matches!(name.as_str(), "todo" | "unimplemented")
                    && next.punct().is_some_and(|(p, _)| p.as_char() == '!')
                {
                    self.report(&format!("{name}!"), "todo!/unimplemented! left in src/");
                }
                path.push(name);
                joined = false;
                c = next;
            } else if let Some((p, next)) = c.punct() {
                let colons = match p.as_char() {
                    ':' => next.punct().filter(|(q, _)| q.as_char() == ':'),
                    _ => None,
                };
                let dollar_crate = match p.as_char() {
                    '$' => next.ident().filter(|(i, _)| i == "crate"),
                    _ => None,
                };
                if let Some((_, after)) = colons {
                    if path.is_empty() {
                        leading = true;
                    } else if joined {
                        flush(self, &mut path, &mut leading);
                    }
                    joined = true;
                    c = after;
                } else if let Some((_, after)) = dollar_crate {
                    flush(self, &mut path, &mut leading);
                    path.push("crate".to_string());
                    joined = false;
                    c = after;
                } else {
                    flush(self, &mut path, &mut leading);
                    joined = false;
                    c = next;
                }
            } else {
                flush(self, &mut path, &mut leading);
                joined = false;
                match c.token_tree() {
                    Some((_, next)) => c = next,
                    None => break,
                }
            }
        }
        flush(self, &mut path, &mut leading);
    }
}

fn idents(path: &syn::Path) -> Vec<String> {
    path.segments.iter().map(|s| s.ident.to_string()).collect()
}

impl<'ast> Visit<'ast> for Checker {
    fn visit_item_use(&mut self, i: &'ast syn::ItemUse) {
        self.use_tree(&i.tree, &mut Vec::new(), i.leading_colon.is_some());
        visit::visit_item_use(self, i);
    }

    fn visit_item_extern_crate(&mut self, i: &'ast syn::ItemExternCrate) {
        self.check_path(&[i.ident.to_string()], false, true);
        visit::visit_item_extern_crate(self, i);
    }

    fn visit_item_mod(&mut self, i: &'ast syn::ItemMod) {
        if i.attrs.iter().any(|a| a.path().is_ident("path")) {
            self.report(&format!("mod {}", i.ident), "#[path] on a module");
        }
        self.module.push(i.ident.to_string());
        visit::visit_item_mod(self, i);
        self.module.pop();
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        self.check_path(&idents(p), p.leading_colon.is_some(), false);
        visit::visit_path(self, p);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        if let Some(last) = m.path.segments.last()
            && (last.ident == "todo" || last.ident == "unimplemented")
        {
            self.report(
                &format!("{}!", last.ident),
                "todo!/unimplemented! left in src/",
            );
        }
        let buf = TokenBuffer::new2(m.tokens.clone());
        self.tokens(buf.begin());
        visit::visit_macro(self, m);
    }

    fn visit_meta_list(&mut self, m: &'ast syn::MetaList) {
        let buf = TokenBuffer::new2(m.tokens.clone());
        self.tokens(buf.begin());
        visit::visit_meta_list(self, m);
    }
}

/// Violations of the rules in one source file, `rel` being its path under src/ with `/`.
fn check_source(rel: &str, text: &str) -> Vec<String> {
    let file = match syn::parse_file(text) {
        Ok(f) => f,
        Err(e) => return vec![format!("does not parse: {e}")],
    };
    let mut c = Checker::new(rel);
    c.visit_file(&file);
    c.out
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
        let rel: Vec<String> = f
            .strip_prefix(&src)
            .unwrap()
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let rel = rel.join("/");
        let text = std::fs::read_to_string(f).unwrap();
        for v in check_source(&rel, &text) {
            violations.push(format!("src/{rel}: {v}"));
        }
    }
    assert!(
        violations.is_empty(),
        "layer rule broken:\n{}",
        violations.join("\n")
    );
}

/// Asserts that `text` as `rel` gives exactly `n` violations, each mentioning `needle`.
#[track_caller]
fn caught(rel: &str, text: &str, n: usize, needle: &str) {
    let v = check_source(rel, text);
    assert_eq!(v.len(), n, "{rel}: {text}\n{v:#?}");
    assert!(
        v.iter().all(|m| m.contains(needle)),
        "{rel}: {text}\n{v:#?}"
    );
}

#[track_caller]
fn clean(rel: &str, text: &str) {
    let v = check_source(rel, text);
    assert!(v.is_empty(), "{rel}: {text}\n{v:#?}");
}

#[test]
fn module_paths_follow_the_file_tree() {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(module_of("lib.rs"), (false, s(&[])));
    assert_eq!(module_of("main.rs"), (true, s(&[])));
    assert_eq!(module_of("cli/report.rs"), (true, s(&["cli", "report"])));
    assert_eq!(module_of("analysis/mod.rs"), (false, s(&["analysis"])));
    assert_eq!(
        module_of("analysis/project/tsne/ann.rs"),
        (false, s(&["analysis", "project", "tsne", "ann"]))
    );
}

#[test]
fn the_checker_catches_imports_of_higher_layers() {
    let a = "analysis/x.rs";
    caught("core/x.rs", "use crate::formats::load;", 1, "uses formats");
    caught(
        "formats/x.rs",
        "use crate::analysis::KnnIndex;",
        1,
        "uses analysis",
    );
    caught(a, "use crate::report::Report;", 1, "uses report");
    caught(a, "use crate::formats::load;", 1, "uses formats");
    caught(a, "use embedscope::ui::App;", 1, "uses ui");
    // Groups, nested groups over several lines, renames, re-exports, `self` in a group.
    caught(a, "use crate::{ui::Foo, core::X};", 1, "uses ui");
    caught(a, "use crate::{core, ui::x};", 1, "uses ui");
    caught(
        a,
        "use crate::{\n    core::Matrix,\n    report::{\n        Report,\n        render::write,\n    },\n};",
        2,
        "uses report",
    );
    caught(a, "use crate::ui as u;", 1, "uses ui");
    caught(a, "pub use crate::ui::X;", 1, "uses ui");
    caught(
        a,
        "pub(crate) use crate::engine::{self, jobs::*};",
        2,
        "uses engine",
    );
    caught(a, "use ::embedscope::app::App;", 1, "uses app");
    // The crate root imported whole: every module would be in scope.
    caught(a, "use crate::*;", 1, "crate root");
    caught("analysis/mod.rs", "use super::*;", 1, "crate root");
    caught(a, "use crate::{self as root};", 1, "crate root");
}

#[test]
fn the_checker_resolves_super_and_self_from_the_module() {
    // analysis/x.rs is `analysis::x`: two `super`s reach the crate root.
    caught(
        "analysis/x.rs",
        "fn f() -> super::super::ui::X { todo() }",
        1,
        "uses ui",
    );
    caught(
        "analysis/x/y.rs",
        "use super::super::super::ui::X;",
        1,
        "uses ui",
    );
    caught(
        "analysis/x/mod.rs",
        "use super::super::ui::X;",
        1,
        "uses ui",
    );
    // Inline modules count: `analysis::x::tests` needs three.
    caught(
        "analysis/x.rs",
        "#[cfg(test)] mod tests { use super::super::super::engine::Job; }",
        1,
        "uses engine",
    );
    caught("analysis/x.rs", "use self::super::super::ui;", 1, "uses ui");
    // Two `super`s from analysis/x/y.rs stay inside analysis (`analysis::ui`).
    clean("analysis/x/y.rs", "use super::super::ui::X;");
    clean(
        "analysis/x.rs",
        "use super::topk::TopK; use self::inner::X;",
    );
    clean(
        "analysis/x.rs",
        "mod inner { use super::super::knn::Metric; use super::super::super::core::Matrix; }",
    );
}

#[test]
fn the_checker_catches_paths_written_inline() {
    caught(
        "formats/x.rs",
        "fn f() { crate::engine::jobs::run(); }",
        1,
        "uses engine",
    );
    caught(
        "formats/x.rs",
        "fn f(x: &crate::model::Encoder) -> Vec<crate::analysis::Neighbor> { g(x) }",
        2,
        "formats uses",
    );
    caught(
        "analysis/x.rs",
        "impl crate::app::Thing for X {} fn f() { let crate::report::R { a } = r(); }",
        2,
        "analysis uses",
    );
    // Inside macro invocations and macro definitions.
    caught(
        "analysis/x.rs",
        "fn f() { println!(\"{}\", crate::ui::name()); }",
        1,
        "uses ui",
    );
    caught(
        "analysis/x.rs",
        "fn f() { assert!(vec![1].iter().all(|_| super::super::engine::ok())); }",
        1,
        "uses engine",
    );
    caught(
        "analysis/x.rs",
        "macro_rules! m { () => { $crate::app::App::new() }; }",
        1,
        "uses app",
    );
    caught(
        "analysis/x.rs",
        "#[derive(crate::report::Thing)] struct S;",
        1,
        "uses report",
    );
    // Test modules follow the rule too.
    caught(
        "analysis/x.rs",
        "#[cfg(test)]\nmod tests {\n    use crate::ui::X;\n}",
        1,
        "uses ui",
    );
}

#[test]
fn the_checker_catches_crates_threads_and_todo() {
    caught("analysis/x.rs", "use burn::tensor::Tensor;", 1, "burn");
    caught(
        "report/x.rs",
        "fn f() { let _ = burn_flex::Flex::default(); }",
        1,
        "burn",
    );
    caught(
        "app/x.rs",
        "fn f() { let x = egui::Button::new(\"a\"); }",
        1,
        "egui",
    );
    caught("app/x.rs", "use eframe::{egui, App};", 2, "eframe outside");
    caught("engine/x.rs", "use egui_plot::Plot;", 1, "egui_plot");
    caught(
        "analysis/x.rs",
        "fn f() { std::thread::spawn(|| {}); }",
        1,
        "threads",
    );
    caught(
        "formats/x.rs",
        "use std::{sync::mpsc, thread};",
        1,
        "threads",
    );
    caught("formats/x.rs", "fn f() { thread::spawn(g); }", 1, "threads");
    caught("main.rs", "use std::sync::mpsc::channel;", 1, "threads");
    caught("formats/x.rs", "fn f() {\n    todo!()\n}", 1, "todo!");
    caught(
        "formats/x.rs",
        "fn f() -> Vec<u8> { vec![unimplemented!()] }",
        1,
        "todo!",
    );
    caught("lib.rs", "fn f() { std::todo!() }", 1, "todo!");
    caught("formats/x.rs", "#[path = \"y.rs\"] mod z;", 1, "#[path]");
}

#[test]
fn the_checker_accepts_legal_uses() {
    clean("analysis/x.rs", "use crate::core::EmbeddingSet;");
    clean(
        "analysis/x.rs",
        "use crate::{analysis::knn::Metric, core::{self, Matrix}};",
    );
    clean(
        "analysis/x.rs",
        "fn f() { crate::analysis::knn::run(); super::knn::g(); }",
    );
    clean(
        "report/x.rs",
        "use crate::{analysis::KnnIndex, core::Matrix, formats::load, model::Encoder};",
    );
    clean(
        "engine/x.rs",
        "use crate::analysis::KnnIndex; use burn::tensor::Tensor; fn f() { std::thread::spawn(f); }",
    );
    clean(
        "ui/x.rs",
        "use crate::app::App; use eframe::egui; fn f() { egui::Button::new(\"x\"); }",
    );
    clean(
        "main.rs",
        "use embedscope::ui::App; use eframe::egui; mod cli;",
    );
    clean(
        "cli/x.rs",
        "use crate::cli::y; use embedscope::{engine::jobs, ui};",
    );
    clean(
        "lib.rs",
        "pub mod analysis; pub mod ui; use crate::ui as u;",
    );
    clean(
        "formats/x.rs",
        "// mentions crate::analysis in a comment\nfn f() {}",
    );
    clean(
        "formats/x.rs",
        "/// see `crate::ui::App`\nfn f() -> &'static str { \"crate::engine::x\" }",
    );
    clean(
        "analysis/x.rs",
        "fn f(todo: u8) -> u8 { let unimplemented = todo; unimplemented }",
    );
    clean(
        "analysis/x.rs",
        "fn f() { let v = Vec::<u8>::new(); std::mem::drop(v); }",
    );
}
