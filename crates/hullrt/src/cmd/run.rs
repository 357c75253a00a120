use std::path::{Path, PathBuf};

use hull_runtime::create::CreateOpts;

/// Create and start a container, and wait for it unless detached.
#[derive(clap::Args)]
pub struct Args {
    /// Path to the bundle directory (config.json and rootfs).
    #[arg(short, long, default_value = ".")]
    bundle: PathBuf,
    /// Return once the container has started.
    #[arg(short, long)]
    detach: bool,
    /// Write the container's init pid to this file.
    #[arg(long = "pid-file")]
    pid_file: Option<PathBuf>,
    /// Move the rootfs over / and chroot instead of pivot_root (for ramfs roots).
    #[arg(long = "no-pivot")]
    no_pivot: bool,
    id: String,
}

pub fn exec(root: &Path, a: Args) -> super::Result {
    let o = CreateOpts {
        root: root.to_path_buf(),
        id: a.id,
        bundle: a.bundle,
        pid_file: a.pid_file,
        no_pivot: a.no_pivot,
    };
    hull_runtime::run::run(&o, a.detach)
}
