//! `report --redact`: personal data planted in tokens, neighbour lists, map labels, vocabulary
//! and integrity examples, provenance values and document texts is masked in every format
//! (HTML with its SVG charts, Markdown with its images, JSON, CSV tables, text); the report
//! says what was masked, per kind and place, and its JSON provenance says redaction was on.
//! Without `--redact` the same values are there. Then the same through the command line.

mod common;

use std::path::Path;
use std::sync::atomic::AtomicBool;

use embedscope::analysis::privacy;
use embedscope::core::{EmbeddingSet, Matrix, MetaColumn, Metadata, Provenance, Vocab};
use embedscope::report::{self, ReportOptions, Section, Version, render};
use serde_json::Value;

/// One planted value per kind (the scanner's own test values), and where each goes.
const PLANTED: [(&str, &str); 8] = [
    ("email", "john.smith@example.com"),
    ("phone", "+44 20 7946 0958"),
    ("payment_card", "4111 1111 1111 1111"),
    ("iban", "DE89370400440532013000"),
    ("ip", "192.168.10.1"),
    ("url_credentials", "https://admin:hunter22@db.example.com/x"),
    ("secret", "ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
    ("us_ssn", "536-22-1234"),
];
/// Only in version A (the vocabulary's examples).
const ONLY_A: &str = "mary.jones@example.org";
/// A zero vector in A (integrity and excluded examples).
const ZERO_A: &str = "alice.brown@example.net";

fn all_values() -> Vec<&'static str> {
    let mut v: Vec<&str> = PLANTED.iter().map(|p| p.1).collect();
    v.push(ONLY_A);
    v.push(ZERO_A);
    v
}

fn rng(seed: u64) -> impl FnMut() -> f32 {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        ((state >> 11) as f64 / (1u64 << 53) as f64 - 0.5) as f32
    }
}

fn set(
    tokens: Vec<String>,
    dim: usize,
    data: Vec<f32>,
    meta: Metadata,
    name: &str,
) -> EmbeddingSet {
    let rows = tokens.len();
    let prov = Provenance {
        source: name.to_string(),
        format: "npy".into(),
        params: [("note".to_string(), format!("owner {}", PLANTED[0].1))]
            .into_iter()
            .collect(),
        ..Provenance::default()
    };
    EmbeddingSet::new(
        Vocab::from_unique(tokens).expect("unique tokens"),
        Matrix::from_vec(rows, dim, data).expect("matrix"),
        meta,
        prov,
    )
    .expect("set")
}

/// Two versions of 100 words and the planted values as tokens: B rotates A's words and gives
/// the planted tokens new vectors, so they top the changed and displaced lists (and the map
/// labels) and show up in the other words' neighbour lists.
fn word_pair() -> (EmbeddingSet, EmbeddingSet) {
    let dim = 8;
    let mut next = rng(7);
    let mut tokens: Vec<String> = (0..100).map(|i| format!("w{i}")).collect();
    tokens.extend(PLANTED.iter().map(|p| p.1.to_string()));
    tokens.push(ZERO_A.to_string());
    let n = tokens.len();
    let mut a: Vec<f32> = (0..n * dim).map(|_| next()).collect();
    let z = tokens.len() - 1;
    a[z * dim..(z + 1) * dim].fill(0.0);
    let mut b = Vec::with_capacity(a.len());
    for (i, row) in a.chunks(dim).enumerate() {
        if (100..=z).contains(&i) {
            b.extend((0..dim).map(|_| next()));
        } else {
            let (c, s) = (0.6f32, 0.8f32);
            b.push(c * row[0] - s * row[1]);
            b.push(s * row[0] + c * row[1]);
            b.extend_from_slice(&row[2..]);
        }
    }
    let mut ta = tokens.clone();
    ta.push(ONLY_A.to_string());
    a.extend((0..dim).map(|_| next()));
    (
        set(ta, dim, a, Metadata::default(), "a.npy"),
        set(tokens, dim, b, Metadata::default(), "b.npy"),
    )
}

/// 120 documents of 8 dimensions whose texts quote the planted values (rows 0..40), so
/// documents' texts reach the changed lists and the drift clusters' keywords.
fn document_pair() -> (EmbeddingSet, EmbeddingSet) {
    let (n, dim) = (120, 8);
    let make = |seed: u64, name: &str| {
        let mut next = rng(seed);
        let data: Vec<f32> = (0..n * dim).map(|_| next()).collect();
        let text: Vec<String> = (0..n)
            .map(|i| {
                if i < 40 {
                    format!("ticket {i}: reach me at {}", PLANTED[i % 8].1)
                } else {
                    format!("ticket {i}: delivery late again")
                }
            })
            .collect();
        let mut meta = Metadata::new();
        meta.push(
            MetaColumn {
                name: "text".into(),
                values: text,
            },
            n,
        )
        .expect("text");
        set(
            (0..n).map(|i| format!("d{i}")).collect(),
            dim,
            data,
            meta,
            name,
        )
    };
    (make(1, "q1.npy"), make(2, "q2.npy"))
}

fn build(
    a: &EmbeddingSet,
    b: &EmbeddingSet,
    sections: Vec<Section>,
    redact: bool,
) -> report::Report {
    let versions = [
        Version {
            name: "a.npy".into(),
            set: a,
        },
        Version {
            name: "b.npy".into(),
            set: b,
        },
    ];
    let mut o = ReportOptions {
        title: "Privacy review".into(),
        sections,
        words: 20,
        neighbours: 10,
        map_labels: 20,
        map_points: 200,
        redact,
        ..ReportOptions::default()
    };
    o.compare.ks = vec![10];
    o.compare.drift_pairs = 500;
    o.drift.permutations = 100;
    o.drift.kernel_sample = 200;
    o.drift.clusters = 4;
    o.command = report::command_line(&["a.npy".into(), "b.npy".into()], &o, "r.html");
    report::build(
        &versions,
        &[None],
        &o,
        &mut |_, _| {},
        &AtomicBool::new(false),
    )
    .expect("build")
}

fn word_sections() -> Vec<Section> {
    vec![
        Section::Datasets,
        Section::Integrity,
        Section::Vocabulary,
        Section::Measures,
        Section::Words,
        Section::Maps,
        Section::Parameters,
    ]
}

/// Every string value of a JSON value.
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(m) => m.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

/// Each format as a reader sees it: HTML and SVG entities decoded, Markdown's backslash
/// escapes dropped, JSON's strings, CSV tables and text as written.
fn rendered(r: &report::Report) -> Vec<(&'static str, String)> {
    let unescape_html = |s: &str| {
        s.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&apos;", "'")
            .replace("&amp;", "&")
    };
    let html = render::html(r).expect("html");
    let (md, images) = render::markdown(r, "r_files").expect("markdown");
    let mut md = md.replace('\\', "");
    for (_, svg) in &images {
        md.push_str(&unescape_html(svg));
    }
    let v: Value = serde_json::from_str(&render::json(r).expect("json")).expect("json parses");
    let mut js = Vec::new();
    strings(&v, &mut js);
    let csv: String = render::csv_tables(r)
        .expect("csv")
        .into_iter()
        .map(|(name, t)| format!("== {name}\n{t}"))
        .collect();
    vec![
        ("html", unescape_html(&html)),
        ("markdown", md),
        ("json", js.join("\n")),
        ("csv", csv),
        ("text", render::text::report(r).expect("text")),
    ]
}

#[test]
fn redacted_reports_hold_no_planted_value_in_any_format_and_say_what_was_masked() {
    let (a, b) = word_pair();
    let plain = build(&a, &b, word_sections(), false);
    assert!(plain.redaction.is_none());
    // Without --redact the values are there, in every format.
    for (format, text) in rendered(&plain) {
        for v in all_values() {
            assert!(text.contains(v), "{format} lacks {v} without --redact");
        }
        assert!(!text.contains("Personal data redacted"), "{format}");
    }
    let r = build(&a, &b, word_sections(), true);
    let x = r
        .redaction
        .as_ref()
        .expect("the report records the redaction");
    assert!(x.enabled);
    for (kind, _) in PLANTED {
        assert!(x.counts[kind] > 0, "{kind} not counted: {:?}", x.counts);
    }
    assert_eq!(x.total, x.counts.values().sum::<u64>());
    assert_eq!(x.total, x.places.iter().map(|p| p.count).sum::<u64>());
    let places: Vec<&str> = x.places.iter().map(|p| p.place.as_str()).collect();
    for p in [
        "tokens (changed words)",
        "neighbour lists",
        "map labels",
        "tokens (vocabulary examples)",
        "tokens (integrity examples)",
        "provenance parameters",
    ] {
        assert!(places.contains(&p), "{p} not among {places:?}");
    }
    for (format, text) in rendered(&r) {
        for v in all_values() {
            assert!(!text.contains(v), "{format} shows {v} under --redact");
        }
        // The masked forms are there instead (markdown escapes its stars; the others do not).
        if format != "markdown" {
            assert!(text.contains("j***@e***.com"), "{format}");
            assert!(text.contains("**** **** **** 1111"), "{format}");
        }
    }
    // Nothing the scanner finds is left in any string of the JSON report.
    let v: Value = serde_json::from_str(&render::json(&r).expect("json")).expect("json");
    let mut all = Vec::new();
    strings(&v, &mut all);
    for s in &all {
        assert!(privacy::scan(s).is_empty(), "a finding left in {s:?}");
    }
    // The counts, in every format.
    assert_eq!(v["redaction"]["enabled"], true);
    assert_eq!(v["redaction"]["total"], x.total);
    assert_eq!(v["redaction"]["counts"]["iban"], x.counts["iban"]);
    assert!(
        r.command.ends_with("--redact --out r.html"),
        "{}",
        r.command
    );
    let text = render::text::report(&r).expect("text");
    let html = render::html(&r).expect("html");
    let (md, _) = render::markdown(&r, "r_files").expect("md");
    let summary = format!("{} email", x.counts["email"]);
    for (format, t) in [("text", &text), ("html", &html), ("markdown", &md)] {
        assert!(t.contains("Redaction"), "{format}");
        assert!(t.contains("Personal data redacted."), "{format}");
        assert!(t.contains(&summary), "{format} lacks {summary}");
        assert!(t.contains("neighbour lists"), "{format}");
    }
    let tables = render::csv_tables(&r).expect("csv");
    let counts = &tables
        .iter()
        .find(|(n, _)| n == "redaction.csv")
        .expect("redaction.csv")
        .1;
    assert!(counts.starts_with("kind,masked\n"), "{counts}");
    assert!(
        counts.contains(&format!("payment_card,{}\n", x.counts["payment_card"])),
        "{counts}"
    );
    let places_csv = &tables
        .iter()
        .find(|(n, _)| n == "redaction_places.csv")
        .expect("redaction_places.csv")
        .1;
    assert!(places_csv.contains("map labels,"), "{places_csv}");
}

#[test]
fn document_texts_and_cluster_keywords_are_masked_too() {
    let (a, b) = document_pair();
    let sections = vec![Section::Words, Section::Drift];
    let plain = build(&a, &b, sections.clone(), false);
    let json = render::json(&plain).expect("json");
    assert!(
        json.contains(PLANTED[0].1),
        "document texts carry the values"
    );
    let r = build(&a, &b, sections, true);
    let x = r.redaction.as_ref().expect("redaction");
    let places: Vec<&str> = x.places.iter().map(|p| p.place.as_str()).collect();
    assert!(
        places.iter().any(|p| p.contains("document texts")),
        "{places:?}"
    );
    for (format, text) in rendered(&r) {
        for (_, v) in PLANTED {
            assert!(!text.contains(v), "{format} shows {v} under --redact");
        }
    }
    // Nothing found: the report still says redaction was on.
    let (c, d) = (
        set(
            (0..30).map(|i| format!("w{i}")).collect(),
            4,
            (0..120)
                .map(|k| (k % 7) as f32 - 3.0 + k as f32 * 0.01)
                .collect(),
            Metadata::default(),
            "c.npy",
        ),
        set(
            (0..30).map(|i| format!("w{i}")).collect(),
            4,
            (0..120)
                .map(|k| (k % 5) as f32 - 2.0 + k as f32 * 0.02)
                .collect(),
            Metadata::default(),
            "d.npy",
        ),
    );
    let mut clean = build(&c, &d, vec![Section::Datasets, Section::Words], true);
    // (the provenance parameter planted by `set` is the one finding)
    let x = clean.redaction.take().expect("redaction");
    assert_eq!(x.total, 2, "{x:?}");
    assert_eq!(x.places[0].place, "provenance parameters");
}

// ---------------------------------------------------------------------------------------------
// The command line

fn save_pair(dir: &Path) -> (String, String) {
    let (a, b) = word_pair();
    let (pa, pb) = (dir.join("a.npy"), dir.join("b.npy"));
    embedscope::formats::save(&a, &pa, None).expect("save a");
    embedscope::formats::save(&b, &pb, None).expect("save b");
    (pa.display().to_string(), pb.display().to_string())
}

fn run(args: &[&str]) -> (i32, String, String) {
    let all: Vec<&str> = [&["report"][..], args, &["--no-cache"]].concat();
    common::run_embedscope(&all, None)
}

const QUICK: [&str; 8] = [
    "--sections",
    "datasets,integrity,vocabulary,words,maps",
    "--words",
    "20",
    "--map-labels",
    "20",
    "--map-points",
    "200",
];

#[test]
fn cli_report_redact_masks_every_format_and_says_so() {
    let dir = tempfile::tempdir().expect("tmp");
    let (a, b) = save_pair(dir.path());
    // Without --redact: the values are in the JSON report.
    let plain = dir.path().join("plain.json");
    let ps = plain.display().to_string();
    let mut args = vec![a.as_str(), b.as_str(), "--out", ps.as_str()];
    args.extend(QUICK);
    let (code, _, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&plain).expect("plain.json");
    let v: Value = serde_json::from_str(&text).expect("json");
    assert!(v.get("redaction").is_none());
    let mut all = Vec::new();
    strings(&v, &mut all);
    let joined = all.join("\n");
    for value in all_values() {
        assert!(joined.contains(value), "{value} missing without --redact");
    }
    // With --redact, every format.
    for out in ["r.json", "r.html", "r.md", "tables"] {
        let path = dir.path().join(out);
        let s = path.display().to_string();
        let mut args = vec![
            a.as_str(),
            b.as_str(),
            "--out",
            s.as_str(),
            "--redact",
            "--json",
        ];
        args.extend(QUICK);
        let (code, stdout, err) = run(&args);
        assert_eq!(code, 0, "{out}: {err}");
        let o: Value = serde_json::from_str(&stdout).expect("one JSON object");
        assert_eq!(o["redaction"]["enabled"], true, "{stdout}");
        let total = o["redaction"]["total"].as_u64().expect("total");
        assert!(total >= 10, "{stdout}");
        let mut written = String::new();
        for f in o["files"].as_array().expect("files") {
            written.push_str(&std::fs::read_to_string(f.as_str().expect("path")).expect("read"));
        }
        let written = written
            .replace('\\', "")
            .replace("&amp;", "&")
            .replace("&#39;", "'")
            .replace("&apos;", "'");
        for value in all_values() {
            assert!(!written.contains(value), "{out} shows {value}");
        }
        match out {
            "r.json" => {
                let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("json"))
                    .expect("json");
                assert_eq!(v["redaction"]["total"], total);
                assert_eq!(v["redaction"]["enabled"], true);
                assert!(v["command"].as_str().expect("command").contains("--redact"));
            }
            "tables" => {
                let c = std::fs::read_to_string(path.join("redaction.csv")).expect("csv");
                assert!(c.starts_with("kind,masked\n"), "{c}");
                assert!(path.join("redaction_places.csv").is_file());
            }
            _ => assert!(written.contains("Personal data redacted."), "{out}"),
        }
    }
    // The human line.
    let path = dir.path().join("h.html");
    let s = path.display().to_string();
    let mut args = vec![a.as_str(), b.as_str(), "--out", s.as_str(), "--redact"];
    args.extend(QUICK);
    let (code, stdout, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    assert!(
        stdout.contains("redacted ") && stdout.contains(" email"),
        "{stdout}"
    );
}
