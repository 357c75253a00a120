//! `exec`: a process in a running container through the runtime's `exec --process`, with the
//! container's environment, user rules and privileges. The caller passes the streams (the
//! CLI its own stdio, the API service the hijacked connection) and gets the exit code; -t
//! gets a pty of its own (the runtime sends its master to our console socket), relayed to
//! the caller's streams. An exec is an instance stored in the container's run directory
//! (exec/instance.rs), so it can be inspected after it ended (docker's `exec inspect`).

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::process::Stdio;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::bundle::spec;
use crate::container::Container;
use crate::engine::Engine;
use crate::ocirt::driver::ExecCall;

mod instance;
mod relay;
mod tty;

pub use instance::ExecInstance;

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("container {0} is not running")]
    NotRunning(String),
    #[error("no such exec instance: {0}")]
    NoSuchExec(String),
    #[error("exec instance {0} has already been started")]
    AlreadyStarted(String),
    #[error(transparent)]
    Spec(#[from] spec::SpecError),
    #[error("exec: {0}")]
    Io(#[from] std::io::Error),
    #[error("exec: {0}")]
    Clock(#[from] crate::container::clock::ClockError),
}

/// What to run and how (docker's exec config).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Opts {
    pub detach: bool,
    /// Keep the process's stdin open: the caller's stdin goes to it.
    pub interactive: bool,
    pub tty: bool,
    pub env: Vec<String>,
    pub user: Option<String>,
    pub workdir: Option<String>,
    pub privileged: bool,
    /// The terminal's size at start (rows, columns), if known.
    #[serde(default)]
    pub console_size: Option<(u16, u16)>,
    /// docker's `DetachKeys` of the exec config, as given (the API service scans the
    /// client's input for them; None: docker's default).
    #[serde(default)]
    pub detach_keys: Option<String>,
}

/// Where the process's streams go.
pub struct Streams {
    /// What goes to the process's stdin, when the exec is interactive (its end of file
    /// closes the process's stdin; with a terminal, nothing more is typed).
    pub stdin: Option<Box<dyn Read + Send>>,
    /// The process's stdout (with a terminal, the terminal's output).
    pub stdout: Box<dyn Write + Send>,
    /// The process's stderr without a terminal, and the runtime's own messages.
    pub stderr: Box<dyn Write + Send>,
    /// With a terminal: given the pty once the process has it (for resizes and signals).
    pub on_tty: Option<Box<dyn FnOnce(Tty) + Send>>,
    /// With a terminal: a byte read here detaches (the caller found its detach keys); the
    /// process runs on, its output discarded, and the exec answers 0.
    pub detach: Option<UnixStream>,
}

impl Streams {
    /// No input; output discarded.
    pub fn null() -> Streams {
        Streams {
            stdin: None,
            stdout: Box::new(std::io::sink()),
            stderr: Box::new(std::io::sink()),
            on_tty: None,
            detach: None,
        }
    }
}

/// An exec's terminal, as the caller gets it.
pub struct Tty {
    /// The pty's master.
    pub master: std::fs::File,
    /// The runtime's `exec` process: signals for the exec'd process are sent to it, and it
    /// passes them on.
    pub runtime_pid: i32,
}

impl Tty {
    /// Sets the terminal's size (rows, columns).
    pub fn resize(&self, rows: u16, cols: u16) -> std::io::Result<()> {
        use std::os::fd::AsFd;
        hull_sys::tty::set_window_size(self.master.as_fd(), rows, cols)
    }
}

pub(crate) fn process(
    eng: &Engine,
    c: &Container,
    args: &[String],
    o: &Opts,
) -> Result<Value, ExecError> {
    let cfg = &c.config;
    let mut env = vec![
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
        format!(
            "HOSTNAME={}",
            if cfg.hostname.is_empty() {
                c.short_id()
            } else {
                &cfg.hostname
            }
        ),
    ];
    if o.tty {
        env.push("TERM=xterm".into());
    }
    env = crate::container::config::merge_env(&env, &cfg.env);
    env = crate::container::config::merge_env(&env, &o.env);
    let user = o.user.clone().unwrap_or_else(|| cfg.user.clone());
    // No user: root, with root's groups from the image's /etc/group (docker's).
    let user = if user.is_empty() { "0" } else { &user };
    let (uid, gid, extra) = spec::resolve_user(&eng.paths.rootfs(&c.id), user)?;
    let caps = spec::capabilities(o.privileged || cfg.privileged, &cfg.cap_add, &cfg.cap_drop)?;
    let cwd = o.workdir.clone().unwrap_or_else(|| {
        if cfg.working_dir.is_empty() {
            "/".into()
        } else {
            cfg.working_dir.clone()
        }
    });
    let mut p = json!({
        "terminal": o.tty,
        "user": { "uid": uid, "gid": gid },
        "args": args,
        "env": env,
        "cwd": cwd,
        "capabilities": { "bounding": caps, "effective": caps, "permitted": caps },
        "noNewPrivileges": cfg.no_new_privileges,
    });
    if !extra.is_empty() {
        p["user"]["additionalGids"] = json!(extra);
    }
    Ok(p)
}

/// Runs the instance `x` in `c` with `streams`; the process's exit code (0 at once when
/// detached).
fn run(eng: &Engine, c: &Container, x: &ExecInstance, streams: Streams) -> Result<i32, ExecError> {
    if !c.status.is_live() {
        return Err(ExecError::NotRunning(c.name.clone()));
    }
    let run_dir = eng.paths.run_dir(&c.id);
    let tag = &x.id[..12];
    let pfile = run_dir.join(format!("exec-{tag}.json"));
    // docker's exec events: the command in the action, the exec's id as an attribute.
    let line = x.args.join(" ");
    let id_attr = [("execID", x.id.clone())];
    hull_image::perms::write_private(
        &pfile,
        &serde_json::to_vec(&process(eng, c, &x.args, &x.opts)?).expect("json"),
    )?;
    let sock_name = format!("exec-{tag}.sock");
    let o = &x.opts;
    let listener = if o.tty && !o.detach {
        Some(hull_sys::fdpass::bind(&run_dir.join(&sock_name))?)
    } else {
        None
    };
    let call = ExecCall {
        dir: run_dir.clone(),
        process: pfile.clone(),
        console_socket: listener.as_ref().map(|_| sock_name.clone()),
        pid_file: Some(instance::pid_file(eng, &c.id, &x.id)),
        detach: o.detach,
    };
    let cmd = eng.oci.exec(&c.id, &call);
    if let Err(e) = crate::container::clock::before_exec(eng, c) {
        let _ = std::fs::remove_file(&pfile);
        let _ = std::fs::remove_file(run_dir.join(&sock_name));
        return Err(e.into());
    }
    // None of the caller's fds ever reaches the process: a file the caller redirected from,
    // the caller's terminal or the service's connections would be the container's to write
    // or read (docker and podman relay every stream too). The runtime's stdio becomes the
    // process's stdio without a terminal, so it gets pipes of ours (or /dev/null); with one,
    // the process gets the pty.
    crate::events::container(&eng.paths, c, &format!("exec_start: {line}"), &id_attr);
    let stdin = if o.interactive { streams.stdin } else { None };
    let res = match listener {
        None if o.detach => detached(cmd, streams.stderr),
        None => relay::with_pipes(cmd, stdin, streams.stdout, streams.stderr),
        Some(l) => tty::with_pty(
            cmd,
            l,
            tty::Ends {
                stdin,
                stdout: streams.stdout,
                stderr: streams.stderr,
                on_tty: streams.on_tty,
                detach: streams.detach,
                size: o.console_size,
            },
        ),
    };
    let _ = std::fs::remove_file(&pfile);
    let _ = std::fs::remove_file(run_dir.join(&sock_name));
    // A detached process ends later, unseen: docker's exec_die only for one we waited for.
    if let (Ok(code), false) = (&res, o.detach) {
        let attrs = [id_attr[0].clone(), ("exitCode", code.to_string())];
        crate::events::container(&eng.paths, c, "exec_die", &attrs);
    }
    Ok(res?)
}

/// `exec -d`: the process gets /dev/null for stdin and stdout; its stderr, which is also
/// where the runtime reports a failure, is a pipe whose read end, once the runtime has
/// returned, a `hull internal-drain` holds, so a later write neither fails nor blocks.
fn detached(
    mut cmd: std::process::Command,
    mut stderr: Box<dyn Write + Send>,
) -> std::io::Result<i32> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn()?;
    let err = child.stderr.take().expect("piped stderr");
    let code = child.wait()?.code().unwrap_or(128 + 9);
    let err = relay::drain_available(OwnedFd::from(err).into(), &mut stderr)?;
    if let Some(rest) = err {
        hold(rest)?;
    }
    Ok(code)
}

/// After a detach: a process of its own (`hull internal-drain`) keeps the pipe or the pty
/// master open and reads what the process writes until it ends, so it neither gets a hangup
/// nor blocks on a full terminal.
fn hold(master: std::fs::File) -> std::io::Result<()> {
    let exe = std::env::current_exe()?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("internal-drain")
        .stdin(Stdio::from(master))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    cmd.spawn().map(crate::children::leave)
}

/// `hull internal-drain`: reads our stdin to its end (or error) and discards it.
pub fn drain_stdin() {
    let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
}

impl Engine {
    /// `exec create`: a new exec instance of `args` in the running container `key`; its id.
    pub fn exec_create(&self, key: &str, args: Vec<String>, opts: Opts) -> crate::Result<String> {
        let c = self.lookup(key)?;
        if !c.status.is_live() {
            return Err(ExecError::NotRunning(c.name.clone()).into());
        }
        // Checked now, as docker does: an unknown user is the create's error.
        process(self, &c, &args, &opts)?;
        let x = ExecInstance::new(&c.id, args, opts);
        x.save(self).map_err(ExecError::from)?;
        // docker's exec events: the command in the action, the exec's id as an attribute.
        let line = x.args.join(" ");
        let id_attr = [("execID", x.id.clone())];
        crate::events::container(&self.paths, &c, &format!("exec_create: {line}"), &id_attr);
        Ok(x.id)
    }

    /// `exec start`: runs the instance `id` with `streams`; the exit code (0 when detached).
    /// The instance records it, for [`Engine::exec_inspect`].
    pub fn exec_start(&self, id: &str, streams: Streams) -> crate::Result<i32> {
        let mut x = ExecInstance::load(self, id)?;
        if x.started {
            return Err(crate::Error::Conflict(
                ExecError::AlreadyStarted(id.into()).to_string(),
            ));
        }
        let c = self.lookup(&x.container_id)?;
        x.started = true;
        x.running = true;
        x.save(self).map_err(ExecError::from)?;
        let res = run(self, &c, &x, streams);
        x.running = x.opts.detach && res.is_ok();
        x.exit_code = match &res {
            Ok(code) if !x.opts.detach => Some(*code),
            Ok(_) => None,
            Err(_) => Some(126),
        };
        x.save(self).map_err(ExecError::from)?;
        Ok(res?)
    }

    /// `exec inspect`: the instance `id` as it is now.
    pub fn exec_inspect(&self, id: &str) -> crate::Result<ExecInstance> {
        ExecInstance::load(self, id).map(|x| x.refreshed(self))
    }

    /// `exec` in one call (the CLI's `hull exec`): create, start, and the instance gone
    /// after, since nobody can ask for it.
    pub fn exec(
        &self,
        key: &str,
        args: Vec<String>,
        opts: Opts,
        streams: Streams,
    ) -> crate::Result<i32> {
        let id = self.exec_create(key, args, opts)?;
        let res = self.exec_start(&id, streams);
        ExecInstance::remove(self, &id);
        res
    }
}

#[cfg(test)]
mod tests;
