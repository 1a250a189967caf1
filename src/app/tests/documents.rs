//! Document and word sets encoded from a corpus: texts listed instead of ids, text search,
//! occurrences kept with their words (never a version), word tools said to be for words.

use std::path::PathBuf;

use super::*;
use crate::core::RowKind;
use crate::engine::jobs::EncodeSpec;

fn spec(corpus: PathBuf, level: crate::engine::encode::Level) -> EncodeSpec {
    EncodeSpec {
        model: PathBuf::from("tests/fixtures/encoder/tiny-bert"),
        corpus,
        corpus_options: Default::default(),
        level,
        backend: crate::engine::device::BackendChoice::Cpu,
        pooling: None,
        prompt: crate::model::PromptChoice::FolderDefault,
        truncate_dim: None,
        batch_size: 8,
    }
}

#[test]
fn documents_are_listed_by_text_and_searched_by_text() {
    let dir = tempfile::tempdir().expect("tmp");
    let corpus = dir.path().join("c.jsonl");
    let long = "refund ".repeat(60);
    std::fs::write(
        &corpus,
        format!(
            "{{\"text\": \"the cat sat\", \"source\": \"a\"}}\n\
             {{\"text\": \"{long}please\", \"source\": \"b\"}}\n\
             {{\"text\": \"A Refunded order\", \"source\": \"b\"}}\n"
        ),
    )
    .expect("write");
    let mut app = App::new(Settings::default(), None);
    app.apply(Command::Encode(spec(
        corpus,
        crate::engine::encode::Level::Sentence,
    )));
    settle(&mut app);
    let d = app.active_dataset().expect("encoded");
    assert_eq!(d.kind, RowKind::Documents);
    assert_eq!(d.label(0, 40), "the cat sat");
    assert_eq!(
        d.text(1).map(str::len),
        Some(long.len() + 6),
        "full text kept"
    );
    assert!(d.label(1, 20).ends_with('…'));
    // Text search: substring ignoring case, whole words, regex; bad regex is an error.
    app.apply(Command::Search("REFUND".into(), SearchMode::Substring));
    assert_eq!(app.search.matches, [1, 2]);
    app.apply(Command::Search("refund".into(), SearchMode::WholeWord));
    assert_eq!(app.search.matches, [1]);
    app.apply(Command::Search("^the".into(), SearchMode::Regex));
    assert_eq!(app.search.matches, [0]);
    app.apply(Command::Search("([".into(), SearchMode::Regex));
    assert!(app.search.matches.is_empty() && app.search.error.is_some());
    let spans = match_ranges(
        "A Refunded order, refund",
        "refund",
        SearchMode::Substring,
        10,
    );
    assert_eq!(spans, [(2, 8), (18, 24)]);
}

#[test]
fn occurrences_stay_with_their_words_and_are_never_a_version() {
    let dir = tempfile::tempdir().expect("tmp");
    let corpus = dir.path().join("c.txt");
    std::fs::write(&corpus, "the bank of the river\nthe bank was shut\n").expect("write");
    let mut app = App::new(Settings::default(), None);
    app.apply(Command::Encode(spec(
        corpus.clone(),
        crate::engine::encode::Level::Word,
    )));
    settle(&mut app);
    assert_eq!(app.datasets.len(), 1, "the occurrences are not a data set");
    let d = app.active_dataset().expect("encoded");
    assert_eq!(d.kind, RowKind::Words);
    let occ = d.occurrences.as_ref().expect("occurrences kept");
    let bank = occ.of("bank");
    assert_eq!(bank.len(), 2);
    for &r in bank {
        let (text, span) = occ.context(r as usize);
        let (a, b) = span.expect("span");
        assert_eq!(&text[a..b], "bank");
    }
    // Written to files by the CLI's layout, the words reopen with their occurrences, and the
    // occurrences file opened alone joins them instead of becoming a version.
    let words = dir.path().join("w.npy");
    let occ_path = crate::engine::jobs::occurrences_path(&words).expect("path");
    let mut types = (*d.set).clone();
    types.provenance.format = "embedded:word".into();
    let mut o = (*occ.set).clone();
    o.provenance = crate::engine::encode::occurrences_provenance(&types.provenance);
    crate::formats::save(&types, &words, None).expect("save words");
    crate::formats::save(&o, &occ_path, None).expect("save occurrences");
    for (path, set) in [(&words, &types), (&occ_path, &o)] {
        crate::formats::write_sidecar(
            path,
            crate::formats::Format::Npy,
            &set.provenance,
            set.rows(),
            set.dim(),
        )
        .expect("record");
    }
    let mut app = App::new(Settings::default(), None);
    app.apply(Command::OpenPath(words.clone()));
    settle(&mut app);
    assert_eq!(app.datasets.len(), 1);
    let d = app.active_dataset().expect("opened");
    assert_eq!(
        d.occurrences.as_ref().map(|o| o.of("bank").len()),
        Some(2),
        "occurrences read from beside the words"
    );
    app.apply(Command::OpenPath(occ_path.clone()));
    settle(&mut app);
    assert_eq!(app.datasets.len(), 1, "joined the open words");
    // Opened alone (no words open), it is a set of its own, but compare refuses it.
    let mut app = App::new(Settings::default(), None);
    app.apply(Command::OpenPath(occ_path));
    settle(&mut app);
    app.apply(Command::OpenPath(words));
    settle(&mut app);
    let kinds: Vec<RowKind> = app.datasets.iter().map(|d| d.kind).collect();
    assert!(kinds.contains(&RowKind::Occurrences), "{kinds:?}");
    let n = app.notifications.len();
    app.apply(Command::StartCompare(vec![0, 1]));
    assert!(app.compare.is_none());
    assert!(
        app.notifications[n..]
            .iter()
            .any(|x| x.title.contains("not a version")),
        "{:?}",
        app.notifications
            .iter()
            .map(|n| &n.title)
            .collect::<Vec<_>>()
    );
}
