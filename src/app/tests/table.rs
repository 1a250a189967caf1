//! The document table, the metadata cross-filter and row exports: filter commands keep the
//! rows a direct count keeps, an empty result, clearing one filter and all; what the table
//! lists while the user picks rows; sorting; the text column picker; exports of the filtered
//! rows and of the selection in each format read back; an export that cannot be written.

use std::path::Path;

use super::*;
use crate::app::export::{ExportFormat, ExportRows};
use crate::app::filter::Bucket;
use crate::app::table::{
    FilterSlot, Listing, SortColumn, TableCommand, count, kept_summary, listed_rows, row_text,
    sort_rows,
};
use crate::core::{MetaColumn, Metadata, Provenance, Vocab};

const N: usize = 200;

fn source(i: usize) -> String {
    if i.is_multiple_of(7) {
        String::new()
    } else {
        ["a", "b", "c"][i % 3].to_string()
    }
}

fn score(i: usize) -> f64 {
    (i * 37 % 101) as f64 * 0.5
}

fn text(i: usize) -> String {
    match i {
        4 => "line one, with a comma\nline \"two\"\r\nthree".to_string(),
        _ => format!("document {i} about {}", ["cats", "dogs", "refunds"][i % 3]),
    }
}

fn column(name: &str, values: Vec<String>) -> MetaColumn {
    MetaColumn {
        name: name.into(),
        values,
    }
}

/// `n` documents with a text, a categorical (with blanks) and a numeric column.
fn documents(n: usize) -> EmbeddingSet {
    let mut meta = Metadata::new();
    meta.push(column("text", (0..n).map(text).collect()), n)
        .expect("text");
    meta.push(column("source", (0..n).map(source).collect()), n)
        .expect("source");
    meta.push(
        column("score", (0..n).map(|i| score(i).to_string()).collect()),
        n,
    )
    .expect("score");
    let data: Vec<f32> = (0..n * 3)
        .map(|k| ((k * 7919 % 1009) as f32 / 1009.0) - 0.5)
        .collect();
    let provenance = Provenance {
        source: "docs.npy".into(),
        ..Provenance::default()
    };
    EmbeddingSet::new(
        Vocab::from_unique((0..n).map(|i| format!("d{i}"))).expect("vocab"),
        crate::core::Matrix::from_vec(n, 3, data).expect("matrix"),
        meta,
        provenance,
    )
    .expect("set")
}

fn app_with(set: EmbeddingSet) -> App {
    let mut app = App::new(Settings::default(), None);
    app.add_dataset(Arc::new(set));
    settle(&mut app);
    app
}

fn table(app: &mut App, c: TableCommand) {
    app.apply(Command::Table(c));
}

fn errors(app: &App) -> Vec<String> {
    app.notifications
        .iter()
        .filter(|n| n.level == Severity::Error)
        .map(|n| format!("{}: {}", n.title, n.details))
        .collect()
}

#[test]
fn filter_commands_keep_what_a_direct_count_keeps() {
    let mut app = app_with(documents(N));
    table(&mut app, TableCommand::BuildFilter);
    let d = app.active_dataset().expect("set");
    let cf = d
        .table
        .cross_filter()
        .expect("built on the UI thread (small set)");
    // The text column is no chart.
    assert_eq!(cf.column_index("text"), None);
    let src = cf.column_index("source").expect("source chart");
    let sc = cf.column_index("score").expect("score chart");
    let v0 = d.table.version;
    assert_eq!(kept_summary(d), "200 of 200 rows");

    table(
        &mut app,
        TableCommand::SetCategoryFilter {
            column: src,
            values: vec!["a".into(), "b".into()],
            other: false,
            missing: false,
        },
    );
    table(
        &mut app,
        TableCommand::SetRangeFilter {
            column: sc,
            lo: 10.0,
            hi: 40.0,
        },
    );
    assert!(errors(&app).is_empty(), "{:?}", errors(&app));
    let d = app.active_dataset().expect("set");
    assert_ne!(d.table.version, v0);
    let in_range = |i: usize| (10.0..=40.0).contains(&score(i));
    let direct: Vec<u32> = (0..N)
        .filter(|&i| ["a", "b"].contains(&source(i).as_str()) && in_range(i))
        .map(|i| i as u32)
        .collect();
    assert!(!direct.is_empty());
    assert_eq!(listed_rows(d), direct, "the table lists the kept rows");
    let cf = d.table.cross_filter().expect("filter");
    assert_eq!(cf.view().kept, direct.len());
    assert_eq!(kept_summary(d), format!("{} of 200 rows", direct.len()));
    // The source chart counts under the other filter (the range) only.
    let chart = cf.chart(src).expect("chart");
    for (b, bucket) in chart.buckets.iter().enumerate() {
        let want = (0..N)
            .filter(|&i| in_range(i))
            .filter(|&i| match bucket {
                Bucket::Category(c) => source(i) == *c,
                Bucket::Missing => source(i).is_empty(),
                _ => false,
            })
            .count() as u64;
        assert_eq!(cf.view().counts[src][b], want, "bucket {bucket:?}");
        let total = (0..N)
            .filter(|&i| match bucket {
                Bucket::Category(c) => source(i) == *c,
                Bucket::Missing => source(i).is_empty(),
                _ => false,
            })
            .count() as u64;
        assert_eq!(chart.totals[b], total);
    }

    // An empty result is a valid state.
    table(
        &mut app,
        TableCommand::SetRangeFilter {
            column: sc,
            lo: 1e9,
            hi: 2e9,
        },
    );
    let d = app.active_dataset().expect("set");
    assert!(listed_rows(d).is_empty());
    assert_eq!(kept_summary(d), "0 of 200 rows");
    assert!(errors(&app).is_empty());

    // Clear one: the category filter remains.
    table(&mut app, TableCommand::ClearFilter(sc));
    let d = app.active_dataset().expect("set");
    let ab = (0..N)
        .filter(|&i| ["a", "b"].contains(&source(i).as_str()))
        .count();
    assert_eq!(listed_rows(d).len(), ab);
    // Clear all.
    table(&mut app, TableCommand::ClearFilters);
    let d = app.active_dataset().expect("set");
    assert!(d.table.kept().is_none());
    assert_eq!(listed_rows(d).len(), N);

    // A range on a categorical column is refused with a message, nothing changes.
    table(
        &mut app,
        TableCommand::SetRangeFilter {
            column: src,
            lo: 0.0,
            hi: 1.0,
        },
    );
    assert_eq!(errors(&app).len(), 1, "{:?}", errors(&app));
    assert_eq!(listed_rows(app.active_dataset().expect("set")).len(), N);
}

#[test]
fn the_table_keeps_its_list_while_rows_are_picked_from_it() {
    let mut app = app_with(documents(N));
    let d = app.active_dataset().expect("set");
    assert_eq!(d.table.listing(&d.selection), Listing::Kept);
    // A row picked from the full list: selected, the list stays.
    table(&mut app, TableCommand::Pick { row: 9, add: false });
    let d = app.active_dataset().expect("set");
    assert_eq!(d.selection, [9]);
    assert_eq!(d.primary(), Some(9));
    assert_eq!(d.table.listing(&d.selection), Listing::Kept);
    assert_eq!(listed_rows(d).len(), N);
    // A selection made on the map: the table lists it.
    app.apply(Command::SelectRows {
        rows: vec![5, 1, 30],
        add: false,
    });
    let d = app.active_dataset().expect("set");
    assert_eq!(listed_rows(d), [5, 1, 30]);
    // Picking one of those keeps listing the three.
    table(&mut app, TableCommand::Pick { row: 1, add: false });
    let d = app.active_dataset().expect("set");
    assert_eq!(d.selection, [1]);
    assert_eq!(listed_rows(d), [5, 1, 30]);
    table(&mut app, TableCommand::Pick { row: 30, add: true });
    let d = app.active_dataset().expect("set");
    assert_eq!(d.selection, [1, 30]);
    assert_eq!(listed_rows(d), [5, 1, 30]);
    // Clicking a point on the map lists that point.
    app.apply(Command::Select { row: 7, add: false });
    assert_eq!(listed_rows(app.active_dataset().expect("set")), [7]);
    app.apply(Command::ClearSelection);
    assert_eq!(listed_rows(app.active_dataset().expect("set")).len(), N);
}

#[test]
fn sorting_orders_numbers_numerically_and_blanks_last() {
    let app = app_with(documents(N));
    let d = app.active_dataset().expect("set");
    let mut rows: Vec<u32> = (0..N as u32).collect();
    sort_rows(d, &mut rows, SortColumn::Meta(2), false);
    let scores: Vec<f64> = rows.iter().map(|&r| score(r as usize)).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    // Ties by row.
    for w in rows.windows(2) {
        if score(w[0] as usize) == score(w[1] as usize) {
            assert!(w[0] < w[1]);
        }
    }
    for ascending in [true, false] {
        sort_rows(d, &mut rows, SortColumn::Meta(1), ascending);
        let blanks = (0..N).filter(|i| source(*i).is_empty()).count();
        assert!(
            rows[N - blanks..]
                .iter()
                .all(|&r| source(r as usize).is_empty())
        );
        let named: Vec<String> = rows[..N - blanks]
            .iter()
            .map(|&r| source(r as usize))
            .collect();
        let mut want = named.clone();
        want.sort();
        if !ascending {
            want.reverse();
        }
        assert_eq!(named, want);
    }
    sort_rows(d, &mut rows, SortColumn::Row, false);
    assert_eq!(rows[0], N as u32 - 1);
    sort_rows(d, &mut rows, SortColumn::Id, true);
    assert_eq!(&rows[..3], [0, 1, 10], "ids as text");
    assert_eq!(count(1_234_567), "1,234,567");
    assert_eq!(count(999), "999");
}

#[test]
fn a_set_without_a_text_column_reads_the_column_picked() {
    let n = 20;
    let mut meta = Metadata::new();
    meta.push(
        column(
            "definition",
            (0..n).map(|i| format!("meaning {i}")).collect(),
        ),
        n,
    )
    .expect("column");
    let set = EmbeddingSet::new(
        Vocab::from_unique((0..n).map(|i| format!("w{i}"))).expect("vocab"),
        crate::core::Matrix::from_vec(n, 2, (0..2 * n).map(|k| k as f32).collect())
            .expect("matrix"),
        meta,
        Provenance::default(),
    )
    .expect("set");
    let mut app = app_with(set);
    assert_eq!(row_text(app.active_dataset().expect("set"), 3), None);
    table(&mut app, TableCommand::SetTextColumn(Some("nope".into())));
    assert_eq!(errors(&app).len(), 1);
    table(
        &mut app,
        TableCommand::SetTextColumn(Some("definition".into())),
    );
    let d = app.active_dataset().expect("set");
    assert_eq!(row_text(d, 3), Some("meaning 3"));
    assert_eq!(d.text_column_override.as_deref(), Some("definition"));
    // The picked text column is no chart.
    table(&mut app, TableCommand::BuildFilter);
    let cf = app
        .active_dataset()
        .and_then(|d| d.table.cross_filter())
        .expect("filter");
    assert!(cf.is_empty());
    table(&mut app, TableCommand::SetTextColumn(None));
    assert_eq!(row_text(app.active_dataset().expect("set"), 3), None);
}

#[test]
fn a_large_set_builds_its_filter_on_the_worker() {
    let n = crate::app::table::FILTER_JOB_ROWS;
    let mut meta = Metadata::new();
    meta.push(
        column("part", (0..n).map(|i| format!("p{}", i % 5)).collect()),
        n,
    )
    .expect("column");
    let set = EmbeddingSet::new(
        Vocab::from_unique((0..n).map(|i| format!("w{i}"))).expect("vocab"),
        crate::core::Matrix::from_vec(n, 2, (0..2 * n).map(|k| (k % 97) as f32).collect())
            .expect("matrix"),
        meta,
        Provenance::default(),
    )
    .expect("set");
    let mut app = app_with(set);
    table(&mut app, TableCommand::BuildFilter);
    assert!(matches!(
        app.active_dataset().expect("set").table.filter,
        FilterSlot::Building(_)
    ));
    settle(&mut app);
    table(
        &mut app,
        TableCommand::SetCategoryFilter {
            column: 0,
            values: vec!["p3".into()],
            other: false,
            missing: false,
        },
    );
    let d = app.active_dataset().expect("set");
    assert_eq!(d.table.kept().map(|m| m.count()), Some(n / 5));
}

/// Filtered to source "b" (row 4, the multi-line text, among them), and rows 5, 1 selected.
fn filtered_app() -> (App, Vec<u32>) {
    let mut app = app_with(documents(N));
    app.apply(Command::SetColor(colors::ColorMode::Cluster));
    table(
        &mut app,
        TableCommand::SetCategoryFilter {
            column: 0,
            values: vec!["b".into()],
            other: false,
            missing: false,
        },
    );
    app.apply(Command::SelectRows {
        rows: vec![5, 1],
        add: false,
    });
    let want: Vec<u32> = (0..N as u32)
        .filter(|&i| source(i as usize) == "b")
        .collect();
    assert!(want.contains(&4));
    (app, want)
}

fn export(app: &mut App, path: &Path, format: ExportFormat, rows: ExportRows) {
    table(
        app,
        TableCommand::Export {
            path: path.to_path_buf(),
            format,
            rows,
        },
    );
    settle(app);
    assert!(errors(app).is_empty(), "{:?}", errors(app));
}

fn position(app: &App, row: u32) -> [f32; 2] {
    app.active_dataset()
        .and_then(|d| d.map.as_ref())
        .and_then(|m| m.position(row as usize))
        .expect("on the map")
}

#[test]
fn exports_of_the_filtered_rows_and_the_selection_read_back() {
    let (mut app, want) = filtered_app();
    let dir = tempfile::tempdir().expect("tmp");
    let clusters = app
        .active_dataset()
        .and_then(|d| d.clusters.clone())
        .expect("k-means clusters");

    // CSV of the filtered rows: quoted multi-line text, coordinates, clusters, metadata.
    let csv_path = dir.path().join("rows.csv");
    export(&mut app, &csv_path, ExportFormat::Csv, ExportRows::Filtered);
    let mut r = csv::Reader::from_path(&csv_path).expect("csv");
    let header: Vec<String> = r
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    assert_eq!(
        header,
        [
            "token", "row", "text", "x", "y", "cluster", "source", "score"
        ]
    );
    let records: Vec<csv::StringRecord> = r.records().map(|x| x.expect("record")).collect();
    assert_eq!(records.len(), want.len());
    for (rec, &row) in records.iter().zip(&want) {
        assert_eq!(&rec[0], format!("d{row}"));
        assert_eq!(rec[1].parse::<u32>().expect("row"), row);
        assert_eq!(&rec[2], text(row as usize));
        let p = position(&app, row);
        assert_eq!(rec[3].parse::<f32>().expect("x"), p[0]);
        assert_eq!(rec[4].parse::<f32>().expect("y"), p[1]);
        assert_eq!(
            rec[5].parse::<u32>().expect("cluster"),
            clusters[row as usize]
        );
        assert_eq!(&rec[6], "b");
        assert_eq!(rec[7].parse::<f64>().expect("score"), score(row as usize));
    }

    // JSONL of the selection, in selection order.
    let jsonl = dir.path().join("sel.jsonl");
    export(&mut app, &jsonl, ExportFormat::Jsonl, ExportRows::Selection);
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&jsonl)
        .expect("read")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 2);
    for (v, row) in lines.iter().zip([5u32, 1]) {
        assert_eq!(v["row"], row);
        assert_eq!(v["token"], format!("d{row}"));
        assert_eq!(v["text"], text(row as usize));
        let p = position(&app, row);
        assert_eq!(v["x"].as_f64().expect("x") as f32, p[0]);
        assert_eq!(v["y"].as_f64().expect("y") as f32, p[1]);
        assert_eq!(v["source"], source(row as usize));
    }

    // Parquet of the filtered rows.
    let pq = dir.path().join("rows.parquet");
    export(&mut app, &pq, ExportFormat::Parquet, ExportRows::Filtered);
    let file = std::fs::File::open(&pq).expect("open");
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .expect("parquet")
        .build()
        .expect("reader");
    let mut got_rows = Vec::new();
    for batch in reader {
        let b = batch.expect("batch");
        let rows = b
            .column_by_name("row")
            .and_then(|c| c.as_any().downcast_ref::<arrow_array::Int64Array>())
            .expect("row column");
        let texts = b
            .column_by_name("text")
            .and_then(|c| c.as_any().downcast_ref::<arrow_array::StringArray>())
            .expect("text column");
        let xs = b
            .column_by_name("x")
            .and_then(|c| c.as_any().downcast_ref::<arrow_array::Float32Array>())
            .expect("x column");
        for k in 0..b.num_rows() {
            let row = rows.value(k) as u32;
            assert_eq!(texts.value(k), text(row as usize));
            assert_eq!(xs.value(k), position(&app, row)[0]);
            got_rows.push(row);
        }
    }
    assert_eq!(got_rows, want);

    // Clusters of the map, named: their ids and names are exported.
    app.apply(Command::ClusterMap(
        crate::engine::jobs::ClusterMethod::Kmeans { k: 3, seed: 0 },
    ));
    settle(&mut app);
    let named = dir.path().join("named.jsonl");
    export(&mut app, &named, ExportFormat::Jsonl, ExportRows::Filtered);
    let d = app.active_dataset().expect("set");
    let (m, c) = (
        d.map.as_ref().expect("map"),
        d.map_clusters.as_ref().expect("clusters"),
    );
    let labels = c.row_labels(&m.point_of_row);
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&named)
        .expect("read")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), want.len());
    for (v, &row) in lines.iter().zip(&want) {
        let l = labels[row as usize];
        assert_eq!(v["cluster"], l);
        assert_eq!(v["cluster_label"], c.name(l).unwrap_or_default());
    }

    // Nothing selected: the selection export says so and writes nothing.
    app.apply(Command::ClearSelection);
    let none = dir.path().join("none.csv");
    table(
        &mut app,
        TableCommand::Export {
            path: none.clone(),
            format: ExportFormat::Csv,
            rows: ExportRows::Selection,
        },
    );
    settle(&mut app);
    assert_eq!(errors(&app).len(), 1);
    assert!(!none.exists());
}

#[test]
fn an_export_that_cannot_be_written_is_an_error_naming_the_file_and_loses_nothing() {
    use std::os::unix::fs::PermissionsExt;
    let (mut app, _) = filtered_app();
    let dir = tempfile::tempdir().expect("tmp");
    let ro = dir.path().join("read-only");
    std::fs::create_dir(&ro).expect("mkdir");
    let existing = ro.join("rows.csv");
    std::fs::write(&existing, "kept as it was\n").expect("write");
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    // Root writes into read-only folders: then a folder no one may create files in.
    let probe = ro.join("probe");
    let root = std::fs::write(&probe, "x").is_ok();
    let _ = std::fs::remove_file(&probe);
    let mut targets = vec![existing.clone(), ro.join("new.parquet")];
    if root {
        targets = vec![Path::new("/sys/embedscope-export-test.csv").to_path_buf()];
        if std::fs::write(&targets[0], "x").is_ok() {
            let _ = std::fs::remove_file(&targets[0]);
            eprintln!("no unwritable folder here: skipped");
            return;
        }
    }
    for (k, path) in targets.iter().enumerate() {
        let format = if k == 1 {
            ExportFormat::Parquet
        } else {
            ExportFormat::Csv
        };
        let before = app.notifications.len();
        table(
            &mut app,
            TableCommand::Export {
                path: path.clone(),
                format,
                rows: ExportRows::Filtered,
            },
        );
        settle(&mut app);
        let n = app.notifications.last().expect("a notification");
        assert_eq!(app.notifications.len(), before + 1);
        assert_eq!(n.level, Severity::Error);
        assert!(
            n.title.contains(&path.display().to_string()),
            "title names the file: {}",
            n.title
        );
    }
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    if !root {
        assert_eq!(
            std::fs::read_to_string(&existing).expect("read"),
            "kept as it was\n"
        );
        let names: Vec<_> = std::fs::read_dir(&ro)
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(
            names,
            [std::ffi::OsString::from("rows.csv")],
            "no partial file"
        );
    }
}

#[test]
fn sort_keys_order_negative_numbers_infinities_and_texts() {
    let values = ["-2", "10", "", "-inf", "3.5", "-0.5", "inf"];
    let n = values.len();
    let mut meta = Metadata::new();
    meta.push(
        column("v", values.iter().map(|s| s.to_string()).collect()),
        n,
    )
    .expect("column");
    meta.push(
        column(
            "w",
            ["pear", "", "apple", "pear", "fig", "Zed", "apple"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        ),
        n,
    )
    .expect("column");
    let set = EmbeddingSet::new(
        Vocab::from_unique((0..n).map(|i| format!("w{i}"))).expect("vocab"),
        crate::core::Matrix::from_vec(n, 2, (0..2 * n).map(|k| k as f32).collect())
            .expect("matrix"),
        meta,
        Provenance::default(),
    )
    .expect("set");
    let app = app_with(set);
    let d = app.active_dataset().expect("set");
    let mut rows: Vec<u32> = (0..n as u32).collect();
    sort_rows(d, &mut rows, SortColumn::Meta(0), true);
    assert_eq!(rows, [3, 0, 5, 4, 1, 6, 2]);
    sort_rows(d, &mut rows, SortColumn::Meta(0), false);
    assert_eq!(rows, [6, 1, 4, 5, 0, 3, 2]);
    // Text by bytes (upper case first), ties by row, blanks last.
    sort_rows(d, &mut rows, SortColumn::Meta(1), true);
    assert_eq!(rows, [5, 2, 6, 4, 0, 3, 1]);
    sort_rows(d, &mut rows, SortColumn::Meta(1), false);
    assert_eq!(rows, [0, 3, 4, 2, 6, 5, 1]);
}

#[test]
fn a_session_keeps_filters_clusters_colours_the_text_column_and_the_search() {
    use crate::app::session::{SavedFilter, Session};
    use crate::engine::jobs::ClusterMethod;
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("docs.npy");
    crate::formats::save(&documents(N), &file, None).expect("save");
    let mut app = App::new(Settings::default(), None);
    app.apply(Command::OpenPath(file.clone()));
    settle(&mut app);
    table(&mut app, TableCommand::SetTextColumn(Some("text".into())));
    table(&mut app, TableCommand::BuildFilter);
    let (src, sc) = {
        let cf = app
            .active_dataset()
            .and_then(|d| d.table.cross_filter())
            .expect("charts");
        (
            cf.column_index("source").expect("source"),
            cf.column_index("score").expect("score"),
        )
    };
    table(
        &mut app,
        TableCommand::SetCategoryFilter {
            column: src,
            values: vec!["a".into(), "c".into()],
            other: false,
            missing: true,
        },
    );
    table(
        &mut app,
        TableCommand::SetRangeFilter {
            column: sc,
            lo: 5.0,
            hi: 35.0,
        },
    );
    let method = ClusterMethod::Kmeans { k: 4, seed: 3 };
    app.apply(Command::ClusterMap(method.clone()));
    settle(&mut app);
    app.apply(Command::SetColor(ColorMode::Column("source".into())));
    app.apply(Command::Select { row: 9, add: false });
    app.apply(Command::Search("refunds".into(), SearchMode::WholeWord));
    assert!(errors(&app).is_empty(), "{:?}", errors(&app));
    let before = {
        let d = app.active_dataset().expect("set");
        let m = d.map.as_ref().expect("map");
        let c = d.map_clusters.as_ref().expect("clusters");
        (
            d.table
                .kept()
                .expect("filtered")
                .iter()
                .collect::<Vec<usize>>(),
            c.row_labels(&m.point_of_row),
            app.search.matches.clone(),
        )
    };
    assert!(!before.0.is_empty() && !before.2.is_empty());

    let path = dir.path().join("s.embedscope.json");
    app.apply(Command::SaveSession(path.clone()));
    let saved = Session::load(&path).expect("loads");
    assert_eq!(saved.version, 2);
    let sd = &saved.datasets[0];
    assert_eq!(sd.text_column.as_deref(), Some("text"));
    assert_eq!(sd.clusters.as_ref(), Some(&method));
    assert_eq!(sd.color, ColorMode::Column("source".into()));
    assert_eq!(sd.filters.len(), 2);
    assert!(sd.filters.contains(&SavedFilter::Range {
        column: "score".into(),
        lo: 5.0,
        hi: 35.0
    }));
    assert_eq!(
        saved.search.as_ref().map(|s| s.text.as_str()),
        Some("refunds")
    );

    let mut other = App::new(Settings::default(), None);
    other.apply(Command::OpenSession(path.clone()));
    settle(&mut other);
    assert!(errors(&other).is_empty(), "{:?}", errors(&other));
    let d = other.active_dataset().expect("restored");
    let m = d.map.as_ref().expect("map");
    let c = d.map_clusters.as_ref().expect("clusters found again");
    assert_eq!(c.method, method);
    assert_eq!(c.row_labels(&m.point_of_row), before.1, "the same clusters");
    assert_eq!(
        d.table
            .kept()
            .expect("filtered")
            .iter()
            .collect::<Vec<usize>>(),
        before.0,
        "the same rows kept"
    );
    assert_eq!(d.color, ColorMode::Column("source".into()));
    assert_eq!(d.text_column_override.as_deref(), Some("text"));
    assert_eq!(d.selection, [9]);
    assert_eq!(other.search.mode, SearchMode::WholeWord);
    assert_eq!(other.search.matches, before.2, "the search found again");

    // A session of the first version (none of these fields) still opens.
    let mut v1: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    for key in ["active", "search"] {
        v1.as_object_mut().expect("object").remove(key);
    }
    let ds = v1["datasets"][0].as_object_mut().expect("set");
    for key in ["text_column", "color", "filters", "clusters"] {
        ds.remove(key);
    }
    v1["version"] = 1.into();
    // And a filter on a column the file no longer has is said, the rest restored.
    let mut gone = saved.clone();
    gone.datasets[0].filters.push(SavedFilter::Categories {
        column: "region".into(),
        values: vec!["north".into()],
        other: false,
        missing: false,
    });
    let v1_path = dir.path().join("v1.json");
    std::fs::write(&v1_path, v1.to_string()).expect("write");
    let gone_path = dir.path().join("gone.json");
    gone.save(&gone_path).expect("save");
    let mut third = App::new(Settings::default(), None);
    third.apply(Command::OpenSession(v1_path));
    settle(&mut third);
    assert!(errors(&third).is_empty(), "{:?}", errors(&third));
    let d = third.active_dataset().expect("restored");
    assert!(d.table.kept().is_none() && d.map_clusters.is_none());
    assert_eq!(d.selection, [9]);
    let mut fourth = App::new(Settings::default(), None);
    fourth.apply(Command::OpenSession(gone_path));
    settle(&mut fourth);
    let e = errors(&fourth);
    assert!(
        e.len() == 1 && e[0].contains("region"),
        "one message naming the column: {e:?}"
    );
    let d = fourth.active_dataset().expect("restored");
    assert_eq!(
        d.table
            .kept()
            .expect("filtered")
            .iter()
            .collect::<Vec<usize>>(),
        before.0
    );
}
