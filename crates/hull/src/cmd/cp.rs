//! `hull cp SRC DEST`: one of them `CONTAINER:PATH`. A running container's tree is reached
//! through /proc/<pid>/root (its volumes and mounts included); a stopped one's through its
//! overlay (mounted for the copy when it is not mounted). All resolution inside the container
//! is the engine's cp module: openat2 with RESOLVE_IN_ROOT. `-` as SRC reads a tar stream
//! from stdin into a container directory; `-` as DEST writes one to stdout. `-` as SRC reads a tar stream
//! from stdin into a container directory; `-` as DEST writes one to stdout.

use std::path::Path;

use hull_engine::container::cp::{self, CopyOptions};
use hull_engine::Paths;

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
        let (root_uid, root_gid) = cp::root_ids(&c);
        let opts = CopyOptions {
            archive: args.archive,
            follow_link: false,
            root_uid,
            root_gid,
        };
        let mut stdin = std::io::stdin().lock();
        eng.copy_into(&c, |fs| {
            Ok(cp::extract_in(fs, dst_path, &mut stdin, &opts)?)
        })?;
        return Ok(());
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
        eng.copy_out_of(&c, |fs| Ok(cp::archive_out(fs, src_path, &mut out, &opts)?))?;
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
            let (root_uid, root_gid) = cp::root_ids(&c);
            let opts = CopyOptions {
                archive: args.archive,
                follow_link: args.follow_link,
                root_uid,
                root_gid,
            };
            let dest = Path::new(dst_path);
            Ok(eng.copy_out_of(&c, |fs| Ok(cp::copy_out(fs, src_path, dest, &opts)?))?)
        }
        (None, Some(name)) => {
            let c = eng.lookup(name)?;
            let (root_uid, root_gid) = cp::root_ids(&c);
            let opts = CopyOptions {
                archive: args.archive,
                follow_link: args.follow_link,
                root_uid,
                root_gid,
            };
            let src = Path::new(src_path);
            Ok(eng.copy_into(&c, |fs| Ok(cp::copy_in(fs, src, dst_path, &opts)?))?)
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
