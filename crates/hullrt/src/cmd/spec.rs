use std::path::PathBuf;

use hull_runtime::Error;

/// Write a default config.json into the bundle directory.
#[derive(clap::Args)]
pub struct Args {
    /// Bundle directory to write config.json into.
    #[arg(short, long, default_value = ".")]
    bundle: PathBuf,
}

/// `rootless` (runc's `spec --rootless`, which is the global flag here): a spec for running
/// as a non-root user (user namespace with a single-id mapping).
pub fn exec(a: Args, rootless: bool) -> super::Result {
    let path = a.bundle.join("config.json");
    if path.exists() {
        return Err(Error::Other(format!("{} already exists", path.display())));
    }
    let spec = hull_runtime::spec::default_spec(rootless);
    let text = serde_json::to_string_pretty(&spec).map_err(|e| Error::Other(e.to_string()))?;
    std::fs::write(&path, text).map_err(|e| Error::sys("write", &path, e))?;
    Ok(0)
}
