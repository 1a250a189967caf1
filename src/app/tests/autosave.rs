//! The session autosave and the prompt for a session a crashed run left behind; a job that
//! panics loses nothing.

use std::path::PathBuf;
use std::time::Instant;

use super::core::fixture;
use super::*;
use crate::engine::worker::{Job, JobContext};

fn app_with_settings(dir: &std::path::Path) -> App {
    let mut app = App::new(Settings::default(), Some(dir.join("settings.json")));
    app.start_autosave();
    app.autosave.every = Duration::ZERO;
    app
}

fn autosave_files(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join("autosave"))
        .map(|r| r.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn the_session_is_autosaved_while_it_changes_and_removed_on_a_normal_exit() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut app = app_with_settings(dir.path());
    app.apply(Command::OpenPath(fixture("pair_a.vec")));
    settle(&mut app);
    app.autosave_tick();
    let file = app.autosave.file().expect("on");
    let saved = Session::load(&file).expect("an autosave");
    assert_eq!(saved.datasets.len(), 1);
    assert!(saved.datasets[0].source.ends_with("pair_a.vec"));
    assert!(saved.datasets[0].selection.is_empty());
    // A change is written at the next tick; an unchanged session is not written again.
    let row = app
        .active_dataset()
        .expect("open")
        .set
        .vocab
        .get("king")
        .unwrap_or(0);
    app.apply(Command::Select { row, add: false });
    app.autosave_tick();
    let saved = Session::load(&file).expect("an autosave");
    assert_eq!(saved.datasets[0].selection, vec![row]);
    let stamp = std::fs::metadata(&file)
        .and_then(|m| m.modified())
        .expect("mtime");
    std::thread::sleep(Duration::from_millis(20));
    app.autosave_tick();
    assert_eq!(
        std::fs::metadata(&file)
            .and_then(|m| m.modified())
            .expect("mtime"),
        stamp
    );
    // Not due yet: nothing is checked.
    app.autosave.every = Duration::from_secs(3600);
    app.apply(Command::ClearSelection);
    app.autosave_tick();
    assert_eq!(
        Session::load(&file).expect("s").datasets[0].selection,
        vec![row]
    );
    // A normal exit leaves nothing to recover.
    app.on_exit();
    assert!(!file.exists());
    assert!(dir.path().join("settings.json").exists());
    let mut next = App::new(Settings::default(), Some(dir.path().join("settings.json")));
    assert!(!next.start_autosave());
}

/// Writes a session as a run with process id `pid` would have left it.
fn left_behind(dir: &std::path::Path, pid: u32, s: &Session) -> PathBuf {
    let d = dir.join("autosave");
    std::fs::create_dir_all(&d).expect("dir");
    let f = d.join(format!("{pid}.session.json"));
    s.save(&f).expect("save");
    f
}

/// A process id that does not run (above Linux's largest `pid_max`).
const GONE: u32 = 4_194_305;

#[test]
fn a_session_left_by_a_crashed_run_is_offered_and_restored() {
    let dir = tempfile::tempdir().expect("tmp");
    // A run opens a set, selects a word, then dies without closing.
    let mut first = app_with_settings(dir.path());
    first.apply(Command::OpenPath(fixture("pair_b.vec")));
    settle(&mut first);
    let row = first
        .active_dataset()
        .expect("open")
        .set
        .vocab
        .get("paris")
        .unwrap_or(1);
    first.apply(Command::Select { row, add: false });
    first.autosave_tick();
    let session = Session::load(&first.autosave.file().expect("on")).expect("autosave");
    drop(first);
    // Its file, as a dead process's.
    let mut files = autosave_files(dir.path());
    assert_eq!(files.len(), 1);
    let file = left_behind(dir.path(), GONE, &session);
    std::fs::remove_file(files.remove(0)).expect("rm");
    // The next start offers it, and writes nothing while it asks.
    let mut app = App::new(Settings::default(), Some(dir.path().join("settings.json")));
    assert!(app.start_autosave());
    let offer = app.autosave.offer.as_ref().expect("offered");
    assert_eq!(offer.file, file);
    assert!(
        offer.describe()[0].contains("pair_b.vec"),
        "{:?}",
        offer.describe()
    );
    app.autosave.every = Duration::ZERO;
    app.autosave_tick();
    assert_eq!(autosave_files(dir.path()), vec![file.clone()]);
    // Restored: the set, its selection; the old file is gone and this run's autosave takes over.
    app.apply(Command::RestoreAutosave);
    settle(&mut app);
    let d = app.active_dataset().expect("restored");
    assert!(d.set.provenance.source.ends_with("pair_b.vec"));
    assert_eq!(d.selection, vec![row]);
    assert!(!file.exists());
    app.autosave_tick();
    assert_eq!(
        autosave_files(dir.path()),
        vec![app.autosave.file().expect("on")]
    );
}

#[test]
fn a_declined_session_is_kept_aside_and_a_damaged_one_is_named() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut app = App::new(Settings::default(), None);
    app.apply(Command::OpenPath(fixture("pair_a.vec")));
    settle(&mut app);
    let session = app.session();
    let older = left_behind(dir.path(), GONE, &session);
    let newer = left_behind(dir.path(), GONE + 1, &session);
    let t = std::time::SystemTime::now() - Duration::from_secs(60);
    std::fs::File::options()
        .write(true)
        .open(&older)
        .and_then(|f| f.set_modified(t))
        .expect("mtime");
    let damaged = dir
        .path()
        .join("autosave")
        .join(format!("{}.session.json", GONE + 2));
    std::fs::write(
        &damaged,
        "{\"kind\": \"embedscope-session\", \"version\": 2, \"data",
    )
    .expect("w");
    // Only the untouched demo: nothing worth offering, removed.
    let mut demo = demo_app();
    let plain = left_behind(dir.path(), GONE + 3, &demo.session());
    demo.on_exit();

    let mut app = App::new(Settings::default(), Some(dir.path().join("settings.json")));
    app.open_demo_if_declined();
    assert!(app.start_autosave());
    assert_eq!(app.autosave.offer.as_ref().expect("offer").file, newer);
    // The damaged one is named in an error and kept under another name.
    let n = app.notifications.last().expect("a message");
    assert_eq!(n.level, Severity::Error);
    assert!(
        n.details.contains(&format!("{}", GONE + 2)),
        "{}",
        n.details
    );
    assert!(!damaged.exists());
    assert!(damaged.with_extension("json.damaged").exists());
    assert!(!plain.exists());
    // The older one is kept aside, not offered again.
    assert!(!older.exists());
    assert!(dir.path().join("autosave/older.session.json").exists());
    // Declined: kept as discarded.session.json (which opens as a session), the demo opens.
    app.apply(Command::DiscardAutosave);
    settle(&mut app);
    let kept = dir.path().join("autosave/discarded.session.json");
    assert_eq!(Session::load(&kept).expect("a session"), session);
    assert!(!newer.exists());
    assert_eq!(app.datasets.len(), 1);
    assert!(
        app.datasets[0]
            .set
            .provenance
            .source
            .starts_with("embedded:")
    );
    assert!(app.autosave.offer.is_none());
}

/// A job that panics half-way.
struct Panics;

impl Job for Panics {
    type Output = ();
    fn label(&self) -> String {
        "a job that panics".into()
    }
    fn run(&self, _: &JobContext) -> Result<(), crate::engine::EngineError> {
        let v: Vec<u8> = Vec::new();
        let i = v.len() + 3;
        // An index out of bounds, as a bug would make.
        let _ = v[i];
        Ok(())
    }
}

#[test]
fn a_job_that_panics_is_an_error_message_and_the_sets_stay_open_and_saved() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut app = app_with_settings(dir.path());
    app.apply(Command::OpenPath(fixture("pair_a.vec")));
    app.apply(Command::OpenPath(fixture("pair_b.vec")));
    settle(&mut app);
    app.apply(Command::Select { row: 2, add: false });
    let before = app.session();
    let t = Instant::now();
    app.start(Panics, JobKind::Load, Some(0), |_, _, ()| {});
    settle(&mut app);
    assert!(t.elapsed() < Duration::from_secs(60));
    assert_eq!(app.datasets.len(), 2);
    let n = app.notifications.last().expect("a message");
    assert_eq!(n.level, Severity::Error);
    assert!(n.title.contains("a job that panics"), "{}", n.title);
    assert!(n.details.contains("index out of bounds"), "{}", n.details);
    // Everything still works, and the autosave holds the sets and the selection.
    assert_eq!(app.session(), before);
    app.autosave_tick();
    let saved = Session::load(&app.autosave.file().expect("on")).expect("autosave");
    assert_eq!(saved, before);
    app.apply(Command::Search("king".into(), SearchMode::Exact));
    assert!(!app.active_dataset().expect("open").selection.is_empty());
}

/// A run is its process id and start time: a file whose id a later process took (here this
/// test's own id, with another start) is still offered; the file of a run that still runs (the
/// init process, with its own start) is not; this run's own file is not.
#[test]
fn a_reused_process_id_does_not_hide_a_crashed_runs_file() {
    let me = std::process::id();
    let start = crate::formats::process_start(me);
    if cfg!(target_os = "linux") {
        assert!(start.is_some(), "Linux gives start times");
    }
    let Some(my_start) = start else {
        // No start times on this system: the id alone names a run.
        return;
    };
    assert!(crate::formats::run_alive(me, Some(my_start)));
    assert!(!crate::formats::run_alive(me, Some(my_start + 1)));
    assert!(!crate::formats::run_alive(GONE, None));
    let dir = tempfile::tempdir().expect("tmp");
    let mut first = app_with_settings(dir.path());
    first.apply(Command::OpenPath(fixture("pair_a.vec")));
    settle(&mut first);
    first.autosave_tick();
    let own = first.autosave.file().expect("on");
    assert_eq!(
        own.file_name().and_then(|n| n.to_str()),
        Some(format!("{me}-{my_start}.session.json").as_str())
    );
    let session = Session::load(&own).expect("autosave");
    let d = dir.path().join("autosave");
    let reused = d.join(format!("{me}-{}.session.json", my_start + 1));
    session.save(&reused).expect("save");
    let init_start = crate::formats::process_start(1).expect("init runs");
    let running = d.join(format!("1-{init_start}.session.json"));
    session.save(&running).expect("save");
    let mut app = App::new(Settings::default(), Some(dir.path().join("settings.json")));
    app.start_autosave();
    let offer = app.autosave.offer.as_ref().expect("offered");
    assert_eq!(offer.file, reused);
    assert!(own.exists() && running.exists());
}
