//! The app's "Export report" and the command line it shows: the app (headless, through its
//! commands) exports a report of the demo set and a second file; `embedscope report` run with
//! that command line writes the same bytes. Names with spaces and quotes go through the shell
//! quoting intact.

use std::path::PathBuf;
use std::process::Command as Process;
use std::time::{Duration, Instant};

use embedscope::app::report::ReportCommand as R;
use embedscope::app::{App, Command, Settings};
use embedscope::report::Section;

fn settle(app: &mut App) {
    let t = Instant::now();
    loop {
        app.poll();
        if !app.busy() {
            return;
        }
        assert!(t.elapsed() < Duration::from_secs(300), "jobs still running");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The words of a command line as `report::shell_quote` writes them: plain words, and
/// single-quoted ones where `'` is written `'\''`.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                quoted = !quoted;
                in_word = true;
            }
            '\\' if !quoted => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                in_word = true;
            }
            ' ' if !quoted => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    assert!(!quoted, "unbalanced quotes in {line}");
    if in_word {
        words.push(cur);
    }
    words
}

#[test]
fn shell_words_undo_the_quoting() {
    assert_eq!(
        shell_words("embedscope report 'a b' 'it'\\''s' x --out r.md"),
        vec!["embedscope", "report", "a b", "it's", "x", "--out", "r.md"]
    );
}

#[test]
fn the_shown_command_line_regenerates_the_exported_report_byte_for_byte() {
    let dir = tempfile::tempdir().expect("tmp");
    let second: PathBuf = dir.path().join("my vectors.vec");
    let small = embedscope::formats::demo_set(Some(3000)).expect("demo");
    embedscope::formats::save(&small, &second, None).expect("save");
    let cache = dir.path().join("cache");

    let mut app = App::new(Settings::default(), None);
    app.apply(Command::OpenDemo);
    settle(&mut app);
    app.apply(Command::OpenPath(second.clone()));
    settle(&mut app);
    assert_eq!(app.datasets.len(), 2);
    let out = dir.path().join("it's a report.json");
    // Every section but the benchmarks (the slowest), two bias tests, a title to quote; the
    // small set first.
    app.apply(Command::Report(R::SelectSection(Section::Eval, false)));
    app.apply(Command::Report(R::SelectProbe("weat7".into(), true)));
    app.apply(Command::Report(R::SelectProbe("weat1".into(), true)));
    app.apply(Command::Report(R::SetTitle("Demo's \"check\"".into())));
    app.apply(Command::Report(R::MoveDataset(
        app.datasets[1].name.clone(),
        true,
    )));
    app.apply(Command::Report(R::SetPath(out.display().to_string())));
    app.apply(Command::Report(R::Export));
    settle(&mut app);
    assert_eq!(app.report.error, None);
    let done = app.report.last.clone().expect("exported");
    let from_app = std::fs::read(&out).expect("the app's report");
    let words = shell_words(&done.command);
    assert_eq!(words[..2], ["embedscope", "report"]);
    assert_eq!(words[2], second.display().to_string());
    assert_eq!(words[3], "demo");
    assert!(
        done.command.contains("--probes weat1,weat7"),
        "{}",
        done.command
    );
    std::fs::remove_file(&out).expect("rm");

    let run = Process::new(env!("CARGO_BIN_EXE_embedscope"))
        .args(&words[1..])
        .env("EMBEDSCOPE_CACHE_DIR", &cache)
        .output()
        .expect("run embedscope");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let from_cli = std::fs::read(&out).expect("the CLI's report");
    if from_cli != from_app {
        let (a, b) = (
            String::from_utf8_lossy(&from_app),
            String::from_utf8_lossy(&from_cli),
        );
        let line = a
            .lines()
            .zip(b.lines())
            .position(|(x, y)| x != y)
            .unwrap_or(0);
        panic!(
            "the reports differ from line {}:\napp: {:?}\ncli: {:?}",
            line + 1,
            a.lines().nth(line),
            b.lines().nth(line)
        );
    }
    let v: serde_json::Value = serde_json::from_slice(&from_cli).expect("json");
    assert_eq!(v["title"], "Demo's \"check\"");
    assert_eq!(v["command"], done.command.as_str());
    assert_eq!(v["bias"]["tests"], serde_json::json!(["weat1", "weat7"]));
    assert!(v.get("eval").is_none());
}
