//! Starting a container: the overlay mounted at the bundle's rootfs, config.json generated
//! from the stored run config, and a hull-monitor spawned to run the runtime's create and
//! start. The starter talks to the monitor over a socketpair: it learns the init pid
//! (CREATED), records "running", answers GO, and stays connected as the first attach client.

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use hull_monitor::proto;

use crate::container::{self, Container};
use crate::engine::{find_binary, Engine, EngineError};
use crate::{bundle::rootfs, bundle::spec, image};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Image(#[from] image::ImageError),
    #[error(transparent)]
    Rootfs(#[from] rootfs::RootfsError),
    #[error(transparent)]
    Spec(#[from] spec::SpecError),
    #[error(transparent)]
    Container(#[from] container::ContainerError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Volume(#[from] crate::volume::VolumeError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// The runtime refused: its message; the exit code docker gives (125, 126, 127).
    #[error("{msg}")]
    Runtime { msg: String, code: i32 },
}

impl StartError {
    pub fn exit_code(&self) -> i32 {
        match self {
            StartError::Runtime { code, .. } => *code,
            _ => 125,
        }
    }
}

/// How the starter attaches.
#[derive(Default, Clone, Copy)]
pub struct Attach {
    /// proto::WANT_* flags.
    pub want: u8,
    /// The starter's terminal size, for a tty.
    pub size: Option<(u16, u16)>,
}

/// A started container: its init pid and the starter's connection to the monitor.
pub struct Started {
    pub pid: i32,
    pub sock: UnixStream,
}

fn io_err(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> StartError + '_ {
    move |source| StartError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// hull's --init binary, written once under runroot (it is embedded in hull).
fn init_binary(eng: &Engine) -> Result<PathBuf, StartError> {
    static INIT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/hull-init"));
    let path = eng.paths.runroot.join("hull-init");
    if std::fs::metadata(&path)
        .map(|m| m.len() == INIT.len() as u64)
        .unwrap_or(false)
    {
        return Ok(path);
    }
    let tmp = eng
        .paths
        .runroot
        .join(format!("hull-init.{}", std::process::id()));
    std::fs::create_dir_all(&eng.paths.runroot).map_err(io_err(&eng.paths.runroot))?;
    std::fs::write(&tmp, INIT).map_err(io_err(&tmp))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(io_err(&path))?;
    Ok(path)
}

/// Mounts the rootfs and writes config.json.
fn prepare_bundle(
    eng: &Engine,
    c: &Container,
    img: Option<&image::ImageInfo>,
) -> Result<(), StartError> {
    let resolved;
    let img = match img {
        Some(i) => i,
        None => {
            resolved = image::resolve(&eng.paths, &c.image_id)?;
            &resolved
        }
    };
    let run_dir = eng.paths.run_dir(&c.id);
    let mapped_gid = crate::pod::plan::mapped_root(&c.config.uidmap, &c.config.gidmap)
        .map(|(_, g)| g)
        .filter(|_| c.config.userns_is_mapped());
    crate::paths::private_dir(&run_dir, mapped_gid).map_err(io_err(&run_dir))?;
    let rootfs = eng.paths.rootfs(&c.id);
    let mapped = rootfs::MappedLayers::new(&c.config, &img.layers, &run_dir)?;
    rootfs::mount_overlay(
        mapped.as_ref().map_or(&img.layers[..], |m| m.layers()),
        &eng.paths.container_dir(&c.id),
        &rootfs,
        c.config.auto_remove,
    )?;
    drop(mapped);
    if crate::bundle::shm::owns_ipc(&c.config) {
        crate::bundle::shm::mount_for(&eng.paths, &c.id, c.config.tuning.shm_size())?;
    }
    crate::volume::mount::mount_for(eng, c)?;
    let init = if c.config.init {
        Some(init_binary(eng)?)
    } else {
        None
    };
    crate::network::hooks::before_start(eng, c).map_err(|e| StartError::Runtime {
        msg: e.to_string(),
        code: 125,
    })?;
    let ctx = spec::Ctx {
        paths: &eng.paths,
        conn: &eng.conn,
        c,
        rootfs: rootfs.clone(),
        init,
    };
    let mut doc = spec::generate(&ctx)?;
    if crate::network::hooks::wired_at_create(&c.config) {
        // `hull internal-hook network ID 0`, with the runtime's state (the pid) on stdin.
        let mut args = hook_command(eng);
        args.extend(["network".into(), c.id.clone(), "0".into()]);
        // A hook's environment is only what it is given: PATH finds nft.
        let path = std::env::var("PATH").unwrap_or_else(|_| {
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into()
        });
        let hook = serde_json::json!({
            "path": args[0],
            "args": args,
            "env": [format!("PATH={path}")],
        });
        // Before the clock's hook (spec::generate's), if there is one.
        match doc["hooks"]["createRuntime"].as_array_mut() {
            Some(list) => list.insert(0, hook),
            None => doc["hooks"]["createRuntime"] = serde_json::json!([hook]),
        }
    }
    let path = run_dir.join("config.json");
    // It holds the container's environment (-e PASSWORD=...): root's alone.
    hull_image::perms::write_private(&path, &serde_json::to_vec(&doc).expect("spec serializes"))
        .map_err(io_err(&path))?;
    Ok(())
}

/// Undoes prepare_bundle (the runtime refused, or the monitor could not start).
pub fn unprepare(eng: &Engine, c: &Container) {
    crate::network::hooks::after_stop(eng, c);
    rootfs::unmount(&eng.paths.rootfs(&c.id));
    crate::bundle::shm::unmount(&eng.paths, &c.id);
    crate::volume::mount::release(eng, c);
    let _ = std::fs::remove_dir_all(eng.paths.run_dir(&c.id));
}

/// The command the monitor runs at each exit: this hull, same state, hidden verb.
pub fn hook_command(eng: &Engine) -> Vec<String> {
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("hull"));
    vec![
        exe.display().to_string(),
        "--root".into(),
        eng.paths.root.display().to_string(),
        "--runroot".into(),
        eng.paths.runroot.display().to_string(),
        "--runtime".into(),
        eng.runtime.display().to_string(),
        "internal-hook".into(),
    ]
}

fn spawn_monitor(
    eng: &Engine,
    c: &Container,
    theirs: OwnedFd,
    at: Attach,
) -> Result<u32, StartError> {
    let monitor = find_binary("hull-monitor")?;
    let mut cmd = Command::new(&monitor);
    cmd.arg("--id")
        .arg(&c.id)
        .arg("--runtime")
        .arg(&eng.runtime)
        .arg("--runtime-root")
        .arg(eng.paths.runtime_root())
        .arg("--bundle")
        .arg(eng.paths.run_dir(&c.id))
        .arg("--log")
        .arg(eng.paths.log_file(&c.id))
        .arg("--log-driver")
        .arg(c.config.log_driver())
        .arg("--sync");
    if c.config.tty {
        cmd.arg("--tty");
    }
    if c.config.open_stdin {
        cmd.arg("--stdin");
    }
    if let Some((r, col)) = at.size {
        cmd.args(["--rows", &r.to_string(), "--cols", &col.to_string()]);
    }
    // The sockets reserving the published ports: inherited (close-on-exec cleared just for
    // this spawn) and kept by the monitor; ours close when `held` drops below.
    let held = crate::network::ports::take(&c.id);
    for fd in &held {
        nix::fcntl::fcntl(
            fd,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
        )
        .map_err(|e| io_err(&monitor)(e.into()))?;
        cmd.args(["--hold", &fd.as_raw_fd().to_string()]);
    }
    // Traced (`hull --log-level`): the monitor and its exit hook get the level and write to
    // our stderr, as podman passes --log-level to conmon.
    let mut hook = hook_command(eng);
    let stderr = match hull_trace::current_level() {
        Some(level) => {
            cmd.args(["--log-level", level]);
            hook.splice(1..1, ["--log-level".to_string(), level.to_string()]);
            Stdio::inherit()
        }
        None => Stdio::null(),
    };
    cmd.arg("--").args(hook);
    let child = cmd
        .stdin(Stdio::from(theirs))
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .map_err(io_err(&monitor))?;
    Ok(child.id())
}

/// docker's exit code for a command the runtime could not run, from the words of its
/// message (runc's, which docker and podman read the same way): 127 for a program not
/// found, 126 for one that may not be run, else `other`.
pub fn cannot_run_code(msg: &str, other: i32) -> i32 {
    let lower = msg.to_ascii_lowercase();
    if lower.contains("not found") || lower.contains("no such") {
        127
    } else if lower.contains("permission denied") {
        126
    } else {
        other
    }
}

/// docker's exit codes for a command that cannot run.
fn runtime_error(msg: String) -> StartError {
    let code = cannot_run_code(&msg, 125);
    StartError::Runtime { msg, code }
}

/// Starts `c` (created or exited). On failure nothing of the start is left (no mount, no
/// bundle, no runtime state) and the container keeps its previous status.
pub fn start(eng: &Engine, c: &Container, at: Attach) -> Result<Started, StartError> {
    start_with_image(eng, c, at, None)
}

/// As `start`, with the image already resolved (by `run`'s create).
pub fn start_with_image(
    eng: &Engine,
    c: &Container,
    at: Attach,
    img: Option<&image::ImageInfo>,
) -> Result<Started, StartError> {
    let _span = tracing::debug_span!("start", id = %c.id).entered();
    crate::container::reconcile::clear_leftovers(eng, c);
    hull_sys::fault_point("hull-start-prepare");
    if let Err(e) = prepare_bundle(eng, c, img) {
        unprepare(eng, c);
        return Err(e);
    }
    tracing::debug!(bundle = %eng.paths.run_dir(&c.id).display(), "bundle prepared");
    let (mut ours, theirs) = UnixStream::pair().map_err(io_err(&eng.paths.run_dir(&c.id)))?;
    let monitor_pid = match spawn_monitor(eng, c, OwnedFd::from(theirs), at) {
        Ok(p) => p,
        Err(e) => {
            unprepare(eng, c);
            return Err(e);
        }
    };
    tracing::debug!(monitor_pid, "monitor spawned");
    let res = handshake(eng, c, &mut ours, monitor_pid as i32, at);
    match &res {
        Ok(pid) => tracing::debug!(pid, "running"),
        Err(e) => tracing::debug!(error = %e, "the start failed"),
    }
    match res {
        Ok(pid) => Ok(Started { pid, sock: ours }),
        Err(e) => {
            let e = match crate::ocirt::callback::take_hook_error(eng, &c.id) {
                Some(msg) => StartError::Runtime { msg, code: 125 },
                None => e,
            };
            unprepare(eng, c);
            let _ = container::set_status(&eng.conn, &c.id, c.status);
            Err(e)
        }
    }
}

fn handshake(
    eng: &Engine,
    c: &Container,
    s: &mut UnixStream,
    monitor_pid: i32,
    at: Attach,
) -> Result<i32, StartError> {
    let gone = || runtime_error("hull-monitor exited before the container started".into());
    let send =
        |s: &mut UnixStream, k: u8, p: &[u8]| proto::write_frame(s, k, p).map_err(|_| gone());
    send(s, proto::HELLO, &[at.want])?;
    let mut pid = 0;
    loop {
        match proto::read_frame(s) {
            // With a terminal: created, not started yet.
            Ok(Some((proto::CREATED, p))) => {
                hull_sys::fault_point("hull-start-created");
                pid = proto::payload_i32(&p).unwrap_or(0);
                let now = crate::time::nanotime::now_nanos();
                container::set_running(&eng.conn, &c.id, pid, monitor_pid, &now)?;
                // Before GO: the monitor records no exit (and no die event) before it.
                crate::events::container(&eng.paths, c, "start", &[]);
                send(s, proto::GO, &[])?;
            }
            // The monitor records no exit before our GO, so this write cannot come after it.
            Ok(Some((proto::STARTED, p))) => {
                hull_sys::fault_point("hull-start-started");
                if pid == 0 {
                    pid = proto::payload_i32(&p).unwrap_or(0);
                    let now = crate::time::nanotime::now_nanos();
                    container::set_running(&eng.conn, &c.id, pid, monitor_pid, &now)?;
                    crate::events::container(&eng.paths, c, "start", &[]);
                    send(s, proto::GO, &[])?;
                }
                return Ok(pid);
            }
            Ok(Some((proto::ERROR, msg))) => {
                return Err(runtime_error(String::from_utf8_lossy(&msg).into_owned()))
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => return Err(gone()),
        }
    }
}

impl Engine {
    /// `start`: starts the container `key` (created or exited), attached as `at` asks. On
    /// failure nothing of the start is left and the container keeps its previous status.
    pub fn start(&self, key: &str, at: Attach) -> crate::Result<Started> {
        let c = self.lookup(key)?;
        Ok(start(self, &c, at)?)
    }

    /// Starts a container just created (`run`), with the image its create resolved.
    pub fn start_created(
        &self,
        created: &super::create::Created,
        at: Attach,
    ) -> crate::Result<Started> {
        Ok(start_with_image(
            self,
            &created.container,
            at,
            Some(&created.image),
        )?)
    }
}
