//! `hull pull`: the OCI distribution API v2.

pub mod manifest;

use crate::error::ImageError;
use crate::progress::Progress;
use crate::{ImageId, Store};

/// `hull pull`'s options.
#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    /// `--tls-verify=false`: accept any certificate, and fall back to plain http.
    pub insecure: bool,
    /// `--creds USER:PASS`.
    pub credentials: Option<(String, String)>,
}

impl Store {
    /// Pulls `reference` (linux/amd64 from an index) and stores it under that name.
    pub fn pull(
        &mut self,
        reference: &str,
        _opts: &PullOptions,
        _progress: &mut dyn Progress,
    ) -> Result<ImageId, ImageError> {
        Err(ImageError::Other(format!(
            "pull {reference}: not implemented yet"
        )))
    }
}
