//! Pods: groups of containers that share namespaces through an infra process (hull-pause),
//! with a cgroup parent holding the pod-level limits. `plan` is what a pod should be, `store`
//! its row in the state database, `infra` the pause process, network and cgroup, `ops` the
//! verbs, `play` what `kube play` runs, `hooks` the engine's few calls into pods.

pub mod hooks;
pub mod infra;
pub(crate) mod ops;
pub mod plan;
pub(crate) mod play;
pub mod store;
pub mod verbs;
#[cfg(test)]
mod verbs_tests;

pub use plan::{ContainerPlan, PodPlan, PortPlan, ShareSet};
pub use store::{Pod, PodError};

/// Marks an init container (run to completion before the others, never restarted).
pub const INIT_LABEL: &str = "io.hull.pod.init";
