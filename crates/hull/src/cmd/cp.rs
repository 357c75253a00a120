//! `hull cp SRC DEST`: one of them `CONTAINER:PATH`. A running container's tree is reached
//! through /proc/<pid>/root (its volumes and mounts included); a stopped one's through its
//! overlay (mounted for the copy when it is not mounted). All resolution inside the container
//! is the engine's cp module: openat2 with RESOLVE_IN_ROOT. `-` as SRC reads a tar stream
//! from stdin into a container directory; `-` as DEST writes one to stdout. `-` as SRC reads a tar stream
//! from stdin into a container directory; `-` as DEST writes one to stdout.

use std::path::{Path, PathBuf};

use hull_engine::container::cp::{self, ContainerFs, CopyOptions};
use hull_engine::{bundle::rootfs, image, Container, Engine, Paths};

use super::{CmdError, CmdResult};

#[derive(clap::Args)]
pub struct Args {
    /// Keep uid and gid (otherwise: the container's root inside, the caller outside).
    #[arg(short, long)]
    archive: bool,
    /// Follow a symlink given as SRC.
    #[arg(short = 'L', long)]
    follow_link: bool,
    /// No progress output (hull prints none anyway).
    #[arg(short, long)]
    quiet: bool,
    /// CONTAINER:PATH or a host path.
    src: String,
    /// CONTAINER:PATH or a host path.
    dest: String,
}

/// docker's rule: a path starting with / or . is the host's; otherwise `NAME:PATH` names a
/// container.
fn split_arg(arg: &str) -> (Option<&str>, &str) {
    if arg.starts_with('/') || arg.starts_with('.') {
        return (None, arg);
    }
    match arg.split_once(':') {
        Some((c, p)) if !c.is_empty() => (Some(c), p),
        _ => (None, arg),
    }
}

fn usage(msg: &str) -> CmdError {
    CmdError {
        msg: msg.to_string(),
        code: 1,
    }
}

/// The host uid and gid of the container's root: from its user namespace's maps while it
/// runs, else from --uidmap/--gidmap, else 0.
fn root_ids(c: &Container) -> (u32, u32) {
    let from_map = |text: &str| {
        text.lines().find_map(|l| {
            let f: Vec<u32> = l
                .split(|ch: char| ch.is_whitespace() || ch == ':')
                .filter(|s| !s.is_empty())
                .filter_map(|s| s.parse().ok())
                .collect();
            (f.len() == 3 && f[0] == 0).then_some(f[1])
        })
    };
    if c.status.is_live() && c.pid > 0 {
        let read = |f: &str| std::fs::read_to_string(format!("/proc/{}/{f}", c.pid)).ok();
        let uid = read("uid_map").and_then(|t| from_map(&t)).unwrap_or(0);
        let gid = read("gid_map").and_then(|t| from_map(&t)).unwrap_or(0);
        return (uid, gid);
    }
    let uid = from_map(&c.config.uidmap.join("\n")).unwrap_or(0);
    let gid = from_map(&c.config.gidmap.join("\n")).unwrap_or(0);
    (uid, gid)
}

/// Runs `f` on the container's tree.
fn with_tree<T>(
    eng: &Engine,
    c: &Container,
    f: impl FnOnce(&ContainerFs) -> Result<T, CmdError>,
) -> Result<T, CmdError> {
    if c.status.is_live() && c.pid > 0 {
        let fs = ContainerFs::open(Path::new(&format!("/proc/{}/root", c.pid)))?;
        return f(&fs);
    }
    let merged = eng.paths.rootfs(&c.id);
    if rootfs::is_mounted(&merged) {
        return f(&ContainerFs::open(&merged)?);
    }
    // Stopped: the overlay of the image's layers and the container's upper dir, mounted at a
    // private place for this copy only.
    let img = image::resolve(&eng.paths, &c.image_id)?;
    let target: PathBuf =
        eng.paths
            .runroot
            .join("cp")
            .join(format!("{}-{}", c.short_id(), std::process::id()));
    rootfs::mount_overlay(&img.layers, &eng.paths.container_dir(&c.id), &target, false)?;
    let res = ContainerFs::open(&target)
        .map_err(CmdError::from)
        .and_then(|fs| {
            // The container's volumes and binds, where it sees them.
            for m in &c.config.mounts {
                let source = match m.kind.as_str() {
                    "volume" => eng.paths.volume_dir(&m.source).join("_data"),
                    "bind" => PathBuf::from(&m.source),
                    _ => continue,
                };
                fs.bind_inside(&source, &m.target, m.read_only)?;
            }
            f(&fs)
        });
    // Lazy and recursive: the binds go with the overlay.
    rootfs::unmount(&target);
    let _ = std::fs::remove_dir(&target);
    res
}

/// docker cp's failures exit 1.
pub fn exec(paths: &Paths, args: Args) -> CmdResult {
    copy(paths, args).map_err(|e| CmdError {
        msg: e.msg,
        code: 1,
    })
}

fn copy(paths: &Paths, args: Args) -> CmdResult {
    let (src_ctr, src_path) = split_arg(&args.src);
    let (dst_ctr, dst_path) = split_arg(&args.dest);
    let _ = args.quiet;
    let eng = super::engine(paths)?;
    // `-`: a tar stream on stdin (into a container directory) or stdout (out of a container).
    if src_ctr.is_none() && src_path == "-" {
        let name =
            dst_ctr.ok_or_else(|| usage("hull cp -: the destination must be CONTAINER:DIR"))?;
        let c = eng.lookup(name)?;
        let (root_uid, root_gid) = root_ids(&c);
        let opts = CopyOptions {
            archive: args.archive,
            follow_link: false,
            root_uid,
            root_gid,
        };
        let mut stdin = std::io::stdin().lock();
        return with_tree(&eng, &c, |fs| {
            Ok(cp::extract_in(fs, dst_path, &mut stdin, &opts)?)
        });
    }
    if dst_ctr.is_none() && dst_path == "-" {
        let name =
            src_ctr.ok_or_else(|| usage("hull cp ... -: the source must be CONTAINER:PATH"))?;
        let c = eng.lookup(name)?;
        let opts = CopyOptions {
            follow_link: args.follow_link,
            ..Default::default()
        };
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        with_tree(&eng, &c, |fs| {
            Ok(cp::archive_out(fs, src_path, &mut out, &opts)?)
        })?;
        use std::io::Write;
        return out.flush().map_err(|e| usage(&format!("stdout: {e}")));
    }
    match (src_ctr, dst_ctr) {
        (Some(_), Some(_)) => Err(usage(
            "copying between containers is not supported: copy to the host first",
        )),
        (None, None) => Err(usage(
            "must specify at least one container source: CONTAINER:PATH",
        )),
        (Some(name), None) => {
            let c = eng.lookup(name)?;
            let (root_uid, root_gid) = root_ids(&c);
            let opts = CopyOptions {
                archive: args.archive,
                follow_link: args.follow_link,
                root_uid,
                root_gid,
            };
            let dest = Path::new(dst_path);
            with_tree(&eng, &c, |fs| Ok(cp::copy_out(fs, src_path, dest, &opts)?))
        }
        (None, Some(name)) => {
            let c = eng.lookup(name)?;
            let (root_uid, root_gid) = root_ids(&c);
            let opts = CopyOptions {
                archive: args.archive,
                follow_link: args.follow_link,
                root_uid,
                root_gid,
            };
            let src = Path::new(src_path);
            with_tree(&eng, &c, |fs| Ok(cp::copy_in(fs, src, dst_path, &opts)?))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_split_as_docker_splits_them() {
        assert_eq!(split_arg("web:/etc"), (Some("web"), "/etc"));
        assert_eq!(split_arg("/tmp/a:b"), (None, "/tmp/a:b"));
        assert_eq!(split_arg("./x:y"), (None, "./x:y"));
        assert_eq!(split_arg("file"), (None, "file"));
        assert_eq!(split_arg(":x"), (None, ":x"));
    }
}
