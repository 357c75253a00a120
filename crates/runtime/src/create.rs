//! `create`: one clone makes the container's init with all its new namespaces; the parent
//! then writes its id maps, puts it in its cgroup and runs the createRuntime hooks while init
//! builds the rootfs, and returns once init waits on the exec fifo for `start`.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use oci_spec::runtime::{LinuxIdMapping, LinuxNamespaceType};

use crate::channel::{self, Report};
use crate::error::{Context, Error, Result};
use crate::hooks::{self, Kind};
use crate::init::{self, InitArgs};
use crate::namespaces;
use crate::spec::{self, Bundle};
use crate::state::{self, Saved, Status};

pub struct CreateOpts {
    pub root: PathBuf,
    pub id: String,
    pub bundle: PathBuf,
    pub pid_file: Option<PathBuf>,
    pub no_pivot: bool,
    /// A session keyring of the container's own (runc's default; `--no-new-keyring` clears it).
    pub new_keyring: bool,
    /// Where the pty master goes when `process.terminal` is set (containerd's shim, conmon).
    pub console_socket: Option<PathBuf>,
    /// `run` in the foreground: a terminal process without a console socket gets our stdio.
    pub tty_from_caller: bool,
    /// Fds from 3 up that the process keeps (socket activation, `--preserve-fds`).
    pub extra_fds: crate::extra_fds::ExtraFds,
    /// runc's `--pidfd-socket`: where a pidfd of init is sent once it exists.
    pub pidfd_socket: Option<PathBuf>,
    /// runc's global `--rootless`: cgroup setup may fail without failing a container that
    /// asks for no limits (it then stays in the caller's cgroup).
    pub rootless: bool,
    /// runc's `--systemd-cgroup`: the cgroup is a transient systemd unit named by the spec's
    /// cgroupsPath "slice:prefix:name".
    pub systemd_cgroup: bool,
}

/// A container whose init is waiting for `start`. `pid` is our own child.
pub struct Created {
    pub saved: Saved,
}

/// Removes what a failed create made, in reverse order; runs on every error path.
struct Undo<'a> {
    dir: Option<&'a Path>,
    pid: Option<i32>,
    cgroup: Option<Box<dyn hull_cgroups::Manager>>,
    /// The poststop hooks and the stopped state they get: runc's destroy of a container
    /// whose create failed runs them too (after a failing prestart hook, say).
    poststop: Option<(oci_spec::runtime::Hooks, Vec<u8>)>,
}

impl Drop for Undo<'_> {
    fn drop(&mut self) {
        if let Some(pid) = self.pid {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            let _ = nix::sys::wait::waitpid(Pid::from_raw(pid), None);
        }
        if let Some(cg) = self.cgroup.take() {
            let _ = cg.destroy();
        }
        if let Some(dir) = self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some((hooks, state)) = self.poststop.take() {
            if let Err(e) = hooks::run(Some(&hooks), Kind::Poststop, &state) {
                eprintln!("warning: {e}");
            }
        }
    }
}

pub fn create(o: &CreateOpts) -> Result<Created> {
    let _span = tracing::debug_span!("create", id = %o.id).entered();
    state::valid_id(&o.id)?;
    let mut bundle = spec::load(&o.bundle)?;
    tracing::debug!(bundle = %bundle.dir.display(), "config.json loaded");
    seal_if_visible(&bundle)?;
    if let Some(p) = bundle.spec.process_mut() {
        o.extra_fds.add_env(p);
    }
    // Checked before anything exists: a bad "slice:prefix:name" leaves nothing behind.
    let spec_cgroups_path = bundle
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.cgroups_path().as_ref());
    let cgroups_path = crate::cgroup::cgroups_path(
        spec_cgroups_path.map(|p| p.display().to_string()),
        o.systemd_cgroup,
        &o.id,
    )?;
    let process = bundle.spec.process().as_ref().expect("validated");
    let console =
        crate::console::for_create(process, o.console_socket.as_deref(), o.tty_from_caller)?;
    std::fs::create_dir_all(&o.root).at("create state root", &o.root)?;
    let dir = state::dir(&o.root, &o.id);
    match std::fs::create_dir(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(Error::Exists(o.id.clone()))
        }
        Err(e) => return Err(Error::sys("create", &dir, e)),
    }
    let mut undo = Undo {
        dir: Some(&dir),
        pid: None,
        cgroup: None,
        poststop: None,
    };
    let fifo = dir.join(state::FIFO);
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o622))
        .at("mkfifo", &fifo)?;
    crate::exec::save_config(&dir, &bundle.spec)?;

    let plan = namespaces::plan(&bundle.spec);
    let seccomp = init::security::compile(&bundle.spec)?;
    let (parent, child) = channel::pair()?;
    // Init watches us through this until create is done (see init::die_with_parent).
    let me = hull_sys::pidfd_open(std::process::id() as i32)
        .ctx(|| "pidfd_open of hullrt create".into())?;
    let io = crate::console::InitIo {
        console: console.as_ref(),
        keep_fds: o.extra_fds.total(),
    };
    let pid = spawn_init(InitArgs {
        bundle: &bundle,
        plan: &plan,
        chan: child,
        parent: me.as_fd(),
        fifo: &fifo,
        no_pivot: o.no_pivot,
        keyring: o.new_keyring.then_some(o.id.as_str()),
        seccomp: seccomp.as_ref(),
        io,
    })?;
    drop(console);
    undo.pid = Some(pid);
    tracing::debug!(pid, "init cloned");

    if plan.new_user {
        write_id_maps(pid, &bundle)?;
        tracing::debug!("uid and gid maps written");
    }
    let (start_time, _) = hull_sys::process_start_time(pid)
        .ok_or_else(|| Error::Init("container init exited at once".into()))?;
    let mut saved = Saved {
        id: o.id.clone(),
        pid,
        start_time,
        bundle: bundle.dir.clone(),
        rootfs: bundle.rootfs.clone(),
        annotations: bundle.spec.annotations().clone().unwrap_or_default(),
        created: state::now_rfc3339(),
        owner: String::new(),
        cgroups_path: cgroups_path.clone(),
        hooks: bundle.spec.hooks().clone(),
        private_pid_ns: plan.new_pid,
    };
    undo.poststop = saved.hooks.clone().map(|h| {
        let stopped = serde_json::to_vec(&saved.oci(Status::Stopped)).unwrap_or_default();
        (h, stopped)
    });
    undo.cgroup = crate::cgroup::setup(
        &bundle.spec,
        cgroups_path.as_deref(),
        &o.id,
        pid,
        o.rootless,
    )?;
    tracing::debug!(
        cgroup = cgroups_path.as_deref().unwrap_or(""),
        "cgroup joined"
    );
    let state_json = |s: &Saved, st: Status| serde_json::to_vec(&s.oci(st)).unwrap_or_default();
    let creating = state_json(&saved, Status::Creating);
    parent.send_continue(String::from_utf8_lossy(&creating).into_owned())?;
    while let Report::HooksRequest = parent.next()? {
        tracing::debug!("init is ready for the prestart and createRuntime hooks");
        hooks::run(saved.hooks.as_ref(), Kind::Prestart, &creating)?;
        hooks::run(saved.hooks.as_ref(), Kind::CreateRuntime, &creating)?;
        parent.send_hooks_done()?;
    }
    hull_sys::fault_point("hullrt-create-ready");
    saved.owner = String::new();
    saved.save(&o.root)?;
    if let Some(pf) = &o.pid_file {
        write_pid_file(pf, pid)?;
    }
    if let Some(sock) = &o.pidfd_socket {
        crate::pidfd::send(sock, pid)?;
    }
    // Only now may init outlive us: everything that names it is written.
    parent.send_created()?;
    tracing::debug!(pid, "created; init waits on exec.fifo");
    undo.pid = None;
    undo.cgroup = None;
    undo.dir = None;
    undo.poststop = None;
    Ok(Created { saved })
}

/// Enters the namespaces that must be entered before clone, clones init, and puts the parent
/// back where it was, so hooks the parent runs later are not in the container's namespaces.
fn spawn_init(args: InitArgs<'_>) -> Result<i32> {
    let (bundle, plan) = (args.bundle, args.plan);
    let restore: Vec<(LinuxNamespaceType, std::fs::File)> = [
        (LinuxNamespaceType::Pid, "pid_for_children"),
        (LinuxNamespaceType::Time, "time_for_children"),
    ]
    .into_iter()
    .filter(|(t, _)| {
        plan.join_in_parent.iter().any(|(j, _)| j == t)
            || (*t == LinuxNamespaceType::Time && plan.new_time)
    })
    .map(|(t, name)| {
        let p = format!("/proc/self/ns/{name}");
        std::fs::File::open(&p).at("open", &p).map(|f| (t, f))
    })
    .collect::<Result<_>>()?;
    for (t, path) in &plan.join_in_parent {
        namespaces::join(*t, path)?;
    }
    if plan.new_time {
        namespaces::new_time_ns(&bundle.spec)?;
    }
    let forked = hull_sys::clone_fork(plan.clone_flags.bits() as libc::c_ulong);
    if let Ok(hull_sys::Forked::Child) = forked {
        init::run(args)
    }
    // Only the parent goes back: in the child, setns would undo what clone just gave it.
    for (t, f) in &restore {
        let _ = nix::sched::setns(f.as_fd(), namespaces::flag(*t));
    }
    match forked.ctx(|| "clone container init".into())? {
        hull_sys::Forked::Child => unreachable!("init::run does not return"),
        hull_sys::Forked::Parent(pid) => Ok(pid),
    }
}

fn map_text(maps: &[LinuxIdMapping]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
        .collect()
}

/// Writes /proc/PID/{uid_map,setgroups,gid_map} from outside the new user namespace. Root
/// writes them directly. An unprivileged caller may write only a map of its own id; anything
/// more goes through the setuid newuidmap/newgidmap helpers (Debian's uidmap), which check
/// /etc/subuid and /etc/subgid.
fn write_id_maps(pid: i32, bundle: &Bundle) -> Result<()> {
    let linux = bundle.spec.linux().as_ref().expect("validated");
    let uids = linux.uid_mappings().as_deref().unwrap_or_default();
    let gids = linux.gid_mappings().as_deref().unwrap_or_default();
    let root = nix::unistd::geteuid().is_root();
    let own = |maps: &[LinuxIdMapping], id: u32| {
        maps.len() == 1 && maps[0].host_id() == id && maps[0].size() == 1
    };
    let proc = PathBuf::from(format!("/proc/{pid}"));
    if !uids.is_empty() {
        if root || own(uids, nix::unistd::geteuid().as_raw()) {
            std::fs::write(proc.join("uid_map"), map_text(uids))
                .map_err(|e| Error::config("linux.uidMappings", format!("write uid_map: {e}")))?;
        } else {
            helper_map("newuidmap", pid, uids, "linux.uidMappings")?;
        }
    }
    if !gids.is_empty() {
        if root {
            std::fs::write(proc.join("gid_map"), map_text(gids))
                .map_err(|e| Error::config("linux.gidMappings", format!("write gid_map: {e}")))?;
        } else if own(gids, nix::unistd::getegid().as_raw()) {
            // An unprivileged writer may map its own gid only after giving up setgroups.
            let _ = std::fs::write(proc.join("setgroups"), "deny");
            std::fs::write(proc.join("gid_map"), map_text(gids))
                .map_err(|e| Error::config("linux.gidMappings", format!("write gid_map: {e}")))?;
        } else {
            helper_map("newgidmap", pid, gids, "linux.gidMappings")?;
        }
    }
    Ok(())
}

fn helper_map(tool: &str, pid: i32, maps: &[LinuxIdMapping], field: &str) -> Result<()> {
    let mut cmd = std::process::Command::new(tool);
    cmd.arg(pid.to_string());
    for m in maps {
        cmd.args([
            m.container_id().to_string(),
            m.host_id().to_string(),
            m.size().to_string(),
        ]);
    }
    let out = cmd
        .output()
        .map_err(|e| Error::config(field, format!("{tool}: {e} (install Debian's uidmap)")))?;
    if !out.status.success() {
        return Err(Error::config(
            field,
            format!("{tool}: {}", String::from_utf8_lossy(&out.stderr).trim()),
        ));
    }
    Ok(())
}

pub fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    let tmp = path.with_extension("tmp-hullrt");
    std::fs::write(&tmp, pid.to_string()).at("write pid file", &tmp)?;
    std::fs::rename(&tmp, path).at("write pid file", path)
}

/// CVE-2019-5736: a container must never reach the runtime's binary through /proc/PID/exe.
/// Init execs the program through a sealed trampoline (init/trampoline.rs), so the program
/// never sees the runtime as its own exe. Before that exec, init is the runtime: when the
/// container has a pid namespace of its own, nothing in the container can see init then; when
/// it shares or joins one, other processes can, and so hullrt first re-execs itself from a
/// sealed view of its binary (as `exec` always does; see hull_sys::reexec_sealed). Doing that
/// only when needed saves a second exec on every start.
fn seal_if_visible(bundle: &Bundle) -> Result<()> {
    const MARK: &str = "HULLRT_SEALED";
    if namespaces::plan(&bundle.spec).new_pid || std::env::var_os(MARK).is_some() {
        return Ok(());
    }
    let e = hull_sys::reexec_sealed(MARK);
    Err(Error::call(
        "re-exec hullrt from a sealed view of its binary",
        e,
    ))
}
