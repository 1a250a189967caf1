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

#[test]
fn a_search_by_meaning_ranks_with_the_sets_own_model_and_asks_for_one_when_it_cannot() {
    use crate::analysis::knn::KnnIndex;
    use crate::engine::semantic::{self, QueryEncoder};
    let dir = tempfile::tempdir().expect("tmp");
    let corpus = dir.path().join("c.jsonl");
    let docs = [
        "my refund never arrived",
        "the parcel came late and broken",
        "how do I reset my password",
        "great service, thank you",
        "I want my money back for this order",
        "the app crashes when I log in",
        "delivery was fast",
        "charged twice on my card",
    ];
    let lines: String = docs
        .iter()
        .map(|t| format!("{{\"text\": \"{t}\"}}\n"))
        .collect();
    std::fs::write(&corpus, lines).expect("write");
    let mut app = App::new(Settings::default(), None);
    app.apply(Command::Encode(spec(
        corpus,
        crate::engine::encode::Level::Sentence,
    )));
    settle(&mut app);
    assert_eq!(
        app.active_dataset().expect("encoded").kind,
        RowKind::Documents
    );
    app.apply(Command::SetSearchK(5));
    app.apply(Command::Search(
        "money back please".into(),
        SearchMode::Meaning,
    ));
    assert!(app.search.meaning_job.is_some(), "runs on the worker");
    settle(&mut app);
    assert!(app.search.error.is_none(), "{:?}", app.search.error);
    // The same rows and scores as encoding the query with the recorded folder and ranking
    // every row by cosine.
    let set = app.active_dataset().expect("set").set.clone();
    let dev = crate::engine::device::select(crate::engine::device::BackendChoice::Cpu)
        .expect("cpu")
        .0;
    let qe = QueryEncoder::for_set(&set, None, &dev).expect("recorded folder");
    let direct = |query: &str| -> Vec<(usize, f32)> {
        let v = qe.encode(query).expect("encode");
        semantic::rank(&KnnIndex::new(&set), &v, 5)
            .expect("rank")
            .into_iter()
            .map(|n| (n.index, n.score))
            .collect()
    };
    let same = |got: &[(usize, f32)], want: &[(usize, f32)]| {
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert_eq!(g.0, w.0, "{got:?} vs {want:?}");
            assert!((g.1 - w.1).abs() < 1e-6, "{g:?} vs {w:?}");
        }
    };
    let want = direct("money back please");
    same(&app.search.ranked, &want);
    let mut rows: Vec<usize> = want.iter().map(|w| w.0).collect();
    rows.sort_unstable();
    assert_eq!(app.search.matches, rows, "the map highlights the hits");
    assert!(
        app.search.notes.iter().any(|n| n.contains("sha256 match")),
        "{:?}",
        app.search.notes
    );
    let generation = app.search.generation;
    // The next query reuses the loaded model.
    app.apply(Command::Search("password".into(), SearchMode::Meaning));
    settle(&mut app);
    assert_eq!(app.search.seconds.map(|s| s[0]), Some(0.0), "model kept");
    same(&app.search.ranked, &direct("password"));
    assert!(app.search.generation > generation);
    // Text modes clear the ranking.
    app.apply(Command::Search("refund".into(), SearchMode::Substring));
    assert!(app.search.ranked.is_empty());
    assert_eq!(app.search.matches, [0]);

    // A folder with other weights: said, nothing ranked, a folder asked for.
    app.apply(Command::Search("refund".into(), SearchMode::Meaning));
    settle(&mut app);
    app.apply(Command::SetSearchModel(Some(PathBuf::from(
        "tests/fixtures/encoder/tiny-roberta",
    ))));
    settle(&mut app);
    let e = app.search.error.as_ref().expect("refused").to_string();
    assert!(
        e.contains("other weights") && e.contains("tiny-roberta"),
        "{e}"
    );
    assert!(app.search.model_problem && app.search.ranked.is_empty());
    // A folder that is not there.
    app.apply(Command::SetSearchModel(Some(dir.path().join("nowhere"))));
    settle(&mut app);
    let e = app.search.error.as_ref().expect("refused").to_string();
    assert!(e.contains("nowhere") && e.contains("not a folder"), "{e}");
    // Back to the set's own folder: ranked again.
    app.apply(Command::SetSearchModel(None));
    settle(&mut app);
    assert!(app.search.error.is_none() && !app.search.model_problem);
    same(&app.search.ranked, &direct("refund"));

    // A set whose record names no model: says so and asks for the folder.
    let mut plain = (*app.active_dataset().expect("set").set).clone();
    plain.provenance = Default::default();
    app.datasets
        .push(crate::app::Dataset::new("plain".into(), Arc::new(plain)));
    app.apply(Command::SetActive(1));
    app.apply(Command::SetSearchModel(None));
    app.apply(Command::Search("refund".into(), SearchMode::Meaning));
    settle(&mut app);
    assert!(app.search.model_problem);
    assert!(
        app.search
            .error
            .as_ref()
            .is_some_and(|e| e.to_string().contains("records no model folder")),
        "{:?}",
        app.search.error
    );
    // Given the folder, it ranks (the sha256 cannot be checked: said in the notes).
    app.apply(Command::SetSearchModel(Some(PathBuf::from(
        "tests/fixtures/encoder/tiny-bert",
    ))));
    settle(&mut app);
    assert_eq!(app.search.ranked.len(), 5);
    assert!(
        app.search
            .notes
            .iter()
            .any(|n| n.contains("could not be checked")),
        "{:?}",
        app.search.notes
    );
}
