//! `hull load`: docker-archive and oci-archive.

use std::path::Path;

use crate::error::ImageError;
use crate::Store;

impl Store {
    /// Loads every image in a docker-archive (`docker save`) or oci-archive, returning the
    /// names loaded (or ids of untagged images).
    pub fn load(&mut self, archive: &Path) -> Result<Vec<String>, ImageError> {
        Err(ImageError::Other(format!(
            "{}: load is not implemented yet",
            archive.display()
        )))
    }
}
