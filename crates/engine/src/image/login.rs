//! `login` and `logout`: credentials checked against a registry and kept as docker's client
//! keeps them (config.json under $DOCKER_CONFIG or ~/.docker), where `image_pull` and
//! `image_push` find them. No state of the engine is involved, so these need no `Engine`.

use std::path::PathBuf;

use hull_image::registry::{self, auth, PullOptions};

use crate::error::{Error, Result};

/// The key a registry's credentials are kept under (`https://index.docker.io/v1/` for
/// Docker Hub, the host otherwise); `server` empty is Docker Hub.
pub fn registry_key(server: &str) -> String {
    auth::key(server)
}

/// Where the credentials are kept.
pub fn credentials_path() -> PathBuf {
    auth::config_path()
}

/// Checks `user` and `password` against the registry `key` names (a token or basic
/// challenge answered); the registry's refusal is `InvalidArgument` with its words.
pub fn registry_login(key: &str, user: &str, password: &str) -> Result<()> {
    let opts = PullOptions {
        insecure: false,
        credentials: Some((user.to_string(), password.to_string())),
    };
    registry::login(key, &opts).map_err(|e| Error::InvalidArgument(format!("login {key}: {e}")))
}

/// Keeps the credentials for `key`.
pub fn store_credentials(key: &str, user: &str, password: &str) -> Result<()> {
    Ok(auth::store(key, user, password)?)
}

/// Forgets the credentials for `key`; whether there were any.
pub fn erase_credentials(key: &str) -> Result<bool> {
    Ok(auth::erase(key)?)
}
