//! The idle service starts over. After a request, the service's RSS is mostly the pages of
//! hull's own code that the request ran (file-backed, shared with every hull process, but
//! counted in this one's RSS for as long as it lives): 11.9 MiB idle after 13 `docker run`s
//! against 6.7 MiB at start. So once nothing has happened for [`crate::FRESH_AFTER`] (no
//! connection open, no watcher thread, nothing held for a client), the service execs its own
//! executable again, the listening socket handed over as systemd hands it (fd 3,
//! LISTEN_FDS): same pid, same socket, no connection lost, and the idle process is back to
//! what a fresh start maps. What the service keeps between requests is only the tracker's
//! counters (track.rs), which every waiter compares within one connection; none is open.

use std::os::fd::AsFd;
use std::os::unix::net::UnixListener;
use std::time::Duration;

/// How long the previous image had been idle when it started over (its --timeout goes on
/// counting from there).
const IDLE_ENV: &str = "HULL_API_IDLE_MS";

/// What the previous image passed, read once at start (zero when this is the first).
pub fn idle_before() -> Duration {
    std::env::var(IDLE_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or_default()
}

/// Whether a connection waits on the listener, within `timeout`.
pub fn readable(listener: &UnixListener, timeout: Duration) -> bool {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let mut fds = [PollFd::new(listener.as_fd(), PollFlags::POLLIN)];
    let ms = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
    matches!(poll(&mut fds, PollTimeout::from(ms)), Ok(n) if n > 0)
}

/// Execs the service again on the same listener; returns only on failure (the service then
/// goes on as it is).
pub fn start_over(listener: &UnixListener, idle: Duration) -> std::io::Error {
    hull_sys::activation::reexec_listening(listener, &[(IDLE_ENV, idle.as_millis().to_string())])
}
