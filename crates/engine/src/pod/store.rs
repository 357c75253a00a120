//! The pod model. A pod row (kept by state::pods) holds what the pod was created with (its
//! plan, as JSON), the id of its infra container, its cgroup parent, and the manifest it came
//! from (`kube down` removes by it).

use std::collections::BTreeMap;

use super::plan::{PodPlan, ShareSet};

#[derive(Debug, thiserror::Error)]
pub enum PodError {
    #[error("no such pod: {0}")]
    NotFound(String),
    #[error("pod name {0:?} is already in use")]
    NameInUse(String),
    #[error("pod id prefix {0:?} is ambiguous")]
    Ambiguous(String),
    #[error("state database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("pod {id}: stored plan: {source}")]
    Plan {
        id: String,
        source: serde_json::Error,
    },
}

/// One pod as stored.
#[derive(Debug, Clone)]
pub struct Pod {
    /// 64 hex digits.
    pub id: String,
    pub name: String,
    pub hostname: String,
    pub share: ShareSet,
    /// The infra container's id ("" until it is created).
    pub infra_id: String,
    /// The cgroup parent every container of the pod is placed under.
    pub cgroup_parent: String,
    pub labels: BTreeMap<String, String>,
    /// RFC 3339 with nanoseconds.
    pub created: String,
    /// What the pod was created with (ports, limits, volumes, network; containers as played).
    pub plan: PodPlan,
    /// The manifest's absolute path for pods made by `kube play`, else "".
    pub kube_source: String,
}

impl Pod {
    pub fn short_id(&self) -> &str {
        &self.id[..12.min(self.id.len())]
    }
}

// The rows are kept by state::pods; these are its typed calls under the model's name.
pub use crate::state::pods::{delete, insert, list, lookup, set_infra};

/// The ids of a pod's containers (the infra included), oldest first.
pub fn container_ids(conn: &rusqlite::Connection, pod_id: &str) -> Result<Vec<String>, PodError> {
    Ok(crate::state::containers::of_pod(conn, pod_id)?)
}
