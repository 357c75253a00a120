//! Seccomp for hull: the OCI `linux.seccomp` object compiled into a BPF program, the program
//! loaded into the container init, the notify fd handed to a seccomp agent, and docker's
//! profile format (including docker's default profile) converted to the OCI object.
//!
//! The phases are split so that everything that allocates or can fail for a reason other than
//! the kernel happens early, in the runtime, before the container init is cloned:
//!
//! ```text
//! docker profile JSON --docker_to_oci(caps, arch)--> LinuxSeccomp      (engine, docker.rs)
//! config.json linux.seccomp --parse_oci--> LinuxSeccomp                (runtime, parse.rs)
//! LinuxSeccomp --compile--> Filter (BPF program + seccomp(2) flags)    (runtime, compile.rs)
//! Filter --load--> Option<notify fd>                                   (container init, load.rs)
//! notify fd --send_notify_fd--> seccomp agent at listenerPath          (runtime, notify.rs)
//! ```
//!
//! libseccomp is the compiler only: [`compile`] has it generate the BPF program and keeps the
//! program; [`load`] hands it to `seccomp(2)` itself, so loading does not allocate and does not
//! call into libseccomp in the freshly forked init.
//!
//! ```
//! // Engine: docker's default profile for a container without CAP_SYS_ADMIN.
//! let oci = hull_seccomp::default_profile(&["CAP_CHOWN".to_owned()])?;
//! // Runtime, before cloning the init: compile once.
//! let filter = hull_seccomp::compile(&oci)?;
//! assert!(!filter.uses_notify());
//! // Container init, right before execve: hull_seccomp::load(&filter)?;
//! # Ok::<(), hull_seccomp::Error>(())
//! ```

#![forbid(unsafe_code)]

pub mod cache;
mod compile;
mod docker;
mod error;
mod load;
mod notify;
mod parse;

pub use compile::{compile, Filter};
pub use docker::{default_profile, docker_to_oci, native_arch, DEFAULT_PROFILE_JSON};
pub use error::{Error, Result};
pub use load::load;
pub use notify::{send_notify_fd, send_notify_fd_on};
pub use parse::parse_oci;
