//! The OCI bundle hull writes for a container: its rootfs, its /dev/shm and its config.json.

pub mod rootfs;
pub mod shm;
pub mod spec;
