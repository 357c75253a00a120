//! Pods: groups of containers that share namespaces through an infra process (hull-pause),
//! with a cgroup parent holding the pod-level limits. `plan` is what a pod should be, `store`
//! its row in the state database.

pub mod plan;
pub mod store;

pub use plan::{ContainerPlan, PodPlan, ShareSet};
pub use store::{Pod, PodError};
