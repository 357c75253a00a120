//! One error type for the crate. Every message is one line and names the field (or path) it is
//! about, e.g. `linux.seccomp.syscalls[3].action: unknown action "SCMP_ACT_FOO"`.

use std::io;
use std::path::PathBuf;

use nix::errno::Errno;

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong turning a seccomp profile into a loaded filter.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An action string that is not one of the `SCMP_ACT_*` names.
    #[error("{field}: unknown action {value:?}")]
    UnknownAction { field: String, value: String },

    /// An operator string that is not one of the `SCMP_CMP_*` names.
    #[error("{field}: unknown operator {value:?}")]
    UnknownOperator { field: String, value: String },

    /// An architecture string that is not one of the `SCMP_ARCH_*` names.
    #[error("{field}: unknown architecture {value:?}")]
    UnknownArch { field: String, value: String },

    /// A flag string that is not one of the `SECCOMP_FILTER_FLAG_*` names.
    #[error("{field}: unknown flag {value:?}")]
    UnknownFlag { field: String, value: String },

    /// A known flag that the running kernel refuses.
    #[error("{field}: {flag} is not supported by this kernel")]
    UnsupportedFlag { field: String, flag: &'static str },

    /// `errnoRet` given for an action that does not return an errno (the spec says: fail).
    #[error("{field}: errnoRet is only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not {action}")]
    ErrnoNotAllowed { field: String, action: &'static str },

    /// `errnoRet` too large for the 16-bit data field of the seccomp return value.
    #[error("{field}: errnoRet {value} does not fit in 16 bits")]
    ErrnoRange { field: String, value: u32 },

    /// `SCMP_ACT_NOTIFY` as default action would stop the container init on its next syscall.
    #[error("{field}: SCMP_ACT_NOTIFY cannot be the default action")]
    NotifyDefault { field: String },

    /// A syscall entry without names, or with an empty name.
    #[error("{field}: {reason}")]
    BadSyscall { field: String, reason: &'static str },

    /// An argument index past the six syscall arguments.
    #[error("{field}: argument index {index} is out of range (0..=5)")]
    ArgIndex { field: String, index: usize },

    /// A field of a docker profile that conflicts with another one.
    #[error("{field}: {reason}")]
    Conflict { field: String, reason: &'static str },

    /// A `minKernel` value that is not `MAJOR.MINOR`.
    #[error("{field}: invalid kernel version {value:?} (want MAJOR.MINOR)")]
    KernelVersion { field: String, value: String },

    /// The running kernel's release could not be read or parsed.
    #[error("/proc/sys/kernel/osrelease: {reason}")]
    KernelRelease { reason: String },

    /// JSON that is not valid or not of the expected shape; `field` is its JSON path.
    #[error("{field}: {source}")]
    Json {
        field: String,
        #[source]
        source: serde_json::Error,
    },

    /// The container state passed to [`crate::send_notify_fd`] is not usable.
    #[error("container state: {reason}")]
    State { reason: &'static str },

    /// libseccomp refused something while building the filter.
    #[error("{field}: libseccomp: {source}")]
    Libseccomp {
        field: String,
        #[source]
        source: libseccomp::error::SeccompError,
    },

    /// Writing the compiled BPF program out of libseccomp failed.
    #[error("export seccomp BPF program: {0}")]
    Export(#[source] io::Error),

    /// The BPF program is longer than the kernel accepts.
    #[error("linux.seccomp: filter has {len} BPF instructions, the kernel accepts at most {max}")]
    TooLong { len: usize, max: usize },

    /// `seccomp(SECCOMP_SET_MODE_FILTER)` failed.
    #[error("seccomp(SECCOMP_SET_MODE_FILTER): {0}")]
    Load(Errno),

    /// With `SECCOMP_FILTER_FLAG_TSYNC`, the kernel could not sync this thread.
    #[error("seccomp(SECCOMP_SET_MODE_FILTER): SECCOMP_FILTER_FLAG_TSYNC failed for thread {tid}")]
    Tsync { tid: i64 },

    /// Talking to the seccomp agent at `listenerPath` failed.
    #[error("seccomp listener {path}: {source}")]
    Listener {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}
