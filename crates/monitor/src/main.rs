//! hull-monitor: see lib.rs. Started by `hull start`/`run` as
//! `hull-monitor --id ID --runtime RT --runtime-root DIR --bundle DIR [--log FILE]
//! [--log-driver D] [--tty] [--stdin] [--rows R --cols C] [--restart POLICY --max N]
//! [--sync] -- HOOK...`, where HOOK is the command (hull's hidden `internal-hook`) run
//! with `started ID PID` after a restart and `exited ID CODE` at each exit; the hook answers
//! with exit status 3 when the restart policy brings the container back.

mod event;
mod logger;
mod start;

use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::process::Command;

use hull_monitor::proto;
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::SignalFd;

pub struct Args {
    pub id: String,
    pub runtime: String,
    pub runtime_root: String,
    pub bundle: String,
    pub log: String,
    pub log_driver: String,
    pub tty: bool,
    pub stdin: bool,
    pub rows: u16,
    pub cols: u16,
    pub restart: String,
    pub sync: bool,
    pub hook: Vec<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        id: String::new(),
        runtime: String::new(),
        runtime_root: String::new(),
        bundle: String::new(),
        log: String::new(),
        log_driver: "json-file".into(),
        tty: false,
        stdin: false,
        rows: 0,
        cols: 0,
        restart: String::new(),
        sync: false,
        hook: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{k}: missing value"));
        match k.as_str() {
            "--id" => a.id = val()?,
            "--runtime" => a.runtime = val()?,
            "--runtime-root" => a.runtime_root = val()?,
            "--bundle" => a.bundle = val()?,
            "--log" => a.log = val()?,
            "--log-driver" => a.log_driver = val()?,
            "--tty" => a.tty = true,
            "--stdin" => a.stdin = true,
            "--rows" => a.rows = val()?.parse().map_err(|_| "--rows: not a number")?,
            "--cols" => a.cols = val()?.parse().map_err(|_| "--cols: not a number")?,
            "--restart" => a.restart = val()?,
            "--sync" => a.sync = true,
            "--" => {
                a.hook = it.by_ref().collect();
                break;
            }
            _ => return Err(format!("unknown argument {k:?}")),
        }
    }
    if a.id.is_empty() || a.runtime.is_empty() || a.bundle.is_empty() || a.hook.is_empty() {
        return Err("--id, --runtime, --bundle and a hook command are required".into());
    }
    Ok(a)
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("hull-monitor: {e}");
            std::process::exit(2);
        }
    };
    // With --sync, the starter hands us one end of a socketpair as our stdin.
    let sync = if args.sync {
        std::io::stdin()
            .as_fd()
            .try_clone_to_owned()
            .ok()
            .map(UnixStream::from)
    } else {
        None
    };
    std::process::exit(run(args, sync));
}

fn run(args: Args, mut sync: Option<UnixStream>) -> i32 {
    let fail = |sync: &mut Option<UnixStream>, msg: String| {
        if let Some(s) = sync.as_mut() {
            let _ = proto::write_frame(s, proto::ERROR, msg.as_bytes());
        }
        1
    };
    // Our own session: a terminal's hangup or ^C for the starting `hull` never reaches us.
    let _ = nix::unistd::setsid();
    if let Err(e) = hull_sys::set_child_subreaper() {
        return fail(&mut sync, format!("monitor: set child subreaper: {e}"));
    }
    let _ = hull_sys::set_name(c"hull-monitor");
    if let Err(e) = std::env::set_current_dir(&args.bundle) {
        return fail(&mut sync, format!("monitor: bundle {}: {e}", args.bundle));
    }
    // SIGCHLD arrives through a signalfd; the runtime and the hook get an empty mask back
    // (std's spawn resets it).
    let mut mask = SigSet::empty();
    mask.add(Signal::SIGCHLD);
    if mask.thread_block().is_err() {
        return fail(&mut sync, "monitor: block SIGCHLD".into());
    }
    let sigfd = match SignalFd::with_flags(&mask, nix::sys::signalfd::SfdFlags::SFD_CLOEXEC) {
        Ok(s) => s,
        Err(e) => return fail(&mut sync, format!("monitor: signalfd: {e}")),
    };
    // A hangup or ^C of the terminal we were started from is not for us (blocked here; the
    // runtime and the hook start with an empty mask again).
    let mut quiet = SigSet::empty();
    for s in [
        Signal::SIGHUP,
        Signal::SIGINT,
        Signal::SIGTTOU,
        Signal::SIGTTIN,
    ] {
        quiet.add(s);
    }
    let _ = quiet.thread_block();
    let _ = std::fs::remove_file("attach");
    let listener = match UnixListener::bind("attach") {
        Ok(l) => l,
        Err(e) => return fail(&mut sync, format!("monitor: attach socket: {e}")),
    };
    let mut io = match start::Stdio::new(args.stdin, args.tty) {
        Ok(io) => io,
        Err(e) => return fail(&mut sync, format!("monitor: stdio pipes: {e}")),
    };
    let mut mon = event::Monitor::new(
        listener,
        sigfd,
        logger::Logger::open(&args.log, &args.log_driver),
    );
    let mut first = true;
    let mut backoff_ms = 100u64;
    let code = loop {
        let pid = match start::start(&args, &mut io, if first { sync.as_mut() } else { None }) {
            Ok(pid) => pid,
            Err(msg) if first => return fail(&mut sync, msg),
            // A restart that fails is an exit like another: the hook and policy decide.
            Err(_) => 0,
        };
        if first {
            if let Some(s) = sync.take() {
                mon.add_client(s, true);
                mon.set_flags_of_last(io.sync_hello.unwrap_or(0));
            }
        } else if pid > 0 {
            let _ = hook(&args, "started", pid);
        }
        first = false;
        let code = if pid > 0 {
            mon.wait_exit(pid, &mut io)
        } else {
            127
        };
        let _ = std::fs::File::create("exit.tmp")
            .and_then(|mut f| f.write_all(code.to_string().as_bytes()))
            .and_then(|_| std::fs::rename("exit.tmp", "exit"));
        let status = match mon.client_hook(code) {
            Some(s) => Some(s),
            None => hook(&args, "exited", code),
        };
        if status == Some(3) {
            std::thread::sleep(std::time::Duration::from_millis(backoff_ms));
            backoff_ms = (backoff_ms * 2).min(10_000);
            continue;
        }
        break code;
    };
    mon.finish(code);
    0
}

/// Runs hull's exit hook; its exit status (3: restart).
fn hook(args: &Args, event: &str, value: i32) -> Option<i32> {
    Command::new(&args.hook[0])
        .args(&args.hook[1..])
        .args([event, &args.id, &value.to_string()])
        .stdin(std::process::Stdio::null())
        .status()
        .ok()
        .and_then(|s| s.code())
}
