//! hull-monitor, one small process per container (see crates/monitor's lib.rs for what it
//! does and crates/monitor/src/args.rs for its command line). No std and no libc, to keep
//! each monitor's memory small: origin starts the program and calls `origin_main`, rustix
//! makes the system calls, rustix-dlmalloc is the allocator. The unsafe parts are in sys.rs.

// Under `cargo clippy --all-targets` the binary is also checked as a test, with std.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

extern crate alloc;
// Nothing names origin, but it provides `_start`, which calls origin_main.
extern crate origin;

mod event;
mod fdio;
mod health;
mod oom;
mod start;
mod sys;

use alloc::format;
use alloc::string::{String, ToString};

use hull_monitor::args::{self, Args};
use hull_monitor::proto;
use rustix::process::Signal;

use crate::fdio::Conn;
use crate::sys::{Start, Status};

#[cfg(not(test))]
#[global_allocator]
static GLOBAL: rustix_dlmalloc::GlobalDlmalloc = rustix_dlmalloc::GlobalDlmalloc;

/// Called by origin's `_start` with the kernel's arguments and environment.
#[unsafe(no_mangle)]
unsafe fn origin_main(argc: usize, argv: *mut *mut u8, envp: *mut *mut u8) -> i32 {
    // SAFETY: origin passes argc, argv and envp as the kernel laid them out on the initial
    // stack, which lives as long as the process.
    let start = unsafe { Start::new(argc, argv.cast_const().cast(), envp.cast_const().cast()) };
    main(start)
}

#[cfg(not(test))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    sys::eprint(&format!("hull-monitor: {info}\n"));
    rustix::runtime::exit_group(101)
}

/// core and alloc come prebuilt for unwinding and name this symbol; with panic=abort nothing
/// calls it.
#[cfg(not(test))]
#[unsafe(no_mangle)]
extern "C" fn rust_eh_personality() {}

fn main(start: Start) -> i32 {
    let args = match args::parse(start.args.iter().cloned()) {
        Ok(a) => a,
        Err(e) => {
            sys::eprint(&format!("hull-monitor: {e}\n"));
            return 2;
        }
    };
    for fd in &args.hold {
        sys::hold(*fd);
    }
    // With --sync, the starter hands us one end of a socketpair as our stdin.
    let sync = if args.sync {
        sys::stdin_dup().ok().map(Conn::new)
    } else {
        None
    };
    run(&args, &start, sync)
}

/// One trace line on stderr, with `--log-level debug` (hull's stderr then: see
/// crates/monitor/src/trace.rs).
pub(crate) fn trace(args: &Args, msg: &str) {
    if hull_monitor::trace::debug(&args.log_level) {
        sys::eprint(&hull_monitor::trace::line(&fdio::now(), msg, &args.id));
    }
}

/// The first start failed: the starter (if any) and our stderr get one line; exit status 1.
fn fail(sync: &mut Option<Conn>, msg: String) -> i32 {
    sys::eprint(&format!("hull-monitor: {msg}\n"));
    if let Some(s) = sync.as_ref() {
        let _ = s.send(proto::ERROR, msg.as_bytes());
    }
    1
}

fn run(args: &Args, start: &Start, mut sync: Option<Conn>) -> i32 {
    // Our own session: a terminal's hangup or ^C for the starting `hull` never reaches us.
    let _ = rustix::process::setsid();
    if let Err(e) = rustix::process::set_child_subreaper(Some(rustix::process::Pid::INIT)) {
        let msg = format!("monitor: set child subreaper: {}", fdio::errmsg(e));
        return fail(&mut sync, msg);
    }
    let _ = rustix::thread::set_name(c"hull-monitor");
    if let Err(e) = rustix::process::chdir(args.bundle.as_str()) {
        let msg = format!("monitor: bundle {}: {}", args.bundle, fdio::errmsg(e));
        return fail(&mut sync, msg);
    }
    // Beside the runtime's pid file: if the starting hull is killed before it records us,
    // the next hull finds the monitor of the container it adopts (crates/engine/src/container/reconcile.rs).
    let me = rustix::process::getpid().as_raw_nonzero().get();
    let _ = fdio::write_file_atomic("monitor.pid", me.to_string().as_bytes());
    // SIGCHLD arrives through a signalfd. A hangup or ^C of the terminal we were started from
    // is not for us, and a client gone mid-write is an EPIPE, not a SIGPIPE. All blocked here;
    // the runtime and the hook start with an empty mask and default dispositions.
    if sys::block(&[Signal::CHILD]).is_err() {
        return fail(&mut sync, "monitor: block SIGCHLD".into());
    }
    let sigfd = match sys::signalfd(&[Signal::CHILD]) {
        Ok(s) => s,
        Err(e) => return fail(&mut sync, format!("monitor: signalfd: {}", fdio::errmsg(e))),
    };
    let _ = sys::block(&[
        Signal::HUP,
        Signal::INT,
        Signal::TTOU,
        Signal::TTIN,
        Signal::PIPE,
    ]);
    let listener = match start::listen("attach") {
        Ok(l) => l,
        Err(e) => {
            return fail(
                &mut sync,
                format!("monitor: attach socket: {}", fdio::errmsg(e)),
            )
        }
    };
    let mut io = match start::Stdio::new(args.stdin, args.tty) {
        Ok(io) => io,
        Err(e) => {
            return fail(
                &mut sync,
                format!("monitor: stdio pipes: {}", fdio::errmsg(e)),
            )
        }
    };
    let logger = event::Logger::open(&args.log, &args.log_driver);
    let mut mon = event::Monitor::new(listener, sigfd, logger, health::Timer::new(args, start));
    let mut first = true;
    let mut backoff_ms = 100u64;
    let code = loop {
        // Each run's OOM kill is its own (oom.rs writes the file while it runs).
        fdio::remove(oom::FILE);
        let pid = match start::start(
            args,
            start,
            &mut io,
            if first { sync.as_mut() } else { None },
        ) {
            Ok(pid) => pid,
            Err(msg) if first => return fail(&mut sync, msg),
            // A restart that fails is an exit like another: the hook and policy decide.
            Err(msg) => {
                trace(args, &format!("restart failed: {msg}"));
                0
            }
        };
        if first {
            if let Some(s) = sync.take() {
                mon.add_client(s);
            }
        } else if pid > 0 {
            let _ = hook(args, start, "started", pid);
        }
        first = false;
        if pid > 0 {
            trace(args, &format!("container started, init pid {pid}"));
        }
        let code = if pid > 0 {
            mon.wait_exit(pid, &mut io)
        } else {
            127
        };
        trace(args, &format!("container exited with {code}"));
        let _ = fdio::write_file_atomic("exit", code.to_string().as_bytes());
        let status = match mon.client_hook(code) {
            Some(s) => Some(s),
            None => hook(args, start, "exited", code),
        };
        if status == Some(3) {
            let _ = rustix::thread::nanosleep(&rustix::time::Timespec {
                tv_sec: (backoff_ms / 1000) as i64,
                tv_nsec: ((backoff_ms % 1000) * 1_000_000) as i64,
            });
            backoff_ms = (backoff_ms * 2).min(10_000);
            continue;
        }
        break code;
    };
    mon.finish(code);
    0
}

/// Runs hull's exit hook; its exit status (3: restart).
fn hook(args: &Args, start: &Start, event: &str, value: i32) -> Option<i32> {
    let mut v = args.hook[1..].to_vec();
    v.extend([event.to_string(), args.id.clone(), value.to_string()]);
    let cmd = sys::Command {
        prog: &args.hook[0],
        args: v,
        stdio: [sys::Io::Null, sys::Io::Inherit, sys::Io::Inherit],
    };
    trace(args, &format!("exit hook: {event} {value}"));
    match sys::wait(sys::spawn(&cmd, start).ok()?) {
        Status::Exited(c) => Some(c),
        Status::Signaled(_) => None,
    }
}
