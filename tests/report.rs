//! Comparison reports: golden Markdown and JSON of the compare fixtures (insta), the numbers
//! against the independent reference (numpy / scipy), hostile tokens escaped in every format,
//! byte-identical JSON, self-contained HTML.
//!
//! Longer than 700 lines on purpose: each test builds on the shared fixtures at the top (the
//! compare pair, the hostile report, the CSV parser), and one file keeps them one compile unit.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use embedscope::analysis::bias::{WeatTest, WordSet};
use embedscope::core::{EmbeddingSet, Matrix, Metadata, Provenance, Vocab};
use embedscope::formats::{self, LoadOptions};
use embedscope::report::{self, ReportOptions, Section, Version, render};
use serde_json::Value;

fn fixture(name: &str) -> String {
    format!("tests/fixtures/compare/{name}")
}

fn load(rel: &str) -> EmbeddingSet {
    // Relative to the package root (the working directory of integration tests), so the
    // provenance in the snapshots names the same path on every machine.
    formats::load(Path::new(rel), &LoadOptions::default()).expect("load fixture")
}

fn words(name: &str, w: &[&str]) -> WordSet {
    WordSet::new(name, w.iter().map(|s| s.to_string()).collect())
}

/// A WEAT test made of words both fixture versions have (6 per set: exact p-values).
fn fixture_probe() -> WeatTest {
    WeatTest {
        name: "career-family".into(),
        x: words("male", &["man", "men", "father", "son", "king", "he"]),
        y: words(
            "female",
            &["woman", "women", "mother", "wife", "she", "her"],
        ),
        a: words(
            "career",
            &["career", "business", "office", "job", "company", "work"],
        ),
        b: words(
            "family",
            &["family", "home", "children", "child", "love", "life"],
        ),
        original: None,
    }
}

fn fixture_options() -> ReportOptions {
    let mut o = ReportOptions {
        title: "pair_a vs pair_b".into(),
        probes: vec![fixture_probe()],
        map_points: 300,
        words: 5,
        neighbours: 5,
        ..ReportOptions::default()
    };
    o.weat.bootstrap = 500;
    o.weat.permutations = 2_000;
    o.command = report::command_line(
        &[fixture("pair_a.vec"), fixture("pair_b.vec")],
        &o,
        "report.md",
    );
    o
}

fn fixture_report() -> report::Report {
    let a = load(&fixture("pair_a.vec"));
    let b = load(&fixture("pair_b.vec"));
    let versions = [
        Version {
            name: fixture("pair_a.vec"),
            set: &a,
        },
        Version {
            name: fixture("pair_b.vec"),
            set: &b,
        },
    ];
    report::build(
        &versions,
        &[None],
        &fixture_options(),
        &mut |_, _| {},
        &AtomicBool::new(false),
    )
    .expect("build report")
}

/// Every float rounded to 8 decimals, so the snapshot does not hang on the last bits.
fn rounded(v: &Value) -> Value {
    match v {
        Value::Number(n) if n.is_f64() => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            let r = (x * 1e8).round() / 1e8;
            serde_json::Number::from_f64(r).map_or(Value::Null, Value::Number)
        }
        Value::Array(a) => Value::Array(a.iter().map(rounded).collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, x)| (k.clone(), rounded(x))).collect()),
        x => x.clone(),
    }
}

#[test]
fn golden_markdown_and_json_of_the_compare_fixtures() {
    let r = fixture_report();
    let (md, images) = render::markdown(&r, "report_files").expect("markdown");
    insta::assert_snapshot!("compare_fixtures_markdown", md);
    let names: Vec<&str> = images.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["overlap_1.svg", "map_A.svg", "map_B.svg", "bias.svg"]
    );
    for (n, svg) in &images {
        assert!(
            svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
            "{n}"
        );
        assert!(
            md.contains(&format!("](report_files/{n})")),
            "{n} not linked"
        );
    }
    let json = render::json(&r).expect("json");
    let v: Value = serde_json::from_str(&json).expect("report JSON parses");
    let pretty = serde_json::to_string_pretty(&rounded(&v)).unwrap_or_default();
    insta::assert_snapshot!("compare_fixtures_json", pretty);
}

#[test]
fn report_numbers_match_the_numpy_scipy_reference() {
    let text = std::fs::read_to_string(fixture("reference.json")).expect("reference");
    let refv: Value = serde_json::from_str(&text).expect("reference JSON");
    let p = &refv["pair"];
    let r = fixture_report();
    let v: Value = serde_json::from_str(&render::json(&r).expect("json")).expect("parse");
    let pair = &v["pairs"][0];
    let close = |a: &Value, b: &Value, tol: f64, what: &str| {
        let (a, b) = (a.as_f64().expect(what), b.as_f64().expect(what));
        assert!((a - b).abs() <= tol, "{what}: report {a} vs reference {b}");
    };
    close(
        &pair["measures"]["linear_cka"],
        &p["linear_cka"],
        1e-6,
        "linear CKA",
    );
    close(
        &pair["measures"]["procrustes"]["disparity"],
        &p["procrustes"]["disparity"],
        1e-6,
        "Procrustes disparity",
    );
    close(
        &pair["measures"]["procrustes"]["aligned_cosine_mean"],
        &p["procrustes"]["aligned_cosine_mean"],
        1e-6,
        "aligned cosine mean",
    );
    for (i, k) in ["10", "50"].iter().enumerate() {
        close(
            &pair["measures"]["jaccard"][i]["mean"],
            &p["jaccard_at_k"][k]["mean"],
            1e-12,
            "mean Jaccard",
        );
    }
    let s = &pair["vocabulary"]["summary"];
    assert_eq!(s["shared"], p["shared_vocab"]);
    assert_eq!(s["only_a"], p["only_a"]);
    assert_eq!(s["only_b"], p["only_b"]);
    // The same numbers in the other formats (rounded as shown).
    let (md, _) = render::markdown(&r, "f").expect("md");
    let cka = p["linear_cka"].as_f64().unwrap_or_default();
    assert!(md.contains(&format!("| linear CKA | {cka:.4} |")), "{md}");
    let csv = render::csv_tables(&r).expect("csv");
    let measures = &csv
        .iter()
        .find(|(n, _)| n == "measures.csv")
        .expect("measures.csv")
        .1;
    let line = measures
        .lines()
        .find(|l| l.starts_with("linear CKA,"))
        .expect("CKA row");
    let got: f64 = line["linear CKA,".len()..].parse().expect("number");
    assert!((got - cka).abs() < 1e-6, "{line}");
}

#[test]
fn json_is_byte_identical_across_builds() {
    let a = render::json(&fixture_report()).expect("json");
    let b = render::json(&fixture_report()).expect("json");
    assert!(a == b, "two builds gave different JSON");
    let h1 = render::html(&fixture_report()).expect("html");
    let h2 = render::html(&fixture_report()).expect("html");
    assert!(h1 == h2, "two builds gave different HTML");
    assert!(
        !a.contains("seconds") && !a.contains("timing"),
        "timings in JSON"
    );
}

/// URLs, scripts and anything a browser would fetch, in the page's markup (tags and the style
/// sheet; escaped text such as a token "http://x" is text, not a reference).
fn external_references(html: &str) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    let mut found = Vec::new();
    let mut rest = lower.as_str();
    while let Some(start) = rest.find('<') {
        let Some(len) = rest[start..].find('>') else {
            found.push("unclosed tag".into());
            break;
        };
        let tag = &rest[start..start + len + 1];
        for pat in [
            "http:",
            "https:",
            "ftp:",
            "\"//",
            "'//",
            "<script",
            "<link",
            "<iframe",
            "<object",
            "<embed",
            "<img",
            "<image",
            "<use",
            "src=",
            "url(",
            "javascript:",
            "xlink:href",
            "data:",
        ] {
            if tag.contains(pat) && !(pat == "data:" && tag.contains("img-src data:")) {
                found.push(format!("{pat} in {tag}"));
            }
        }
        if let Some(i) = tag.find("href=\"")
            && !tag[i + 6..].starts_with('#')
        {
            found.push(format!("href in {tag}"));
        }
        rest = &rest[start + len + 1..];
    }
    if let (Some(a), Some(b)) = (lower.find("<style>"), lower.find("</style>")) {
        let css = &lower[a..b];
        for pat in ["url(", "@import", "http", "@font-face"] {
            if css.contains(pat) {
                found.push(format!("{pat} in the style sheet"));
            }
        }
    }
    found
}

#[test]
fn html_is_self_contained_and_prints() {
    let html = render::html(&fixture_report()).expect("html");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_eq!(external_references(&html), Vec::<String>::new());
    assert!(html.contains("Content-Security-Policy\" content=\"default-src 'none'"));
    assert!(html.contains("@media print"));
    // Every chart inline.
    assert_eq!(html.matches("<svg").count(), 4);
    assert_eq!(html.matches("</svg>").count(), 4);
    // Every section present with its anchor.
    for s in Section::ALL {
        assert!(
            html.contains(&format!("id=\"{}\"", s.name())),
            "{}",
            s.name()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Hostile tokens

const SCRIPT: &str = "<script>alert(1)</script>";
const IMG: &str = "\"><img src=x onerror=alert(1)>";
const HOSTILE: [&str; 7] = [
    SCRIPT,
    IMG,
    "fish&chips",
    "evil\u{202e}txt.exe",
    "pipe|in|token",
    "line1\nline2",
    "`code` **bold** [link](http://x.example)",
];

/// Two versions of 60 words in 6 dimensions: B is A rotated, except the hostile tokens, which
/// move (so they are the most changed and most displaced words, labelled on the maps), and one
/// hostile token in each version only.
fn hostile_sets() -> (EmbeddingSet, EmbeddingSet) {
    let mut tokens: Vec<String> = (0..53).map(|i| format!("w{i}")).collect();
    tokens.extend(HOSTILE.iter().map(|s| s.to_string()));
    let dim = 6;
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let a: Vec<f32> = (0..tokens.len() * dim).map(|_| next() as f32).collect();
    let mut b = Vec::with_capacity(a.len());
    for (i, row) in a.chunks(dim).enumerate() {
        if i >= 53 {
            b.extend((0..dim).map(|_| next() as f32));
        } else {
            // A fixed rotation in the (0, 1) plane plus a swap of the other axes.
            let (c, s) = (0.6f32, 0.8f32);
            b.push(c * row[0] - s * row[1]);
            b.push(s * row[0] + c * row[1]);
            b.extend(row[2..].iter().rev());
        }
    }
    let make = |mut toks: Vec<String>, data: Vec<f32>, name: &str| {
        let rows = toks.len();
        let vocab = Vocab::from_unique(toks.drain(..)).expect("unique tokens");
        let prov = Provenance {
            source: name.to_string(),
            format: "word2vec-text".into(),
            sha256: Some("ab".repeat(32)),
            model_id: Some(format!("model {SCRIPT}")),
            params: [("note".to_string(), IMG.to_string())]
                .into_iter()
                .collect(),
            ..Provenance::default()
        };
        EmbeddingSet::new(
            vocab,
            Matrix::from_vec(rows, dim, data).expect("matrix"),
            Metadata::default(),
            prov,
        )
        .expect("set")
    };
    let mut ta = tokens.clone();
    ta.push(format!("only-a {SCRIPT}"));
    let mut da = a.clone();
    da.extend((0..dim).map(|_| next() as f32));
    let mut tb = tokens;
    tb.push(format!("only-b {IMG}\u{202e}"));
    let mut db = b;
    db.extend((0..dim).map(|_| next() as f32));
    (make(ta, da, "a<b>|&.vec"), make(tb, db, "b\u{202e}.vec"))
}

fn hostile_report() -> report::Report {
    let (a, b) = hostile_sets();
    let versions = [
        Version {
            name: format!("A {SCRIPT}.vec"),
            set: &a,
        },
        Version {
            name: "B|\u{202e}.vec".into(),
            set: &b,
        },
    ];
    let mut o = ReportOptions {
        title: format!("Review {SCRIPT} | {IMG}"),
        map_labels: 20,
        words: 20,
        ..ReportOptions::default()
    };
    o.compare.ks = vec![5];
    o.compare.drift_pairs = 500;
    o.weat.bootstrap = 100;
    o.probes = vec![WeatTest {
        name: format!("t{SCRIPT}"),
        x: words("x", &["w1", "w2", "w3"]),
        y: words("y", &["w4", "w5", "w6"]),
        a: words("a", &["w7", "w8", SCRIPT]),
        b: words("b", &["w10", "w11", "pipe|in|token"]),
        original: None,
    }];
    o.command = report::command_line(&[format!("A {SCRIPT}.vec"), "B".into()], &o, "r.html");
    report::build(
        &versions,
        &[None],
        &o,
        &mut |_, _| {},
        &AtomicBool::new(false),
    )
    .expect("build")
}

fn has_raw_hazard(s: &str) -> bool {
    s.chars()
        .any(|c| c != '\n' && (report::escape::is_hazard(c) && !(c == '\t' || c == '\r')))
}

#[test]
fn hostile_tokens_are_escaped_in_html() {
    let r = hostile_report();
    let html = render::html(&r).expect("html");
    let lower = html.to_ascii_lowercase();
    assert!(!lower.contains("<script"), "raw <script in HTML");
    assert!(!lower.contains("<img"), "raw <img in HTML");
    assert!(
        !has_raw_hazard(&html),
        "a raw control or bidi character in HTML"
    );
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
    assert!(html.contains("fish&amp;chips"));
    assert!(html.contains("evil<span class=\"ctl\">\\u{202e}</span>txt.exe"));
    assert!(html.contains("line1<span class=\"ctl\">\\n</span>line2"));
    // The hostile words are on the maps (SVG text, escaped by the chart writer).
    assert!(html.contains(">\n&lt;script&gt;alert(1)&lt;/scrip~\n</text>"));
    assert_eq!(external_references(&html), Vec::<String>::new());
    // No tag but the page's own: every '<' opens a known element.
    for (i, _) in html.match_indices('<') {
        let rest = &html[i + 1..];
        let name: String = rest
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '!')
            .collect();
        assert!(
            [
                "!DOCTYPE",
                "html",
                "head",
                "meta",
                "title",
                "style",
                "body",
                "h1",
                "h2",
                "h3",
                "nav",
                "ul",
                "li",
                "a",
                "p",
                "strong",
                "pre",
                "figure",
                "figcaption",
                "svg",
                "rect",
                "text",
                "circle",
                "polyline",
                "line",
                "polygon",
                "path",
                "table",
                "thead",
                "tbody",
                "tr",
                "th",
                "td",
                "code",
                "span",
                "footer",
            ]
            .contains(&name.as_str()),
            "unexpected element <{name}> at {}",
            &html[i..(i + 60).min(html.len())]
        );
    }
}

/// The cells of a Markdown table line, split at unescaped pipes.
fn md_cells(line: &str) -> usize {
    let mut n: usize = 0;
    let mut escaped = false;
    for c in line.chars() {
        if c == '|' && !escaped {
            n += 1;
        }
        escaped = c == '\\' && !escaped;
    }
    n.saturating_sub(1)
}

#[test]
fn hostile_tokens_are_escaped_in_markdown() {
    let r = hostile_report();
    let (md, images) = render::markdown(&r, "r_files").expect("md");
    assert!(
        !has_raw_hazard(&md),
        "raw control/bidi character in Markdown"
    );
    // Every '<' outside the fenced command line is escaped text, never HTML.
    let mut fence: Option<String> = None;
    for line in md.lines() {
        let ticks: String = line.chars().take_while(|&c| c == '`').collect();
        if ticks.len() >= 3 {
            match &fence {
                Some(f) if *f == ticks => fence = None,
                None => fence = Some(ticks),
                _ => {}
            }
            continue;
        }
        if fence.is_some() {
            continue;
        }
        for (i, _) in line.match_indices('<') {
            assert!(line[..i].ends_with('\\'), "unescaped < in {line}");
        }
    }
    assert!(fence.is_none(), "a fence left open");
    // No link or image but the report's own image links.
    for (i, _) in md.match_indices("](") {
        if md[..i].ends_with('\\') {
            continue;
        }
        assert!(
            md[i..].starts_with("](r_files/"),
            "{}",
            &md[i.saturating_sub(40)..i + 20]
        );
    }
    // Tables keep their shape: each row has as many cells as its header.
    let mut header = None;
    for line in md.lines() {
        if line.starts_with('|') {
            let n = md_cells(line);
            let h = *header.get_or_insert(n);
            assert_eq!(n, h, "table row split by a token: {line}");
        } else {
            header = None;
        }
    }
    assert!(md.contains("\\<script\\>alert(1)\\</script\\>"));
    assert!(md.contains("pipe\\|in\\|token"));
    assert!(md.contains("line1\\\\nline2"));
    assert!(md.contains("evil\\\\u{202e}txt.exe"));
    assert!(md.contains("\\`code\\` \\*\\*bold\\*\\* \\[link\\](http\\://x.example)"));
    for (_, svg) in &images {
        assert!(!svg.to_ascii_lowercase().contains("<script"));
        assert!(!has_raw_hazard(svg));
    }
}

/// RFC 4180 records of a CSV text.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(!quoted, "unterminated quote");
    rows
}

#[test]
fn hostile_tokens_are_visible_in_plain_text() {
    let r = hostile_report();
    let text = render::text::report(&r).expect("text");
    assert!(
        !has_raw_hazard(&text),
        "raw control/bidi character in plain text"
    );
    assert!(text.contains("evil\\u{202e}txt.exe"));
    assert!(text.contains("line1\\nline2"));
    // Each table's columns line up: every row of the measures table is as wide as its rule.
    let lines: Vec<&str> = text.lines().collect();
    let head = lines
        .iter()
        .position(|l| l.starts_with("measure "))
        .expect("measures table");
    let rule = lines[head + 1];
    assert!(rule.starts_with("-----") && rule.contains("  -"), "{rule}");
    assert!(lines[head + 2].starts_with("mean Jaccard@"));
}

#[test]
fn hostile_tokens_are_escaped_in_csv_and_json() {
    let r = hostile_report();
    let tables = render::csv_tables(&r).expect("csv");
    let mut all = String::new();
    for (name, text) in &tables {
        assert!(!has_raw_hazard(text), "{name}: raw control/bidi character");
        let rows = parse_csv(text);
        let width = rows[0].len();
        for row in &rows {
            assert_eq!(row.len(), width, "{name}: {row:?}");
        }
        for row in rows {
            all.push_str(&row.join("\u{1}"));
            all.push('\n');
        }
    }
    for t in [SCRIPT, IMG, "fish&chips", "pipe|in|token"] {
        assert!(all.contains(t), "{t:?} not found as a whole CSV value");
    }
    assert!(all.contains("line1\\nline2") && all.contains("evil\\u{202e}txt.exe"));

    let json = render::json(&r).expect("json");
    assert!(!json.contains('\u{202e}'), "raw U+202E in JSON");
    assert!(json.contains("\\u202e"));
    // JSON keeps the exact tokens.
    let v: Value = serde_json::from_str(&json).expect("parse");
    let text = v.to_string();
    for t in HOSTILE {
        let quoted = serde_json::to_string(t).unwrap_or_default();
        assert!(text.contains(&quoted), "{t:?} not kept exactly in JSON");
    }
}

#[test]
fn files_are_written_atomically_in_every_format() {
    let r = fixture_report();
    let dir = tempfile::tempdir().expect("tempdir");
    let html = dir.path().join("r.html");
    std::fs::write(&html, "old").expect("old file");
    let w = report::write(&r, &html, report::OutputFormat::Html).expect("html");
    assert_eq!(w, std::slice::from_ref(&html));
    assert!(
        std::fs::read_to_string(&html)
            .expect("read")
            .starts_with("<!DOCTYPE")
    );
    let md = dir.path().join("r.md");
    let w = report::write(&r, &md, report::OutputFormat::Markdown).expect("md");
    assert_eq!(w.len(), 5);
    assert!(dir.path().join("r_files/map_A.svg").is_file());
    let json = dir.path().join("r.json");
    report::write(&r, &json, report::OutputFormat::Json).expect("json");
    let csv = dir.path().join("tables");
    let w = report::write(&r, &csv, report::OutputFormat::CsvDir).expect("csv");
    assert!(w.len() >= 10, "{w:?}");
    assert!(csv.join("measures.csv").is_file() && csv.join("bias.csv").is_file());
    // Nothing but the outputs is left behind (no temporary files).
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["r.html", "r.json", "r.md", "r_files", "tables"]);
    // A folder where a file must go is an error naming it, and nothing is changed.
    let e = report::write(&r, &csv, report::OutputFormat::Json)
        .expect_err("a folder is not a JSON file")
        .to_string();
    assert!(e.contains("tables"), "{e}");
}

#[test]
fn sections_can_be_left_out() {
    let a = load(&fixture("pair_a.vec"));
    let b = load(&fixture("pair_b.vec"));
    let versions = [
        Version {
            name: "a".into(),
            set: &a,
        },
        Version {
            name: "b".into(),
            set: &b,
        },
    ];
    let o = ReportOptions {
        sections: vec![Section::Datasets, Section::Measures],
        ..ReportOptions::default()
    };
    let r = report::build(
        &versions,
        &[None],
        &o,
        &mut |_, _| {},
        &AtomicBool::new(false),
    )
    .expect("build");
    let v: Value = serde_json::from_str(&render::json(&r).expect("json")).expect("parse");
    assert!(v.get("datasets").is_some() && v["pairs"][0].get("measures").is_some());
    for gone in ["integrity", "maps", "bias", "eval", "parameters"] {
        assert!(v.get(gone).is_none(), "{gone} present");
    }
    assert!(v["pairs"][0].get("words").is_none() && v["pairs"][0].get("vocabulary").is_none());
    let html = render::html(&r).expect("html");
    assert!(!html.contains("<svg") || html.matches("<svg").count() == 1);
    assert!(!html.contains("id=\"maps\""));
    // Too few versions and cancellation are errors, not panics.
    let e = report::build(
        &versions[..1],
        &[],
        &o,
        &mut |_, _| {},
        &AtomicBool::new(false),
    )
    .expect_err("one version");
    assert!(e.to_string().contains("at least two versions"), "{e}");
    let e = report::build(
        &versions,
        &[None],
        &o,
        &mut |_, _| {},
        &AtomicBool::new(true),
    )
    .expect_err("cancel");
    assert!(matches!(e, report::ReportError::Cancelled), "{e}");
}

#[test]
fn three_versions_and_sections_that_cannot_be_computed() {
    let a = load(&fixture("pair_a.vec"));
    let b = load(&fixture("pair_b.vec"));
    let r = load(&fixture("rotation_a.vec"));
    let names = ["a.vec", "b.vec", "a-again.vec"];
    let three = [
        Version {
            name: names[0].into(),
            set: &a,
        },
        Version {
            name: names[1].into(),
            set: &b,
        },
        Version {
            name: names[2].into(),
            set: &a,
        },
    ];
    let o = ReportOptions {
        sections: vec![Section::Datasets, Section::Measures, Section::Maps],
        map_points: 100,
        ..ReportOptions::default()
    };
    let rep = report::build(
        &three,
        &[None, None],
        &o,
        &mut |_, _| {},
        &AtomicBool::new(false),
    )
    .expect("build");
    assert_eq!(rep.pairs.len(), 2);
    assert_eq!(
        (rep.pairs[1].a.as_str(), rep.pairs[1].b.as_str()),
        ("b.vec", "a-again.vec")
    );
    let maps = rep.maps.as_ref().expect("maps");
    assert_eq!(maps.points.len(), 3);
    // The third version is the first again: its map is the first map.
    assert_eq!(maps.points[0], maps.points[2]);
    let (md, images) = render::markdown(&rep, "f").expect("md");
    assert!(md.contains("| measure | A vs B | B vs C |"), "{md}");
    assert_eq!(
        images.iter().filter(|(n, _)| n.starts_with("map_")).count(),
        3
    );
    // Versions with no word in common: each section that needs the comparison says why, and
    // the rest of the report stands.
    let two = [
        Version {
            name: "a.vec".into(),
            set: &a,
        },
        Version {
            name: "rotation.vec".into(),
            set: &r,
        },
    ];
    let rep = report::build(&two, &[None], &o, &mut |_, _| {}, &AtomicBool::new(false))
        .expect("the data sets still report");
    assert!(rep.maps.is_none() && rep.datasets.is_some());
    assert!(rep.pairs[0].measures.is_none());
    assert_eq!(rep.notes.len(), 2, "{:?}", rep.notes);
    assert!(
        rep.notes[0].starts_with("measures: A vs B: the two versions share no tokens"),
        "{:?}",
        rep.notes
    );
    assert!(rep.notes[1].starts_with("maps: A vs B:"), "{:?}", rep.notes);
    let html = render::html(&rep).expect("html");
    assert!(html.contains("<strong>Not computed:</strong> A vs B: the two versions share no"));
    let v: Value = serde_json::from_str(&render::json(&rep).expect("json")).expect("parse");
    assert_eq!(v["notes"].as_array().map(Vec::len), Some(2));
}

// ---------------------------------------------------------------------------------------------
// Drift

/// A quarter of 240 support tickets in 16 dimensions encoded by one model (the encoding record
/// names the same weights): every row leans along axis 0; with `planted`, the last 40 rows lean
/// along axis 3 instead and are about refunds. `dim` other than 16 makes another space.
fn tickets(seed: u64, planted: bool, dim: usize, weights: &str) -> EmbeddingSet {
    let n = 240;
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let mut data = Vec::with_capacity(n * dim);
    for i in 0..n {
        let moved = planted && i >= n - 40;
        for j in 0..dim {
            let lean = match (moved, j) {
                (false, 0) | (true, 3) => 3.0,
                _ => 0.0,
            };
            data.push((next() + lean) as f32);
        }
    }
    let words = ["login", "invoice", "shipping", "delay", "colour", "size"];
    let text = (0..n)
        .map(|i| {
            if planted && i >= n - 40 {
                "refund password reset please".to_string()
            } else {
                format!("{} {}", words[i % 6], words[(i / 6) % 6])
            }
        })
        .collect();
    let mut meta = Metadata::new();
    meta.push(
        embedscope::core::MetaColumn {
            name: "text".into(),
            values: text,
        },
        n,
    )
    .expect("text column");
    let prov = Provenance {
        source: format!("tickets_{seed}.npy"),
        format: "npy".into(),
        encoding: [
            ("model".to_string(), "mini-encoder".to_string()),
            (
                "weights_sha256".to_string(),
                weights.repeat(64 / weights.len()),
            ),
        ]
        .into_iter()
        .collect(),
        ..Provenance::default()
    };
    let vocab = Vocab::from_unique((0..n).map(|i| format!("t{seed}_{i}"))).expect("vocab");
    EmbeddingSet::new(
        vocab,
        Matrix::from_vec(n, dim, data).expect("matrix"),
        meta,
        prov,
    )
    .expect("set")
}

fn drift_options(sections: Vec<Section>) -> ReportOptions {
    let mut o = ReportOptions {
        title: "Tickets".into(),
        sections,
        map_points: 200,
        ..ReportOptions::default()
    };
    o.command = report::command_line(&["q1.npy".into(), "q2.npy".into()], &o, "r.md");
    o
}

fn drift_report(versions: &[Version], o: &ReportOptions) -> report::Report {
    report::build(
        versions,
        &vec![None; versions.len() - 1],
        o,
        &mut |_, _| {},
        &AtomicBool::new(false),
    )
    .expect("build")
}

#[test]
fn drift_section_flags_the_planted_shift_in_every_format() {
    let q1 = tickets(1, false, 16, "ab");
    let q2 = tickets(2, true, 16, "ab");
    let versions = [
        Version {
            name: "q1.npy".into(),
            set: &q1,
        },
        Version {
            name: "q2.npy".into(),
            set: &q2,
        },
    ];
    let o = drift_options(vec![Section::Drift, Section::Parameters]);
    let mut shares = Vec::new();
    let r = report::build(
        &versions,
        &[None],
        &o,
        &mut |f, _| shares.push(f),
        &AtomicBool::new(false),
    )
    .expect("build");
    assert!(shares.windows(2).all(|w| w[0] <= w[1]), "{shares:?}");
    assert!(r.notes.is_empty(), "{:?}", r.notes);
    let pairs = r.drift.as_ref().expect("drift section");
    assert_eq!(pairs.len(), 1);
    let d = &pairs[0];
    assert_eq!((d.reference.as_str(), d.current.as_str()), ("A", "B"));
    assert_eq!((d.n_ref, d.n_cur, d.dim), (240, 240, 16));
    // One model on both sides: no warning.
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    // Every test runs, in report order; the planted region moves the distribution.
    let names: Vec<&str> = d.tests.iter().map(|t| t.method.name()).collect();
    assert_eq!(
        names,
        [
            "distance_euclidean",
            "distance_cosine",
            "mmd",
            "classifier",
            "ratio",
            "energy"
        ]
    );
    for t in &d.tests {
        assert_eq!(t.permutations, 1000, "{t:?}");
        // The ratio test counts drifted dimensions: 40 rows of 240 move too few of them.
        if t.method.name() != "ratio" {
            assert!(t.significant && t.p_value < 0.01, "{t:?}");
        }
    }
    for m in ["mmd", "classifier", "energy"] {
        let t = d.tests.iter().find(|t| t.method.name() == m).expect(m);
        assert!(t.drift, "{t:?}");
    }
    // The planted cluster first: current rows only, about refunds.
    assert_eq!(d.cluster_count, 8);
    assert_eq!(d.clusters.len(), 8);
    let top = &d.clusters[0];
    assert_eq!((top.drift.n_ref, top.drift.n_cur), (0, 40), "{top:?}");
    assert!((top.drift.ratio - 1.0).abs() < 1e-12, "{top:?}");
    assert!(top.keywords.iter().any(|k| k == "refund"), "{top:?}");
    // The map: 480 joint rows drawn as 200 (100 a side), the planted cluster named.
    let map = d.map.as_ref().expect("map");
    assert_eq!((map.drawn.reference, map.drawn.current), (100, 100));
    assert_eq!(map.reference_points.len(), 100);
    assert_eq!(map.labelled[0].cluster, top.drift.id);
    assert!(map.explained[0] > 0.0 && map.explained[0] + map.explained[1] <= 1.0 + 1e-9);

    // Markdown: the section, its tables and its image, which draws both sides.
    let (md, images) = render::markdown(&r, "r_files").expect("markdown");
    assert!(md.contains("## Drift between samples"), "{md}");
    assert!(md.contains("### A vs B: q1.npy vs q2.npy"), "{md}");
    assert!(
        md.contains("tests over their thresholds; 5 significant at alpha 0.05.**"),
        "{md}"
    );
    assert!(md.contains("| mmd | "), "{md}");
    assert!(md.contains("| 0 | 40 | 0.0000 | "), "{md}");
    assert!(md.contains("| password, refund, reset |"), "{md}");
    if let Ok(dir) = std::env::var("EMBEDSCOPE_DRIFT_SVG") {
        std::fs::write(Path::new(&dir).join("drift_map.svg"), &images[0].1).expect("svg");
    }
    assert_eq!(
        images.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["drift_a_b_map.svg"]
    );
    assert!(md.contains("](r_files/drift_a_b_map.svg)"));
    let svg = &images[0].1;
    let [rc, cc] = report::charts::DRIFT_SIDES;
    for c in [rc, cc] {
        let hex = format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2);
        assert!(svg.contains(&hex), "{hex} not in the map");
    }
    assert!(svg.contains("reference A: q1.npy") && svg.contains("current B: q2.npy"));
    assert!(
        svg.contains("+1.00 password, refund, reset"),
        "planted cluster not named"
    );
    insta::assert_snapshot!("drift_planted_markdown", md);

    // CSV: the tests and the clusters, numbers in full precision.
    let csv = render::csv_tables(&r).expect("csv");
    let table = |name: &str| {
        parse_csv(
            &csv.iter()
                .find(|(n, _)| n == name)
                .unwrap_or_else(|| panic!("{name} missing"))
                .1,
        )
    };
    let tests = table("drift_a_b.csv");
    assert_eq!(
        tests[0],
        [
            "test",
            "score",
            "threshold",
            "threshold from",
            "drift",
            "p-value",
            "significant",
            "permutations",
            "rows A",
            "rows B"
        ]
    );
    assert_eq!(tests.len(), 7);
    let mmd = tests.iter().find(|r| r[0] == "mmd").expect("mmd row");
    let score: f64 = mmd[1].parse().expect("score");
    let exact = d.tests[2].score;
    assert_eq!(score, exact, "CSV keeps full precision");
    let clusters = table("drift_a_b_clusters.csv");
    assert_eq!(clusters[0][0], "cluster");
    assert_eq!(clusters.len(), 9);
    assert_eq!(&clusters[1][1..3], ["0", "40"]);
    assert!(clusters[1][6].contains("refund"));

    // JSON: the numbers, no points, no timings; the same bytes from a second build.
    let json = render::json(&r).expect("json");
    let v: Value = serde_json::from_str(&json).expect("parse");
    let p = &v["drift"][0];
    assert_eq!(p["tests"].as_array().map(Vec::len), Some(6));
    assert_eq!(p["tests"][2]["method"], "mmd");
    assert_eq!(p["clusters"][0]["n_cur"], 40);
    assert_eq!(p["map"]["drawn"]["reference"], 100);
    assert!(p["map"].get("reference_points").is_none());
    assert_eq!(v["parameters"]["drift"]["tests"]["permutations"], 1000);
    assert_eq!(v["parameters"]["drift"]["tests"]["kernel_sample"], 2000);
    assert_eq!(v["parameters"]["drift"]["top"], 12);
    assert!(!json.contains("seconds") && !json.contains("timing"));
    assert!(json == render::json(&drift_report(&versions, &o)).expect("json"));
    // Plain text and HTML follow from the same blocks.
    let text = render::text::report(&r).expect("text");
    assert!(text.contains("Drift between samples") && text.contains("refund"));
    let html = render::html(&r).expect("html");
    assert!(html.contains("id=\"drift\"") && html.matches("<svg").count() == 1);
}

#[test]
fn drift_pairs_not_in_one_space_get_a_note_and_the_rest_stands() {
    let q1 = tickets(1, false, 16, "ab");
    let q2 = tickets(2, true, 16, "ab");
    let other_dim = tickets(3, false, 8, "ab");
    let other_model = tickets(4, false, 16, "cd");
    let versions = [
        Version {
            name: "q1.npy".into(),
            set: &q1,
        },
        Version {
            name: "q2.npy".into(),
            set: &q2,
        },
        Version {
            name: "small.npy".into(),
            set: &other_dim,
        },
    ];
    let mut o = drift_options(vec![Section::Datasets, Section::Drift]);
    o.drift.permutations = 99;
    o.drift.methods = vec![
        embedscope::analysis::drift::DriftMethod::Mmd,
        embedscope::analysis::drift::DriftMethod::Classifier,
    ];
    let r = drift_report(&versions, &o);
    // A vs B is studied; B vs C (16 vs 8 dimensions) is a note; the data sets stand.
    let pairs = r.drift.as_ref().expect("drift");
    assert_eq!(pairs.len(), 1);
    assert_eq!(pairs[0].tests.len(), 2);
    assert_eq!(pairs[0].tests[0].permutations, 99);
    assert_eq!(r.datasets.as_ref().map(Vec::len), Some(3));
    assert_eq!(r.notes.len(), 1, "{:?}", r.notes);
    assert!(
        r.notes[0].starts_with("drift: B vs C: tickets_2.npy has 16-dimensional rows and"),
        "{:?}",
        r.notes
    );
    let (md, images) = render::markdown(&r, "f").expect("md");
    assert!(md.contains("### A vs B: q1.npy vs q2.npy"), "{md}");
    assert!(!md.contains("### B vs C"), "{md}");
    assert!(
        md.contains("**Not computed:** B vs C: tickets\\_2.npy has 16-dimensional rows"),
        "{md}"
    );
    assert_eq!(images.len(), 1);

    // Encoding records that name other weights: a note, unless other models are allowed
    // (then studied, with the warning beside the results).
    let two = [
        Version {
            name: "q1.npy".into(),
            set: &q1,
        },
        Version {
            name: "other.npy".into(),
            set: &other_model,
        },
    ];
    let r = drift_report(&two, &o);
    assert_eq!(r.drift.as_ref().map(Vec::len), Some(0));
    assert_eq!(r.notes.len(), 1, "{:?}", r.notes);
    assert!(
        r.notes[0].contains("different models") && r.notes[0].contains("--allow-other-models"),
        "{:?}",
        r.notes
    );
    o.drift.allow_other_models = true;
    let r = drift_report(&two, &o);
    assert!(r.notes.is_empty(), "{:?}", r.notes);
    let d = &r.drift.as_ref().expect("drift")[0];
    assert!(
        d.warnings.iter().any(|w| w.contains("compared anyway")),
        "{:?}",
        d.warnings
    );
    let (md, _) = render::markdown(&r, "f").expect("md");
    assert!(
        md.contains("**Warning:** the two sets come from different models"),
        "{md}"
    );
    // Bad drift options are refused before anything runs; cancelling stops the study.
    o.drift.permutations = 5;
    let e = report::build(&two, &[None], &o, &mut |_, _| {}, &AtomicBool::new(false))
        .expect_err("too few permutations");
    assert!(e.to_string().contains("permutations"), "{e}");
    o.drift.permutations = 99;
    let e = report::build(&two, &[None], &o, &mut |_, _| {}, &AtomicBool::new(true))
        .expect_err("cancel");
    assert!(matches!(e, report::ReportError::Cancelled), "{e}");
}
