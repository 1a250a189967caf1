//! The app's job kinds, one module each: the job's inputs (a type implementing
//! [`Job`](super::worker::Job)), its typed output and any partial results it sends. A new kind
//! is a new module here plus the app code that submits it and folds its output in.

mod bias;
mod cluster;
mod compare;
mod drift;
mod encode;
mod evaluate;
mod index;
mod load;
mod place;
mod privacy;
mod project;
mod report;
mod search;

pub use super::worker::{Job, JobContext, JobEvent, JobId, Payload, Waker, Worker};
pub use bias::{Debiased, DirectBiasJob, DirectRun, DirectSpec, Weat, WeatCell, WeatRun};
pub use cluster::{ClusterLevel, ClusterMethod, ClusterPoints, Clustered};
pub use compare::{Compare, CompareLayouts, Compared, TokenizerDiffError};
pub use drift::{DriftJob, DriftJobSides, DriftRun};
pub use encode::{EncodeSpec, Encoded, duration_text};
pub use evaluate::Evaluate;
pub use index::{BuildIndex, ExactNeighbours, FoundNeighbours, ReadyIndex};
pub use load::{Demo, Load, Opened, occurrences_path, words_path};
pub use place::{PlaceHow, PlaceRows, Placed};
pub use privacy::{MAX_LISTED, RowFinding, SCAN_CAP_BYTES, ScanSet, SetFindings, scan_set};
pub use project::{LayoutPreview, MapMethod, Project, ProjectSpec, Projected};
pub use report::{ReportJob, ReportRun};
pub use search::{LoadedQueryModel, SemanticFound, SemanticSearch};

#[cfg(test)]
mod tests;
