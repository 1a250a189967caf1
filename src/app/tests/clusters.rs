//! Clusters of a map: found on the finished map's points, named by keywords, selected from the
//! list, dropped with the map they were found on; bad parameters are messages.

use super::*;
use crate::engine::jobs::ClusterMethod;

fn cluster(app: &mut App, method: ClusterMethod) {
    app.apply(Command::ClusterMap(method));
    settle(app);
}

#[test]
fn hdbscan_clusters_of_the_demo_map_are_named_coloured_and_selectable() {
    let mut app = demo_app();
    let i = app.active.expect("demo");
    cluster(
        &mut app,
        ClusterMethod::Hdbscan {
            min_cluster_size: 200,
            min_samples: Some(20),
            leaf: false,
        },
    );
    let d = &app.datasets[i];
    let m = d.map.as_ref().expect("map");
    let c = d.map_clusters.as_ref().expect("clusters");
    assert_eq!(c.map_version, m.version);
    assert_eq!(c.fine.labels.len(), m.coords.len());
    assert!(!c.fine.clusters.is_empty(), "no clusters");
    let noise = c.fine.labels.iter().filter(|&&l| l < 0).count();
    assert_eq!(noise, c.fine.noise);
    let sizes: usize = c.fine.clusters.iter().map(|k| k.summary.size).sum();
    assert_eq!(sizes + noise, m.coords.len());
    // Words are named by their first (most frequent) members.
    for k in &c.fine.clusters {
        assert!(!k.summary.label.is_empty());
        let first = k.summary.keywords[0].0.as_str();
        let row = d.set.vocab.get(first).expect("a member word");
        let p = m.point_of_row[row] as usize;
        assert_eq!(c.fine.labels[p], k.summary.id);
        // The label sits on a member point.
        assert!(
            m.coords
                .iter()
                .zip(&c.fine.labels)
                .any(|(q, &l)| l == k.summary.id && *q == k.centre)
        );
    }
    assert_eq!(d.color, ColorMode::Cluster);
    // Selecting a cluster selects exactly its rows.
    let id = c.fine.clusters[0].summary.id;
    let size = c.fine.clusters[0].summary.size;
    app.apply(Command::SelectCluster(id));
    let d = &app.datasets[i];
    assert_eq!(d.selection.len(), size);
    // A new map drops them from the map's point of view.
    app.apply(Command::Project(ProjectSpec::Pca));
    settle(&mut app);
    let d = &app.datasets[i];
    let v = d.map.as_ref().expect("map").version;
    assert!(d.map_clusters.as_ref().is_none_or(|c| c.map_version != v));
}

#[test]
fn kmeans_and_bad_parameters() {
    let mut app = demo_app();
    let i = app.active.expect("demo");
    cluster(&mut app, ClusterMethod::Kmeans { k: 7, seed: 1 });
    let c = app.datasets[i].map_clusters.as_ref().expect("clusters");
    assert_eq!(c.fine.clusters.len(), 7);
    assert_eq!(c.fine.noise, 0);
    // The cluster table as CSV: a row per cluster and one for the noise, sizes adding up to
    // the map's points; a place that cannot be written is said.
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("clusters.csv");
    app.apply(Command::ExportClustersCsv(path.clone()));
    let text = std::fs::read_to_string(&path).expect("written");
    let mut rd = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        rd.headers().expect("header").iter().collect::<Vec<_>>(),
        [
            "level", "cluster", "size", "share", "label", "keywords", "x", "y"
        ]
    );
    let rows: Vec<csv::StringRecord> = rd.records().map(|r| r.expect("row")).collect();
    assert_eq!(rows.len(), 7 + 1);
    let c = app.datasets[i].map_clusters.as_ref().expect("clusters");
    let total: usize = rows
        .iter()
        .map(|r| r[2].parse::<usize>().expect("size"))
        .sum();
    assert_eq!(total, c.fine.labels.len());
    for r in &rows[..7] {
        let id: i32 = r[1].parse().expect("id");
        assert_eq!(Some(&r[4]), c.name(id), "label of cluster {id}");
        assert!(!r[5].is_empty(), "keywords");
    }
    assert_eq!(&rows[7][1], "-1");
    let n = app.notifications.len();
    app.apply(Command::ExportClustersCsv(
        dir.path().join("no/such/folder/c.csv"),
    ));
    assert!(
        app.notifications[n..]
            .iter()
            .any(|x| x.level == Severity::Error && x.title.contains("could not write"))
    );
    app.apply(Command::ClearClusters);
    assert!(app.datasets[i].map_clusters.is_none());
    let n = app.notifications.len();
    app.apply(Command::ExportClustersCsv(path.clone()));
    assert!(
        app.notifications[n..]
            .iter()
            .any(|x| x.details.contains("no clusters"))
    );
    let n = app.notifications.len();
    cluster(
        &mut app,
        ClusterMethod::Hdbscan {
            min_cluster_size: 10_000_000,
            min_samples: None,
            leaf: false,
        },
    );
    assert!(app.datasets[i].map_clusters.is_none());
    assert!(
        app.notifications[n..]
            .iter()
            .any(|x| x.title.contains("cannot cluster") && x.details.contains("larger than")),
        "{:?}",
        app.notifications[n..]
            .iter()
            .map(|x| (&x.title, &x.details))
            .collect::<Vec<_>>()
    );
}
