//! The OCI bundle hull writes for a container: its rootfs, its /dev/shm and its config.json.
//! The lifecycle makes and takes it down through [`Bundler`] (host.rs is the real one).

pub mod host;
pub mod rootfs;
pub mod shm;
pub mod spec;

use crate::container::start::StartError;
use crate::container::Container;
use crate::engine::Engine;
use crate::image::ImageInfo;

/// What a start makes on the host before the runtime runs, and what undoes it.
pub trait Bundler {
    /// Mounts the rootfs, /dev/shm and volumes, wires the network, writes config.json.
    /// `img`: the image already resolved (else it is, from the container's image id).
    fn prepare(
        &self,
        eng: &Engine,
        c: &Container,
        img: Option<&ImageInfo>,
    ) -> Result<(), StartError>;
    /// Undoes [`prepare`](Self::prepare) whole, bundle directory included (a failed start,
    /// leftovers of a killed one).
    fn unprepare(&self, eng: &Engine, c: &Container);
    /// After an exit that is not restarted: the network and the mounts go; the bundle
    /// directory stays for the caller (--rm removes it all).
    fn release(&self, eng: &Engine, c: &Container);
}
