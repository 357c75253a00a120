//! `RUN`: the command runs as a container made from the stage's image so far, through the
//! engine's own verbs (create, start, attach with its output streamed to ours, remove), and
//! the container's changes (its overlay upper dir, docker's whiteouts) become the layer. The
//! container is removed whatever happens, so a failing `RUN` leaves no container, mount or
//! directory behind.

use std::collections::BTreeMap;

use hull_engine::container::config::MountSpec;
use hull_engine::container::create::{self, Request};
use hull_engine::container::start::{self, Attach};
use hull_engine::container::{changes, remove};
use hull_engine::{Engine, RunConfig};
use hull_monitor::proto;
use hull_term::attach;

use crate::BuildError;

/// What one `RUN` runs.
pub struct Step<'a> {
    pub image: &'a str,
    pub argv: Vec<String>,
    /// `K=V`: the image's Env, then the build args it does not set.
    pub env: Vec<String>,
    pub user: String,
    pub workdir: String,
    /// `none`, `host` or `default` (hull's default network).
    pub network: &'a str,
    /// The command's output is not shown (`hull build -q`).
    pub quiet: bool,
    /// The image's `VOLUME`s: anonymous volumes while the step runs, as docker mounts them,
    /// so what the command writes there is not in the layer (only the mount point is).
    pub volumes: Vec<String>,
}

/// The network mode `RUN --network` / `hull build --network` asks for.
fn network_mode(n: &str) -> Result<String, BuildError> {
    match n {
        "" | "default" => Ok(String::new()),
        "none" | "host" => Ok(n.to_string()),
        other => Err(BuildError::msg(format!(
            "--network {other}: hull build supports none, host and default"
        ))),
    }
}

/// Runs the step; on success returns the layer tar (in a temp file under the store's tmp)
/// or None when the command changed nothing.
pub fn run(
    eng: &Engine,
    s: &Step<'_>,
    out: &mut dyn std::io::Write,
) -> Result<Option<std::fs::File>, BuildError> {
    let config = RunConfig {
        cmd: s.argv.clone(),
        env: s.env.clone(),
        user: s.user.clone(),
        working_dir: s.workdir.clone(),
        network_mode: network_mode(s.network)?,
        mounts: s
            .volumes
            .iter()
            .map(|t| MountSpec {
                kind: hull_engine::container::config::MountKind::Volume,
                target: t.clone(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    let req = Request {
        image: s.image.to_string(),
        name: None,
        entrypoint: Some(Vec::new()),
        config,
        labels: BTreeMap::new(),
    };
    let (c, img) =
        create::create_with_image(eng, req).map_err(|e| BuildError::msg(format!("RUN: {e}")))?;
    let _ = writeln!(out, " ---> Running in {}", &c.id[..12]);
    let _ = out.flush();
    let res = run_created(eng, &c, &img, s);
    remove::remove_all(eng, &c, true);
    let _ = writeln!(out, "Removing intermediate container {}", &c.id[..12]);
    res
}

fn run_created(
    eng: &Engine,
    c: &hull_engine::Container,
    img: &hull_engine::image::ImageInfo,
    s: &Step<'_>,
) -> Result<Option<std::fs::File>, BuildError> {
    let out = if s.quiet {
        0
    } else {
        proto::WANT_STDOUT | proto::WANT_STDERR
    };
    let at = Attach {
        want: out | proto::WANT_HOOK,
        size: None,
    };
    let started = start::start_with_image(eng, c, at, Some(img))
        .map_err(|e| BuildError::msg(format!("RUN {}: {e}", s.argv.join(" "))))?;
    let id = c.id.clone();
    let record = |code: i32| eng.record_exited(&id, code);
    let code = attach::attach_with_hook(started.sock, false, false, true, &[], Some(&record));
    match code {
        Some(0) => {}
        // docker's classic builder exits with the command's own code.
        Some(n) => {
            return Err(BuildError {
                msg: format!(
                    "The command '{}' returned a non-zero code: {n}",
                    s.argv.join(" ")
                ),
                code: n,
            })
        }
        None => {
            return Err(BuildError::msg(format!(
                "RUN {}: lost the container's monitor",
                s.argv.join(" ")
            )))
        }
    }
    let upper = eng.paths.container_dir(&c.id).join("upper");
    let mut tmp = tempfile::tempfile_in(eng.paths.root.join("tmp"))
        .map_err(|e| BuildError::msg(format!("RUN: temp file: {e}")))?;
    let any = changes::layer_tar(&upper, &mut tmp)
        .map_err(|e| BuildError::msg(format!("RUN: read changes in {}: {e}", upper.display())))?;
    use std::io::Seek;
    tmp.rewind()
        .map_err(|e| BuildError::msg(format!("RUN: temp file: {e}")))?;
    Ok(any.then_some(tmp))
}
