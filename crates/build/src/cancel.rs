//! A build's cancellation, for whoever serves it: the API service cancels a build whose
//! client hung up, as dockerd does. The builder checks it before each instruction, and a
//! `RUN` under way is killed (its container is then removed as after any `RUN`).

use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use hull_monitor::proto;

use crate::BuildError;

#[derive(Clone, Default)]
pub struct Cancel(Arc<Inner>);

impl std::fmt::Debug for Cancel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cancel")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

#[derive(Default)]
struct Inner {
    cancelled: AtomicBool,
    /// The monitor's connection of the `RUN` being waited for.
    run: Mutex<Option<UnixStream>>,
}

impl Cancel {
    /// Cancels the build: no further instruction starts, and the running `RUN`'s command is
    /// killed.
    pub fn cancel(&self) {
        self.0.cancelled.store(true, Ordering::SeqCst);
        if let Some(s) = self.lock().as_mut() {
            kill(s);
        }
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::SeqCst)
    }

    pub(crate) fn check(&self) -> Result<(), BuildError> {
        if self.is_cancelled() {
            return Err(BuildError::msg(
                "build cancelled: the client went away".into(),
            ));
        }
        Ok(())
    }

    /// The `RUN` now waited for (None: none). Stored before the flag is read, as `cancel`
    /// sets the flag before it looks here: a cancel between the two is never missed.
    pub(crate) fn running(&self, sock: Option<UnixStream>) {
        let mut cur = self.lock();
        *cur = sock;
        if self.is_cancelled() {
            if let Some(s) = cur.as_mut() {
                kill(s);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<UnixStream>> {
        self.0.run.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn kill(s: &mut UnixStream) {
    let sig = nix::sys::signal::Signal::SIGKILL as i32;
    let _ = proto::write_frame(s, proto::SIGNAL, &proto::i32_payload(sig));
}
