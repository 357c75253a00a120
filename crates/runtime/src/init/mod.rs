//! The container's init: what runs in the child between clone and exec. It is the same
//! process that becomes the container's program (no re-exec of the runtime, no second fork).

pub mod process;
pub mod security;
mod trampoline;

use std::ffi::CString;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::path::Path;

use nix::fcntl::{open, OFlag};
use nix::sched::unshare;
use nix::sys::stat::Mode;

use crate::channel::InitEnd;
use crate::error::{Context, Error, Result};
use crate::hooks::{self, Kind};
use crate::namespaces::{self, Plan};
use crate::spec::Bundle;

pub struct InitArgs<'a> {
    pub bundle: &'a Bundle,
    pub plan: &'a Plan,
    pub chan: InitEnd,
    /// A pidfd of `hullrt create`, which init must not outlive until create is done.
    pub parent: BorrowedFd<'a>,
    /// The exec fifo that `start` opens; init blocks on it before exec.
    pub fifo: &'a Path,
    pub no_pivot: bool,
    /// Join a new session keyring named `_ses.ID`, so the container does not share the
    /// caller's keys.
    pub keyring: Option<&'a str>,
    /// `linux.seccomp`, compiled by the parent before clone.
    pub seccomp: Option<&'a hull_seccomp::Filter>,
    /// The console socket (a pty replaces stdio) and how many fds above stdio to keep.
    pub io: crate::console::InitIo<'a>,
}

/// Entry point in the child. Never returns: it execs the container's program or exits 1
/// after telling the parent what went wrong.
pub fn run(args: InitArgs<'_>) -> ! {
    let _ = hull_sys::set_name(c"hull:[init]");
    die_with_parent(args.parent);
    match setup(&args) {
        Ok(never) => match never {},
        Err(e) => {
            args.chan.send_error(&e.to_string());
            hull_sys::exit_now(1)
        }
    }
}

enum Never {}

fn setup(a: &InitArgs<'_>) -> Result<Never> {
    let spec = &a.bundle.spec;
    let process = spec.process().as_ref().expect("validated");
    let plan = a.plan;
    // Opened now, while the host's filesystem is still visible. Read-write, so the open does
    // not block and a later read waits for `start`'s byte instead of seeing end-of-file.
    let fifo: OwnedFd =
        open(a.fifo, OFlag::O_RDWR | OFlag::O_CLOEXEC, Mode::empty()).at("open", a.fifo)?;

    let state_json = a.chan.wait_for_continue()?;
    // Until exec, nothing in the container may open our /proc files (exe, mem, fds): a
    // non-dumpable process's /proc entries belong to root in the initial user namespace.
    // Not before the parent has written our id maps: as a non-root parent it could no longer
    // open /proc/PID/uid_map.
    let _ = hull_sys::set_dumpable(false);
    if let Some(id) = a.keyring {
        match hull_sys::join_session_keyring(&format!("_ses.{id}")) {
            Ok(()) => {}
            // A kernel without keys support has no keyring to share either.
            Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {}
            Err(e) => return Err(Error::call("join a new session keyring", e)),
        }
    }
    // Our cgroup paths as the host names them, for bind mounts at /sys/fs/cgroup when a
    // cgroup namespace cannot mount the hierarchies itself (v1 inside a user namespace).
    crate::rootfs::remember_own_cgroups();
    let in_userns = plan.new_user || plan.joins_user;
    if plan.new_user {
        // The parent has written our id maps: become the namespace's root.
        hull_sys::set_ids(0, 0).ctx(|| "become root in the new user namespace".into())?;
        die_with_parent(a.parent);
    }
    for (t, path) in &plan.join_in_init {
        namespaces::join(*t, path)?;
    }
    if plan.joins_user {
        // setns keeps our host ids, which the joined namespace does not map: become its root.
        hull_sys::set_ids(0, 0).ctx(|| "become root in the joined user namespace".into())?;
        die_with_parent(a.parent);
    }
    if !plan.unshare_in_init.is_empty() {
        unshare(plan.unshare_in_init).ctx(|| "unshare namespaces".into())?;
    }
    if plan.new_net {
        // A new network namespace starts with its loopback down; runc and crun bring it up
        // (localhost must answer), and so does this, while init still has CAP_NET_ADMIN.
        hull_sys::link_up("lo").ctx(|| "bring lo up in the new network namespace".into())?;
    }
    let seccomp = match a.seccomp {
        Some(filter) => Some(security::Seccomp {
            filter: filter.clone(),
            listener: security::connect_listener(spec, filter)?,
        }),
        None => None,
    };
    if let Some(h) = spec.hostname().as_deref().filter(|h| !h.is_empty()) {
        nix::unistd::sethostname(h).map_err(|e| Error::config("hostname", e.to_string()))?;
    }
    if let Some(d) = spec.domainname().as_deref().filter(|h| !h.is_empty()) {
        hull_sys::set_domainname(d).map_err(|e| Error::config("domainname", e.to_string()))?;
    }

    crate::rootfs::prepare(spec, &a.bundle.dir, &a.bundle.rootfs, in_userns)?;
    a.chan.request_hooks()?;
    hooks::run(
        spec.hooks().as_ref(),
        Kind::CreateContainer,
        state_json.as_bytes(),
    )?;
    crate::rootfs::enter(&a.bundle.rootfs, a.no_pivot)?;
    // After pivot_root, so the pty comes from the container's devpts; before the read-only
    // root, so /dev/console can still be created.
    if let Some(sock) = a.io.console {
        crate::console::setup(sock, process, true)?;
    }
    crate::rootfs::finish(spec)?;

    process::set_rlimits(process)?;
    if let Some(adj) = process.oom_score_adj() {
        crate::rootfs::procfs::write("self/oom_score_adj", &adj.to_string())
            .map_err(|e| Error::config("process.oomScoreAdj", e.to_string()))?;
    }
    let program = process::resolve_program(process)?;
    let argv = process::c_strings(
        process.args().as_deref().unwrap_or_default(),
        "process.args",
    )?;
    let envp = process::c_strings(&process::env_with_home(process), "process.env")?;
    let program = CString::new(program.as_os_str().as_encoded_bytes())
        .map_err(|_| Error::config("process.args[0]", "contains a NUL byte"))?;
    let exec_via = trampoline::sealed()?;
    let cwd = process.cwd();
    if !cwd.exists() {
        std::fs::create_dir_all(cwd).map_err(|e| Error::config("process.cwd", e.to_string()))?;
    }

    security::set_scheduling(process)?;
    security::set_lsm_labels(process)?;
    let nnp = process.no_new_privileges() == Some(true);
    // Without no_new_privs, loading the filter needs CAP_SYS_ADMIN: keep it until then.
    let held = process::set_identity(process, in_userns, seccomp.is_some() && !nnp)?;
    die_with_parent(a.parent);
    if let Some(mask) = process.user().umask() {
        hull_sys::set_umask(mask);
    }
    nix::unistd::chdir(cwd).map_err(|e| Error::config("process.cwd", format!("chdir: {e}")))?;
    if nnp {
        hull_sys::set_no_new_privs().ctx(|| "prctl(PR_SET_NO_NEW_PRIVS)".into())?;
    }
    // Nothing of the runtime's may reach the program: every fd above stdio and the ones it
    // was given (socket activation, --preserve-fds) closes on exec.
    hull_sys::cloexec_from(3 + a.io.keep_fds).ctx(|| "close_range".into())?;

    a.chan.send_ready()?;
    a.chan.wait_for_created(|| {
        hull_sys::set_parent_death_signal(0).ctx(|| "prctl(PR_SET_PDEATHSIG, 0)".into())
    })?;
    wait_for_start(&fifo)?;
    hooks::run(
        spec.hooks().as_ref(),
        Kind::StartContainer,
        state_json.as_bytes(),
    )?;
    // The program starts with no signal blocked or ignored. Not earlier: the hooks above
    // are written to through pipes, where SIGPIPE must stay ignored.
    hull_sys::reset_signals();
    if let Some(sc) = &seccomp {
        security::load_last(sc, &state_json, held)?;
    }
    let err = trampoline::exec(&exec_via, &program, &argv, &envp);
    Err(Error::config(
        "process.args[0]",
        format!(
            "exec {:?}: {err}",
            process.args().as_deref().unwrap_or_default()[0]
        ),
    ))
}

/// Until `create` has recorded the container, init dies with it, as runc's does: a killed
/// `hullrt create` must not leave an init blocked on exec.fifo that no state names. Called
/// again after each change of credentials, which clears the parent-death signal. If the
/// parent died before the prctl, no signal will come: its pidfd tells.
fn die_with_parent(parent: BorrowedFd<'_>) {
    if hull_sys::set_parent_death_signal(libc::SIGKILL).is_err() || hull_sys::pidfd_exited(parent) {
        hull_sys::exit_now(1)
    }
}

/// Blocks until `hullrt start` writes its byte into the exec fifo.
fn wait_for_start(fifo: &OwnedFd) -> Result<()> {
    let mut b = [0u8; 1];
    loop {
        match nix::unistd::read(fifo, &mut b) {
            Ok(1) => return Ok(()),
            Err(nix::errno::Errno::EINTR) => continue,
            Ok(_) => return Err(Error::Other("exec fifo closed before start".into())),
            Err(e) => return Err(Error::call("read exec fifo", e)),
        }
    }
}
