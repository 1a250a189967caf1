//! Every WGSL file under shaders/ parses and validates with naga (the compiler wgpu uses).

use std::path::{Path, PathBuf};

fn wgsl_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("shaders/ is readable") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            wgsl_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "wgsl") {
            out.push(p);
        }
    }
}

#[test]
fn every_wgsl_file_parses_and_validates() {
    let mut files = Vec::new();
    wgsl_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders"),
        &mut files,
    );
    assert!(
        files.iter().any(|f| f.ends_with("render/points.wgsl")),
        "the point renderer's shader is missing: {files:?}"
    );
    for f in files {
        let src = std::fs::read_to_string(&f).expect("read");
        let module = naga::front::wgsl::parse_str(&src)
            .unwrap_or_else(|e| panic!("{}: {}", f.display(), e.emit_to_string(&src)));
        naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::empty(),
        )
        .validate(&module)
        .unwrap_or_else(|e| panic!("{}: {}", f.display(), e.emit_to_string(&src)));
        for entry in ["vs_main", "fs_main"] {
            assert!(
                module.entry_points.iter().any(|e| e.name == entry),
                "{}: no entry point {entry}",
                f.display()
            );
        }
    }
}

#[test]
fn a_broken_shader_is_rejected() {
    // The check above can fail: a type error must not validate.
    let src = "@vertex fn vs_main() -> @builtin(position) vec4<f32> { return 1.0; }";
    let parsed = naga::front::wgsl::parse_str(src);
    let invalid = match parsed {
        Err(_) => true,
        Ok(m) => naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::empty(),
        )
        .validate(&m)
        .is_err(),
    };
    assert!(invalid);
}
