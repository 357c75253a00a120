//! One healthcheck run: the test through the runtime's `exec` (the same process `hull exec`
//! makes: the container's env, user and capabilities), its stdout and stderr together in one
//! pipe of which the first 4096 bytes are kept (docker's), and its end awaited until the
//! timeout. A test still running then is killed: its host pid is the runtime's `--pid-file`,
//! and SIGKILL to it ends the runtime's `exec` too.

use std::io::Read;
use std::os::fd::AsFd;
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout};

use super::{HealthConfig, Probe, MAX_OUTPUT};
use crate::container::Container;
use crate::engine::Engine;
use crate::ocirt::driver;

pub fn run(eng: &Engine, c: &Container, cfg: &HealthConfig) -> Probe {
    let start = crate::time::nanotime::now_nanos();
    let (exit_code, output) = match exec(eng, c, cfg) {
        Ok(Outcome::Exited(code, out)) => (code, out),
        Ok(Outcome::TimedOut) => (
            -1,
            format!(
                "Health check exceeded timeout ({})",
                go_duration(cfg.timeout())
            ),
        ),
        Err(e) => (-1, e.to_string()),
    };
    Probe {
        start,
        end: crate::time::nanotime::now_nanos(),
        exit_code,
        output,
    }
}

enum Outcome {
    Exited(i32, String),
    TimedOut,
}

fn exec(eng: &Engine, c: &Container, cfg: &HealthConfig) -> std::io::Result<Outcome> {
    let run_dir = eng.paths.run_dir(&c.id);
    let tag = &crate::container::names::new_id()[..12];
    let pfile = run_dir.join(format!("health-{tag}.json"));
    let pidfile = run_dir.join(format!("health-{tag}.pid"));
    let opts = crate::container::exec::Opts::default();
    let process = crate::container::exec::process(eng, c, &cfg.args(), &opts)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    hull_image::perms::write_private(&pfile, &serde_json::to_vec(&process).expect("json"))?;
    let res = exec_with(eng, c, &pfile, &pidfile, cfg.timeout());
    let _ = std::fs::remove_file(&pfile);
    let _ = std::fs::remove_file(&pidfile);
    res
}

fn exec_with(
    eng: &Engine,
    c: &Container,
    pfile: &std::path::Path,
    pidfile: &std::path::Path,
    timeout_ns: i64,
) -> std::io::Result<Outcome> {
    let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    let mut cmd = driver::command(eng);
    cmd.current_dir(eng.paths.run_dir(&c.id))
        .arg("exec")
        .arg("--process")
        .arg(pfile)
        .arg("--pid-file")
        .arg(pidfile)
        .arg(&c.id)
        .stdin(Stdio::null())
        .stdout(Stdio::from(w.try_clone()?))
        .stderr(Stdio::from(w));
    let mut child = cmd.spawn()?;
    drop(cmd);
    let deadline = Instant::now() + Duration::from_nanos(timeout_ns.max(0) as u64);
    let mut pipe = std::fs::File::from(r);
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            kill_test(pidfile, &mut child);
            return Ok(Outcome::TimedOut);
        }
        let ms = u16::try_from(left.as_millis().max(1)).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(pipe.as_fd(), PollFlags::POLLIN)];
        match nix::poll::poll(&mut fds, PollTimeout::from(ms)) {
            Ok(0) | Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
            Ok(_) => {}
        }
        // End of file: the test and everything it started closed the pipe.
        match pipe.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = MAX_OUTPUT.saturating_sub(out.len());
                out.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
    let code = child.wait()?.code().unwrap_or(-1);
    Ok(Outcome::Exited(
        code,
        String::from_utf8_lossy(&out).into_owned(),
    ))
}

/// Kills the test (its pid as the runtime wrote it) and reaps the runtime.
fn kill_test(pidfile: &std::path::Path, child: &mut std::process::Child) {
    let pid = std::fs::read_to_string(pidfile)
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok());
    if let Some(pid) = pid.filter(|p| *p > 1) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Go's Duration.String for the timeouts people write: `30s`, `500ms`, `1m30s`.
fn go_duration(ns: i64) -> String {
    if ns < 1_000_000_000 {
        return format!("{}ms", ns / 1_000_000);
    }
    let (h, m) = (ns / 3_600_000_000_000, ns / 60_000_000_000 % 60);
    let s = (ns % 60_000_000_000) as f64 / 1e9;
    let secs = format!("{s}s");
    match (h, m) {
        (0, 0) => secs,
        (0, m) => format!("{m}m{secs}"),
        (h, m) => format!("{h}h{m}m{secs}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn go_duration_matches_go() {
        assert_eq!(super::go_duration(30_000_000_000), "30s");
        assert_eq!(super::go_duration(1_500_000_000), "1.5s");
        assert_eq!(super::go_duration(500_000_000), "500ms");
        assert_eq!(super::go_duration(90_000_000_000), "1m30s");
    }
}
