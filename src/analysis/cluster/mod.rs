//! Clusters of rows: seeded k-means for colouring maps (`kmeans`) and HDBSCAN (`hdbscan`), the
//! density-based hierarchy with noise, matching scikit-learn's `sklearn.cluster.HDBSCAN`.

pub mod hdbscan;
mod kdtree;
pub mod keywords;
mod kmeans;
mod mst;
pub mod summary;
mod tree;

pub use hdbscan::{
    ClusterNode, Hdbscan, HdbscanParams, Selection, SpanningEdge, ValidHdbscan, hdbscan,
};
pub use kmeans::{KMeans, KMeansParams, kmeans, kmeans_points};
pub use summary::{ClusterSummary, summarise, text_for};
