//! `rename`: a container's new name, checked as `create` checks one.

use crate::container::{self, names};
use crate::engine::Engine;
use crate::error::{Error, Result};

impl Engine {
    /// Renames the container `key` to `new` (a leading `/` is docker's and is dropped).
    pub fn rename(&self, key: &str, new: &str) -> Result<()> {
        let new = new.strip_prefix('/').unwrap_or(new);
        if !names::valid_name(new) {
            return Err(Error::InvalidArgument(format!(
                "invalid container name {new:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
            )));
        }
        let c = self.lookup(key)?;
        if c.name == new {
            return Err(Error::InvalidArgument(format!(
                "renaming container {new:?}: the new name is the same as the old one"
            )));
        }
        container::rename(&self.conn, &c.id, new)?;
        // docker's `rename` event: the new name, the old one as `oldName` (with docker's `/`).
        let mut renamed = c.clone();
        renamed.name = new.to_string();
        let old = format!("/{}", c.name);
        crate::events::container(&self.paths, &renamed, "rename", &[("oldName", old)]);
        Ok(())
    }
}
