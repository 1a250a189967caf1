//! The privacy scan of an opened set (a job), its badge and findings, the redaction switch
//! (on by default with findings) and every export it masks: the row exports (CSV, JSONL,
//! Parquet), the selection and neighbour CSVs, the report's plan.

use std::path::Path;

use super::*;
use crate::app::export::{ExportFormat, ExportRows};
use crate::app::privacy::PrivacyCommand;
use crate::app::table::TableCommand;
use crate::core::{MetaColumn, Metadata, Provenance, Vocab};

const EMAIL: &str = "john.smith@example.com";
const CARD: &str = "4111 1111 1111 1111";
const PHONE: &str = "+44 20 7946 0958";
const TOKEN_SSN: &str = "536-22-1234";

/// 40 documents: rows 3, 13, 23, 33 quote an e-mail address in their text, row 5 a card
/// number; the `owner` column holds a phone number on row 7; row 9's token is an SSN.
fn planted(n: usize) -> EmbeddingSet {
    let text = (0..n)
        .map(|i| match i % 10 {
            3 => format!("ticket {i}: write to {EMAIL} please"),
            5 if i == 5 => format!("ticket {i}: paid with {CARD}"),
            _ => format!("ticket {i}: the parcel is late"),
        })
        .collect();
    let owner = (0..n)
        .map(|i| {
            if i == 7 {
                PHONE.to_string()
            } else {
                format!("team {}", i % 3)
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
    meta.push(
        MetaColumn {
            name: "owner".into(),
            values: owner,
        },
        n,
    )
    .expect("owner");
    let data: Vec<f32> = (0..n * 4)
        .map(|k| ((k * 7919 % 1009) as f32 / 1009.0) - 0.5)
        .collect();
    let tokens = (0..n).map(|i| {
        if i == 9 {
            TOKEN_SSN.to_string()
        } else {
            format!("d{i}")
        }
    });
    EmbeddingSet::new(
        Vocab::from_unique(tokens).expect("vocab"),
        crate::core::Matrix::from_vec(n, 4, data).expect("matrix"),
        meta,
        Provenance {
            source: "tickets.npy".into(),
            ..Provenance::default()
        },
    )
    .expect("set")
}

fn clean(n: usize) -> EmbeddingSet {
    let data: Vec<f32> = (0..n * 4).map(|k| (k % 13) as f32 * 0.1 - 0.6).collect();
    EmbeddingSet::new(
        Vocab::from_unique((0..n).map(|i| format!("w{i}"))).expect("vocab"),
        crate::core::Matrix::from_vec(n, 4, data).expect("matrix"),
        Metadata::default(),
        Provenance {
            source: "clean.vec".into(),
            ..Provenance::default()
        },
    )
    .expect("set")
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).expect("read export")
}

#[test]
fn an_opened_set_is_scanned_on_the_worker_and_shows_its_findings() {
    let mut app = App::new(Settings::default(), None);
    app.add_dataset(Arc::new(clean(30)));
    // The scan runs as a job of its own, for that set.
    assert!(
        app.jobs
            .iter()
            .any(|j| j.kind == JobKind::Privacy && j.dataset == Some(0))
    );
    settle(&mut app);
    let d = &app.datasets[0];
    assert!(d.pii.job.is_none());
    assert_eq!(d.pii.findings.as_ref().map(|f| f.total()), Some(0));
    assert_eq!(d.pii.badge(), None);
    assert!(!app.any_findings() && !app.redact_exports());

    app.add_dataset(Arc::new(planted(40)));
    settle(&mut app);
    let d = &app.datasets[1];
    let f = d.pii.findings.clone().expect("scanned");
    // 4 e-mail addresses, a card, a phone number, an SSN token.
    assert_eq!(f.total(), 7);
    assert_eq!(d.pii.badge_text().as_deref(), Some("PII 7"));
    use crate::analysis::privacy::Kind;
    assert_eq!(f.counts.get(Kind::Email), 4);
    assert_eq!(f.counts.get(Kind::PaymentCard), 1);
    assert_eq!(f.counts.get(Kind::Phone), 1);
    assert_eq!(f.counts.get(Kind::UsSsn), 1);
    assert_eq!(f.columns, ["token", "text", "owner"]);
    let per: Vec<u64> = f.per_column.iter().map(|c| c.total()).collect();
    assert_eq!(per, [1, 5, 1]);
    assert!(!f.capped() && f.rows_scanned == 40);
    let listed: Vec<(u32, &str, Kind, &str)> = f
        .listed
        .iter()
        .map(|x| (x.row, f.column_name(x.column), x.kind, x.masked.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            (3, "text", Kind::Email, "j***@e***.com"),
            (5, "text", Kind::PaymentCard, "**** **** **** 1111"),
            (7, "owner", Kind::Phone, "+** ** **** **58"),
            (9, "token", Kind::UsSsn, "***-**-****"),
            (13, "text", Kind::Email, "j***@e***.com"),
            (23, "text", Kind::Email, "j***@e***.com"),
            (33, "text", Kind::Email, "j***@e***.com"),
        ]
    );
    // With findings open, exports mask by default; the user's choice holds.
    assert!(app.any_findings() && app.redact_exports());
    app.apply(Command::Privacy(PrivacyCommand::SetRedact(false)));
    assert!(!app.redact_exports());
    app.apply(Command::Privacy(PrivacyCommand::SetRedact(true)));
    assert!(app.redact_exports());

    // A finding clicked: its set active, its row selected.
    app.apply(Command::SetActive(0));
    app.apply(Command::Privacy(PrivacyCommand::ShowFinding {
        dataset: 1,
        row: 7,
    }));
    assert_eq!(app.active, Some(1));
    assert_eq!(app.datasets[1].selection, [7]);

    // Closing the clean set moves the scanned one; its findings stay with it.
    app.apply(Command::CloseDataset(0));
    assert_eq!(app.datasets[0].pii.badge(), Some(7));
}

fn export(app: &mut App, path: &Path, format: ExportFormat, rows: ExportRows) {
    app.apply(Command::Table(TableCommand::Export {
        path: path.to_path_buf(),
        format,
        rows,
    }));
    settle(app);
    let errors: Vec<&Notification> = app
        .notifications
        .iter()
        .filter(|n| n.level == Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
}

fn parquet_text(path: &Path) -> String {
    let file = std::fs::File::open(path).expect("open");
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .expect("parquet")
        .build()
        .expect("reader");
    let mut out = String::new();
    for batch in reader {
        let b = batch.expect("batch");
        for name in ["token", "text", "owner"] {
            let col = b
                .column_by_name(name)
                .and_then(|c| c.as_any().downcast_ref::<arrow_array::StringArray>())
                .expect("a text column");
            for k in 0..b.num_rows() {
                out.push_str(col.value(k));
                out.push('\n');
            }
        }
    }
    out
}

#[test]
fn every_export_masks_when_redaction_is_on_and_keeps_the_values_when_off() {
    let mut app = App::new(Settings::default(), None);
    app.add_dataset(Arc::new(planted(40)));
    settle(&mut app);
    let dir = tempfile::tempdir().expect("tmp");
    app.apply(Command::SelectRows {
        rows: vec![3, 5, 7, 9],
        add: false,
    });
    app.apply(Command::SetK(5));
    app.apply(Command::Select { row: 9, add: true });
    let raw = [EMAIL, CARD, PHONE, TOKEN_SSN];
    for on in [true, false] {
        app.apply(Command::Privacy(PrivacyCommand::SetRedact(on)));
        let tag = if on { "on" } else { "off" };
        let mut texts = Vec::new();
        for format in ExportFormat::ALL {
            let p = dir
                .path()
                .join(format!("rows_{tag}.{}", format.extension()));
            export(&mut app, &p, format, ExportRows::Filtered);
            texts.push((
                format.name().to_string(),
                match format {
                    ExportFormat::Parquet => parquet_text(&p),
                    _ => read(&p),
                },
            ));
        }
        let sel = dir.path().join(format!("selection_{tag}.csv"));
        app.apply(Command::ExportSelectionCsv(sel.clone()));
        texts.push(("selection".into(), read(&sel)));
        let nb = dir.path().join(format!("neighbours_{tag}.csv"));
        app.apply(Command::ExportNeighboursCsv(nb.clone()));
        let neighbours = read(&nb);
        // The inspected row is the SSN token: it is the query of every line.
        assert_eq!(neighbours.lines().count(), 6, "{neighbours}");
        texts.push(("neighbours".into(), neighbours));
        for (what, text) in &texts {
            for v in raw {
                // The neighbour list holds the query token only.
                if what == "neighbours" && v != TOKEN_SSN {
                    continue;
                }
                assert_eq!(
                    text.contains(v),
                    !on,
                    "{what} with redaction {tag}: {v} in {text}"
                );
            }
            if on {
                assert!(text.contains("***-**-****"), "{what}: {text}");
            }
        }
        // The report the dialog would write follows the same switch (and says so on its
        // command line).
        app.apply(Command::Report(crate::app::report::ReportCommand::SetPath(
            dir.path().join("r.json").display().to_string(),
        )));
        app.add_dataset(Arc::new(clean(40)));
        settle(&mut app);
        let plan = app.report_check().plan.expect("a plan");
        assert_eq!(plan.options.redact, on);
        assert_eq!(plan.options.command.contains("--redact"), on);
        let last = app.datasets.len() - 1;
        app.apply(Command::CloseDataset(last));
        app.apply(Command::SetActive(0));
        app.apply(Command::Select { row: 9, add: true });
    }
}

#[test]
fn the_demo_set_is_scanned_whole() {
    let app = demo_app();
    let f = app.datasets[0].pii.findings.clone().expect("scanned");
    assert_eq!(f.rows_scanned, f.rows);
    assert!(f.rows > 50_000 && !f.capped());
    // The time is recorded in BENCHMARKS.md (run with --nocapture).
    eprintln!(
        "privacy scan of the demo: {} rows, {} bytes, {:.4} s, {} findings",
        f.rows,
        f.bytes,
        f.seconds,
        f.total()
    );
}

#[test]
fn the_cap_scans_the_first_rows_and_says_so() {
    let set = planted(40);
    // Room for about 10 rows' text.
    let per_row: u64 = (0..10)
        .map(|r| {
            (set.vocab.token(r).len()
                + set
                    .metadata
                    .columns()
                    .iter()
                    .map(|c| c.values[r].len())
                    .sum::<usize>()) as u64
        })
        .sum();
    let f = crate::engine::jobs::scan_set(&set, per_row, &|_| {}, &|| false).expect("scanned");
    assert_eq!(f.rows_scanned, 10);
    assert!(f.capped());
    // Rows 3, 5, 7, 9 hold one finding each.
    assert_eq!(f.total(), 4);
    assert!(crate::engine::jobs::scan_set(&set, u64::MAX, &|_| {}, &|| true).is_none());
}

/// The redaction switch is a setting: saved when the user sets it, and the next start follows
/// it even with no findings open (never set: on only with findings).
#[test]
fn the_redaction_switch_is_saved_and_followed_at_the_next_start() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("settings.json");
    let mut app = App::new(Settings::default(), Some(p.clone()));
    assert!(!app.redact_exports(), "nothing open, never set");
    app.apply(Command::Privacy(PrivacyCommand::SetRedact(true)));
    let (s, msg) = Settings::load(&p);
    assert!(msg.is_none(), "{msg:?}");
    assert_eq!(s.redact, Some(true));
    let mut next = App::new(s, Some(p.clone()));
    assert!(
        next.redact_exports(),
        "the saved choice, with no findings open"
    );
    next.apply(Command::Privacy(PrivacyCommand::SetRedact(false)));
    assert_eq!(Settings::load(&p).0.redact, Some(false));
    // An older settings file without the field: never set.
    std::fs::write(&p, "{\"dark\": true}").expect("write");
    assert_eq!(Settings::load(&p).0.redact, None);
}
