//! One run in a list: what `runs list` prints and its JSON contract. Its own file so that the
//! reads (`query.rs`) and the filter over them (`filter/`) both use it without using each other.

use serde::Serialize;

/// A run as listed.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub id: String,
    pub experiment: String,
    pub pipeline: String,
    pub status: String,
    pub trigger: String,
    pub started_at: String,
    pub ended_at: Option<String>,
    /// The schedule fire a scheduled run belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fire_at: Option<String>,
}
