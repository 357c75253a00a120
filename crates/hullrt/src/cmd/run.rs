use std::path::Path;

/// Create and start a container, and wait for it unless detached.
#[derive(clap::Args)]
pub struct Args {
    /// Return once the container has started.
    #[arg(short, long)]
    detach: bool,
    /// Accepted for runc compatibility: `run` always reaps the container's init itself.
    #[arg(long = "no-subreaper", hide = true)]
    no_subreaper: bool,
    /// Accepted for runc compatibility; the container is deleted after it exits.
    #[arg(long, hide = true)]
    keep: bool,
    #[command(flatten)]
    create: super::create::Args,
}

pub fn exec(root: &Path, a: Args, rootless: bool, systemd_cgroup: bool) -> super::Result {
    let o = a.create.opts(root, !a.detach, rootless, systemd_cgroup);
    hull_runtime::run::run(&o, a.detach)
}
