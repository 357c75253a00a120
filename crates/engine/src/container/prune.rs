//! What the containers hold on to: the images they were created from (rmi and image prune
//! must leave those, or a container's overlay loses its lower layers).

use std::collections::BTreeMap;

use rusqlite::Connection;

use crate::container::{self, ContainerError};

/// The hex digits of an image id, with or without its `sha256:`.
fn bare(id: &str) -> &str {
    id.strip_prefix("sha256:").unwrap_or(id)
}

/// Image id (without `sha256:`) -> the containers created from it (names), of every state.
pub fn images_in_use(conn: &Connection) -> Result<BTreeMap<String, Vec<String>>, ContainerError> {
    container::init(conn)?;
    let mut used: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in container::list(conn)? {
        if !c.image_id.is_empty() {
            used.entry(bare(&c.image_id).to_string())
                .or_default()
                .push(c.name);
        }
    }
    Ok(used)
}

/// The containers created from image `id` (`sha256:...` or bare hex).
pub fn image_users(used: &BTreeMap<String, Vec<String>>, id: &str) -> Vec<String> {
    used.get(bare(id)).cloned().unwrap_or_default()
}
