//! The volume verbs (`volume create|ls|inspect|rm|prune`) as the engine's API.

use std::collections::BTreeMap;

use super::{Pruned, Volume};
use crate::engine::Engine;
use crate::error::Result;

/// `volume create`: the name (None: a random one), driver, labels and driver options.
#[derive(Debug, Default, Clone)]
pub struct VolumeCreate {
    pub name: Option<String>,
    pub driver: String,
    pub labels: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
}

impl Engine {
    /// Creates a volume, or returns the existing one of that name.
    pub fn volume_create(&self, req: &VolumeCreate) -> Result<Volume> {
        Ok(super::create_with_driver(
            &self.conn,
            &self.paths,
            req.name.as_deref(),
            &req.driver,
            &req.labels,
            &req.options,
        )?)
    }

    /// Every volume, by name.
    pub fn volume_list(&self) -> Result<Vec<Volume>> {
        Ok(super::list(&self.conn)?)
    }

    /// The volume `name`, if there is one.
    pub fn volume_get(&self, name: &str) -> Result<Option<Volume>> {
        Ok(super::get(&self.conn, name)?)
    }

    /// The ids of the containers that use the volume `name`.
    pub fn volume_users(&self, name: &str) -> Result<Vec<String>> {
        Ok(super::users(&self.conn, name)?)
    }

    /// Removes the volume `name` (Error::NotFound when there is none, Conflict in use).
    pub fn volume_remove(&self, name: &str) -> Result<()> {
        Ok(super::remove(&self.conn, &self.paths, name)?)
    }

    /// Removes the volumes no container uses: anonymous ones, or all with `all`, except those
    /// `keep` holds back.
    pub fn volume_prune(&self, all: bool, keep: &dyn Fn(&Volume) -> bool) -> Result<Pruned> {
        Ok(super::prune(&self.conn, &self.paths, all, keep)?)
    }
}
