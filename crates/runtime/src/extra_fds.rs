//! File descriptors the container's process gets beyond stdio, as with runc: first the
//! sockets of systemd socket activation (`LISTEN_FDS`/`LISTEN_PID` naming this process), then
//! `--preserve-fds N` more. They keep their numbers, from 3 up; everything above them is closed
//! on exec.

use oci_spec::runtime::Process;

/// How many fds from 3 up the container's process keeps, and how many of them are
/// socket-activation fds (whose count goes into its environment).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExtraFds {
    pub listen: u32,
    pub preserve: u32,
}

impl ExtraFds {
    /// `LISTEN_FDS` counts only when `LISTEN_PID` is our own pid (it was meant for us, not
    /// inherited from a parent that was itself activated).
    pub fn from_env(preserve: u32) -> ExtraFds {
        let var = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u32>().ok());
        let listen = match (var("LISTEN_PID"), var("LISTEN_FDS")) {
            (Some(pid), Some(n)) if pid == std::process::id() => n,
            _ => 0,
        };
        ExtraFds { listen, preserve }
    }

    pub fn total(&self) -> u32 {
        self.listen + self.preserve
    }

    /// Tells the process about its activation sockets: it is pid 1 in its namespace.
    pub fn add_env(&self, p: &mut Process) {
        if self.listen == 0 {
            return;
        }
        let mut env = p.env().clone().unwrap_or_default();
        env.retain(|kv| !kv.starts_with("LISTEN_FDS=") && !kv.starts_with("LISTEN_PID="));
        env.push(format!("LISTEN_FDS={}", self.listen));
        env.push("LISTEN_PID=1".to_string());
        p.set_env(Some(env));
    }
}
