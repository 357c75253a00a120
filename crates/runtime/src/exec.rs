//! `exec`: another process in a running container. It joins every namespace the container's
//! init is in, the container's cgroup, and gets the process's limits, identity, capabilities,
//! LSM label and seccomp filter, like init did.
//!
//! ```text
//! hullrt exec                 intermediate (host pid ns)          process
//!  open /proc/PID/ns/*, cgroup
//!  fork ──────────────────────▶ non-dumpable, join the cgroup,
//!                               setns user, ..., mnt last
//!                               clone(CLONE_PARENT) ─────────────▶ pty, rlimits, caps, uid,
//!  read the process's pid ◀──── write its pid, exit                 seccomp, execve
//!  wait for exec (EOF) ◀──────────────────────────────────────────── or its error, exit 1
//!  wait for it, or --detach
//! ```
//!
//! The second fork is what makes the new pid namespace apply (setns(CLONE_NEWPID) only sets
//! the namespace of children); CLONE_PARENT makes the process a child of `hullrt exec` itself,
//! so it can be waited for, and after a detached exec it goes to the caller's subreaper, as
//! with runc.

use std::ffi::CString;
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use nix::sched::{setns, CloneFlags};
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use oci_spec::runtime::{Capabilities, Capability, LinuxNamespaceType, Process, Spec};

use crate::error::{Context, Error, Result};
use crate::init::{process as proc_setup, security};
use crate::namespaces;
use crate::state::{self, Saved, Status};

/// The copy of config.json that `create` keeps beside state.json: exec takes the process
/// defaults (capabilities, rlimits, seccomp, ...) from it even if the bundle is gone.
pub const CONFIG_COPY: &str = "config.json";

/// Saves the container's spec (as create used it) in its state directory.
pub fn save_config(dir: &Path, spec: &Spec) -> Result<()> {
    let path = dir.join(CONFIG_COPY);
    let bytes = serde_json::to_vec(spec).map_err(|e| Error::Other(e.to_string()))?;
    std::fs::write(&path, bytes).at("write", &path)
}

/// The container `exec` runs in: its record and its spec, each read once.
pub struct Container {
    pub saved: Saved,
    pub spec: Spec,
}

impl Container {
    pub fn load(root: &Path, id: &str) -> Result<Container> {
        let saved = Saved::load(root, id)?;
        let spec = load_config(root, &saved)?;
        Ok(Container { saved, spec })
    }
}

/// The container's spec: the copy in the state directory, or the bundle's for containers
/// created before the copy was kept.
pub fn load_config(root: &Path, saved: &Saved) -> Result<Spec> {
    let copy = state::dir(root, &saved.id).join(CONFIG_COPY);
    let path = if copy.exists() {
        copy
    } else {
        saved.bundle.join("config.json")
    };
    let bytes = std::fs::read(&path).at("read", &path)?;
    crate::spec::parse(&bytes)
}

/// `--process FILE`: the whole process, as in config.json's `process`.
pub fn process_from_file(path: &Path) -> Result<Process> {
    let bytes = std::fs::read(path).at("read", path)?;
    // serde_json alone reads a valid file; serde_path_to_error only reads a bad one again for
    // the path of the field at fault (see spec::parse).
    use serde::Deserialize;
    Process::deserialize(&mut serde_json::Deserializer::from_slice(&bytes))
        .map_err(|e| process_error(path, &bytes, e))
}

#[cold]
#[inline(never)]
fn process_error(path: &Path, bytes: &[u8], plain: serde_json::Error) -> Error {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, Process>(de) {
        Err(e) => Error::Other(format!("{}: {}: {}", path.display(), e.path(), e.inner())),
        Ok(_) => Error::Other(format!("{}: .: {plain}", path.display())),
    }
}

/// What the command line of `exec` changes in the container's process.
#[derive(Default)]
pub struct Overrides {
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: Option<PathBuf>,
    /// `--user UID[:GID]`.
    pub user: Option<String>,
    pub additional_gids: Vec<u32>,
    pub caps: Vec<String>,
    pub no_new_privs: bool,
    pub apparmor: Option<String>,
    pub process_label: Option<String>,
    pub tty: bool,
}

/// The container's `process` with the command line's changes, as runc builds it: the args
/// replaced, env appended (a later KEY wins), `--cap` added to the bounding, effective and
/// permitted sets (and to ambient when the inheritable set is given).
pub fn process_from_config(spec: &Spec, o: &Overrides) -> Result<Process> {
    let mut p = spec
        .process()
        .clone()
        .ok_or_else(|| Error::config("process", "missing"))?;
    p.set_args(Some(o.args.clone()));
    p.set_terminal(Some(o.tty));
    let mut env = p.env().clone().unwrap_or_default();
    for kv in &o.env {
        let key = kv.split('=').next().unwrap_or_default();
        env.retain(|e| e.split('=').next() != Some(key));
        env.push(kv.clone());
    }
    p.set_env(Some(env));
    if let Some(cwd) = &o.cwd {
        p.set_cwd(cwd.clone());
    }
    if let Some(u) = &o.user {
        let bad = || Error::Other(format!("--user {u:?}: expected UID[:GID] as numbers"));
        let (uid, gid) = match u.split_once(':') {
            Some((a, b)) => (
                a.parse().map_err(|_| bad())?,
                Some(b.parse().map_err(|_| bad())?),
            ),
            None => (u.parse().map_err(|_| bad())?, None),
        };
        let mut user = p.user().clone();
        user.set_uid(uid);
        if let Some(g) = gid {
            user.set_gid(g);
        }
        p.set_user(user);
    }
    if !o.additional_gids.is_empty() {
        let mut user = p.user().clone();
        user.set_additional_gids(Some(o.additional_gids.clone()));
        p.set_user(user);
    }
    if !o.caps.is_empty() {
        let mut c = p.capabilities().clone().unwrap_or_default();
        let add = |set: &Option<Capabilities>, cap: Capability| {
            let mut s = set.clone().unwrap_or_default();
            s.insert(cap);
            Some(s)
        };
        for name in &o.caps {
            let cap: Capability =
                serde_json::from_value(serde_json::Value::String(name.clone()))
                    .map_err(|_| Error::Other(format!("--cap {name:?}: unknown capability")))?;
            c.set_bounding(add(c.bounding(), cap));
            c.set_effective(add(c.effective(), cap));
            c.set_permitted(add(c.permitted(), cap));
            if c.inheritable().as_ref().is_some_and(|s| !s.is_empty()) {
                c.set_inheritable(add(c.inheritable(), cap));
                c.set_ambient(add(c.ambient(), cap));
            }
        }
        p.set_capabilities(Some(c));
    }
    if o.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    if let Some(a) = &o.apparmor {
        p.set_apparmor_profile(Some(a.clone()));
    }
    if let Some(l) = &o.process_label {
        p.set_selinux_label(Some(l.clone()));
    }
    Ok(p)
}

pub struct ExecOpts {
    pub root: PathBuf,
    pub id: String,
    pub process: Process,
    pub detach: bool,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    /// Fds 3 .. 3+N of ours that the process keeps.
    pub preserve_fds: u32,
    /// runc's `--pidfd-socket`: where a pidfd of the process is sent once it runs.
    pub pidfd_socket: Option<PathBuf>,
    /// runc's `--ignore-paused`: exec into a paused container (the process starts frozen).
    pub ignore_paused: bool,
    /// runc's `--cgroup SUB`: an existing sub-cgroup of the container's to run in.
    pub sub_cgroup: Option<String>,
}

/// Runs the process; returns its exit code (128+N for signal N), or 0 once it runs with
/// `detach`.
pub fn exec(o: &ExecOpts, c: &Container) -> Result<i32> {
    let _span = tracing::debug_span!("exec", id = %o.id).entered();
    let (saved, spec) = (&c.saved, &c.spec);
    let st = saved.status(&o.root);
    match st {
        Status::Running | Status::Created => {}
        Status::Paused if o.ignore_paused => {}
        // runc's words.
        Status::Paused => {
            return Err(Error::State {
                id: o.id.clone(),
                reason: "cannot exec in a paused container (use --ignore-paused to override)"
                    .into(),
            })
        }
        _ => {
            return Err(Error::State {
                id: o.id.clone(),
                reason: format!("cannot exec in a {st} container"),
            })
        }
    }
    let p = &o.process;
    if p.args()
        .as_ref()
        .is_none_or(|a| a.is_empty() || a[0].is_empty())
    {
        return Err(Error::config("process.args", "must name a program"));
    }
    if !p.cwd().is_absolute() {
        return Err(Error::config(
            "process.cwd",
            format!("{:?} is not an absolute path", p.cwd()),
        ));
    }
    let console = match (&o.console_socket, crate::console::wants_terminal(p)) {
        (Some(path), true) => Some(crate::console::connect(path)?),
        (None, true) if o.detach => {
            return Err(Error::Other(
                "a terminal for a detached process needs --console-socket".into(),
            ))
        }
        _ => None,
    };
    let targets = namespaces_of(spec, saved.pid)?;
    tracing::debug!(
        namespaces = targets.len(),
        "exec: joining the container's namespaces"
    );
    let in_userns = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|ns| ns.iter().any(|n| n.typ() == LinuxNamespaceType::User));
    let cgroup = match &o.sub_cgroup {
        Some(sub) => crate::cgroup::sub_of_saved(saved, sub)?,
        None => crate::cgroup::for_saved(saved)?,
    };
    let seccomp = match security::compile(spec)? {
        Some(filter) => Some(security::Seccomp {
            listener: security::connect_listener(spec, &filter)?,
            filter,
        }),
        None => None,
    };
    let state_json = serde_json::to_string(&saved.oci(Status::Running)).unwrap_or_default();
    let (err_r, err_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).ctx(|| "pipe".into())?;
    let (pid_r, pid_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).ctx(|| "pipe".into())?;
    let child = Child {
        process: p,
        targets: &targets,
        cgroup: cgroup.as_ref(),
        console: console.as_ref(),
        seccomp: seccomp.as_ref(),
        state_json: &state_json,
        in_userns,
        keep_fds: o.preserve_fds,
    };
    let mid = match hull_sys::clone_fork(0).ctx(|| "fork for exec".into())? {
        hull_sys::Forked::Child => child.intermediate(err_w, pid_w),
        hull_sys::Forked::Parent(pid) => Pid::from_raw(pid),
    };
    drop((err_w, pid_w, console, seccomp));
    let _ = waitpid(mid, None);
    let mut err_r = File::from(err_r);
    let mut buf = [0u8; 4];
    let pid = match File::from(pid_r).read_exact(&mut buf) {
        Ok(()) => Pid::from_raw(i32::from_ne_bytes(buf)),
        Err(_) => return Err(Error::Init(read_error(&mut err_r))),
    };
    // EOF: the process has exec'd (the pipe is close-on-exec); a message: it failed.
    let msg = read_error(&mut err_r);
    if !msg.is_empty() {
        let _ = waitpid(pid, None);
        return Err(Error::Init(msg));
    }
    tracing::debug!(pid = pid.as_raw(), "exec: the process runs");
    if let Some(pf) = &o.pid_file {
        crate::create::write_pid_file(pf, pid.as_raw())?;
    }
    if let Some(sock) = &o.pidfd_socket {
        crate::pidfd::send(sock, pid.as_raw())?;
    }
    if o.detach {
        return Ok(0);
    }
    wait_forwarding(pid)
}

fn read_error(r: &mut File) -> String {
    let mut s = String::new();
    let _ = r.read_to_string(&mut s);
    s
}

/// The namespace files of the container's init for each namespace type in its config that is
/// not already ours, opened now while /proc is the host's: user first (joining it gives the
/// capabilities to join the rest), mount last (after it, host paths are gone).
fn namespaces_of(spec: &Spec, pid: i32) -> Result<Vec<(CloneFlags, File)>> {
    let listed: Vec<LinuxNamespaceType> = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().clone())
        .unwrap_or_default()
        .iter()
        .map(|n| n.typ())
        .collect();
    use LinuxNamespaceType::*;
    let order = [
        (User, "user"),
        (Cgroup, "cgroup"),
        (Ipc, "ipc"),
        (Uts, "uts"),
        (Network, "net"),
        (Pid, "pid"),
        (Time, "time"),
        (Mount, "mnt"),
    ];
    let mut out = Vec::new();
    for (t, name) in order {
        if !listed.contains(&t) {
            continue;
        }
        let theirs = PathBuf::from(format!("/proc/{pid}/ns/{name}"));
        let f = File::open(&theirs).at("open namespace", &theirs)?;
        let ours = std::fs::metadata(format!("/proc/self/ns/{name}")).ok();
        let same = ours.is_some_and(|m| {
            f.metadata()
                .is_ok_and(|t| t.ino() == m.ino() && t.dev() == m.dev())
        });
        if !same {
            out.push((namespaces::flag(t), f));
        }
    }
    Ok(out)
}

/// What the forked processes need, all made before the fork.
struct Child<'a> {
    process: &'a Process,
    targets: &'a [(CloneFlags, File)],
    cgroup: &'a dyn hull_cgroups::Manager,
    console: Option<&'a UnixStream>,
    seccomp: Option<&'a security::Seccomp>,
    state_json: &'a str,
    in_userns: bool,
    keep_fds: u32,
}

enum Never {}

fn fail(err_w: &OwnedFd, e: &Error) -> ! {
    let _ = nix::unistd::write(err_w, e.to_string().as_bytes());
    hull_sys::exit_now(1)
}

impl Child<'_> {
    /// Joins the cgroup and the namespaces, forks the process, tells hullrt its pid, exits.
    fn intermediate(&self, err_w: OwnedFd, pid_w: OwnedFd) -> ! {
        // Before anything else: nothing in the container may open our /proc files.
        let _ = hull_sys::set_dumpable(false);
        let _ = hull_sys::set_name(c"hull:[exec]");
        let res = (|| -> Result<i32> {
            // Joined while still in the host's cgroup namespace, and inherited by the process.
            self.cgroup
                .add_task(std::process::id() as i32)
                .map_err(|e| Error::Cgroup(e.to_string()))?;
            for (flag, f) in self.targets {
                setns(f.as_fd(), *flag).map_err(|e| Error::call(format!("setns {flag:?}"), e))?;
            }
            match hull_sys::clone_fork(libc::CLONE_PARENT as libc::c_ulong)
                .ctx(|| "fork the exec process".into())?
            {
                hull_sys::Forked::Child => match self.process_setup() {
                    Ok(never) => match never {},
                    Err(e) => fail(&err_w, &e),
                },
                hull_sys::Forked::Parent(pid) => Ok(pid),
            }
        })();
        match res {
            Ok(pid) => {
                let _ = nix::unistd::write(&pid_w, &pid.to_ne_bytes());
                hull_sys::exit_now(0)
            }
            Err(e) => fail(&err_w, &e),
        }
    }

    /// In the container's namespaces: the same last steps as init, then exec.
    fn process_setup(&self) -> Result<Never> {
        let p = self.process;
        if let Some(sock) = self.console {
            crate::console::setup(sock, p, false)?;
        }
        proc_setup::set_rlimits(p)?;
        if let Some(adj) = p.oom_score_adj() {
            crate::rootfs::procfs::write("self/oom_score_adj", &adj.to_string())
                .map_err(|e| Error::config("process.oomScoreAdj", e.to_string()))?;
        }
        let program = proc_setup::resolve_program(p)?;
        let program = CString::new(program.as_os_str().as_encoded_bytes())
            .map_err(|_| Error::config("process.args[0]", "contains a NUL byte"))?;
        let args = p.args().as_deref().unwrap_or_default();
        let argv = proc_setup::c_strings(args, "process.args")?;
        let envp = proc_setup::c_strings(&proc_setup::env_with_home(p), "process.env")?;
        security::set_scheduling(p)?;
        security::set_lsm_labels(p)?;
        let nnp = p.no_new_privileges() == Some(true);
        // As in init: the filter goes in last, with CAP_SYS_ADMIN held for it without nnp.
        let held = proc_setup::set_identity(p, self.in_userns, self.seccomp.is_some() && !nnp)?;
        if let Some(mask) = p.user().umask() {
            hull_sys::set_umask(mask);
        }
        nix::unistd::chdir(p.cwd())
            .map_err(|e| Error::config("process.cwd", format!("chdir {:?}: {e}", p.cwd())))?;
        if nnp {
            hull_sys::set_no_new_privs().ctx(|| "prctl(PR_SET_NO_NEW_PRIVS)".into())?;
        }
        hull_sys::cloexec_from(3 + self.keep_fds).ctx(|| "close_range".into())?;
        // The process starts with no signal blocked or ignored (ours, or our caller's).
        hull_sys::reset_signals();
        if let Some(sc) = self.seccomp {
            security::load_last(sc, self.state_json, held)?;
        }
        let err = nix::unistd::execve(&program, &argv, &envp).unwrap_err();
        Err(Error::config(
            "process.args[0]",
            format!("exec {:?}: {err}", args[0]),
        ))
    }
}

const FORWARDED: [Signal; 8] = [
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGTERM,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
    Signal::SIGCONT,
];

/// Waits for our child `pid`, passing on the signals we get; its exit code, 128+N on signal N.
/// Used by `exec` and by `run` in the foreground.
pub(crate) fn wait_forwarding(pid: Pid) -> Result<i32> {
    let mut set = SigSet::empty();
    set.add(Signal::SIGCHLD);
    for s in FORWARDED {
        set.add(s);
    }
    set.thread_block()
        .map_err(|e| Error::call("block signals", e))?;
    let code = loop {
        match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(_, code)) => break code,
            Ok(WaitStatus::Signaled(_, sig, _)) => break 128 + sig as i32,
            Ok(_) => {}
            Err(nix::errno::Errno::ECHILD) => break 255,
            Err(e) => return Err(Error::call(format!("wait for process {pid}"), e)),
        }
        match set.wait() {
            Ok(Signal::SIGCHLD) | Err(_) => {}
            Ok(sig) => {
                let _ = kill(pid, sig);
            }
        }
    };
    let _ = set.thread_unblock();
    Ok(code)
}
