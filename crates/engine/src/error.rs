//! The verbs' one error type. Its variant says what kind of failure it is, so a front end
//! chooses its answer from the variant and never from the words: the CLI docker's exit code
//! (125, 126, 127, 1), the API socket an HTTP status (404, 409, 400, 500). The message is the
//! module error's own, unchanged (tests and users read it).

use crate::container::clock::ClockError;
use crate::container::cp::CpError;
use crate::container::create::CreateError;
use crate::container::exec::ExecError;
use crate::container::logs::LogsError;
use crate::container::remove::RemoveError;
use crate::container::start::StartError;
use crate::container::stats::StatsError;
use crate::container::stop::StopError;
use crate::container::ContainerError;
use crate::engine::EngineError;
use crate::network::NetworkError;
use crate::ocirt::driver::RuntimeError;
use crate::pod::store::PodError;
use crate::volume::VolumeError;

/// A verb's failure, by kind.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No such container, image, volume, network or pod (HTTP 404).
    #[error("{0}")]
    NotFound(String),
    /// A name already in use, or a thing in use (a running container to remove, a volume or
    /// network with users) (HTTP 409).
    #[error("{0}")]
    Conflict(String),
    /// A bad value: a name, a flag's value, an option, an ambiguous id prefix (HTTP 400).
    #[error("{0}")]
    InvalidArgument(String),
    /// The container is not in the state the verb needs (not running, not paused) (HTTP 409).
    #[error("{0}")]
    NotRunning(String),
    /// The container's command could not be run, as the runtime reported it; `code` is
    /// docker's: 127 for a program not found, 126 for one that may not be executed.
    #[error("{msg}")]
    CannotRun { msg: String, code: i32 },
    /// Anything else: the state database, the runtime, the kernel, a file (HTTP 500).
    #[error("{0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// docker's exit code for `run`/`create`/`start` failing with this error: the command's
    /// 126/127, else 125 (docker's own failure).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::CannotRun { code, .. } => *code,
            _ => 125,
        }
    }

    /// The HTTP status docker's API answers this error with.
    pub fn http_status(&self) -> u16 {
        match self {
            Error::NotFound(_) => 404,
            Error::Conflict(_) | Error::NotRunning(_) => 409,
            Error::InvalidArgument(_) => 400,
            Error::CannotRun { .. } | Error::Internal(_) => 500,
        }
    }
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Internal(e.to_string())
}

impl From<ContainerError> for Error {
    fn from(e: ContainerError) -> Self {
        let msg = e.to_string();
        match e {
            ContainerError::NotFound(_) => Error::NotFound(msg),
            ContainerError::NameInUse(_) => Error::Conflict(msg),
            ContainerError::Ambiguous(_) => Error::InvalidArgument(msg),
            ContainerError::Sql(_) | ContainerError::Config { .. } => Error::Internal(msg),
        }
    }
}

impl From<EngineError> for Error {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Container(c) => c.into(),
            e => internal(e),
        }
    }
}

impl From<RuntimeError> for Error {
    fn from(e: RuntimeError) -> Self {
        internal(e)
    }
}

impl From<StartError> for Error {
    fn from(e: StartError) -> Self {
        match e {
            StartError::Container(c) => c.into(),
            StartError::Engine(c) => c.into(),
            StartError::Volume(v) => v.into(),
            StartError::Image(crate::image::ImageError::NotFound(m)) => {
                Error::NotFound(crate::image::ImageError::NotFound(m).to_string())
            }
            StartError::Runtime { msg, code } if code != 125 => Error::CannotRun { msg, code },
            e => internal(e),
        }
    }
}

impl From<StopError> for Error {
    fn from(e: StopError) -> Self {
        match e {
            StopError::Container(c) => c.into(),
            StopError::NotRunning(_) => Error::NotRunning(e.to_string()),
            e => internal(e),
        }
    }
}

impl From<RemoveError> for Error {
    fn from(e: RemoveError) -> Self {
        match e {
            RemoveError::Container(c) => c.into(),
            RemoveError::Running(_) => Error::Conflict(e.to_string()),
        }
    }
}

impl From<CreateError> for Error {
    fn from(e: CreateError) -> Self {
        match e {
            CreateError::Container(c) => c.into(),
            CreateError::Volume(v) => v.into(),
            CreateError::BadName(_) | CreateError::Invalid(_) => {
                Error::InvalidArgument(e.to_string())
            }
            CreateError::Image(crate::image::ImageError::NotFound(_)) => {
                Error::NotFound(e.to_string())
            }
            e => internal(e),
        }
    }
}

impl From<ExecError> for Error {
    fn from(e: ExecError) -> Self {
        match e {
            ExecError::NotRunning(_) => Error::NotRunning(e.to_string()),
            ExecError::NoSuchExec(_) => Error::NotFound(e.to_string()),
            ExecError::AlreadyStarted(_) => Error::Conflict(e.to_string()),
            e => internal(e),
        }
    }
}

impl From<ClockError> for Error {
    fn from(e: ClockError) -> Self {
        match e {
            ClockError::Container(c) => c.into(),
            ClockError::Spec(_) => Error::InvalidArgument(e.to_string()),
            ClockError::NoFakeClock(_) => Error::Conflict(e.to_string()),
            e => internal(e),
        }
    }
}

impl From<VolumeError> for Error {
    fn from(e: VolumeError) -> Self {
        let msg = e.to_string();
        match e {
            VolumeError::NotFound(_) => Error::NotFound(msg),
            VolumeError::InUse { .. } => Error::Conflict(msg),
            VolumeError::BadName(_) | VolumeError::Driver(_) | VolumeError::Option(_) => {
                Error::InvalidArgument(msg)
            }
            _ => Error::Internal(msg),
        }
    }
}

impl From<NetworkError> for Error {
    fn from(e: NetworkError) -> Self {
        let msg = e.to_string();
        match e {
            NetworkError::NotFound(_) => Error::NotFound(msg),
            NetworkError::Exists(_)
            | NetworkError::InUse { .. }
            | NetworkError::Predefined(_)
            | NetworkError::Overlap { .. } => Error::Conflict(msg),
            NetworkError::BadName(_) | NetworkError::BadOption(_) | NetworkError::BadMtu(_) => {
                Error::InvalidArgument(msg)
            }
            _ => Error::Internal(msg),
        }
    }
}

impl From<PodError> for Error {
    fn from(e: PodError) -> Self {
        let msg = e.to_string();
        match e {
            PodError::NotFound(_) => Error::NotFound(msg),
            PodError::NameInUse(_) => Error::Conflict(msg),
            PodError::Ambiguous(_) => Error::InvalidArgument(msg),
            _ => Error::Internal(msg),
        }
    }
}

impl From<crate::pod::ops::OpError> for Error {
    fn from(e: crate::pod::ops::OpError) -> Self {
        use crate::pod::ops::OpError;
        match e {
            OpError::Store(p) => p.into(),
            OpError::Container(c) => c.into(),
            OpError::Invalid(_) => Error::InvalidArgument(e.to_string()),
            e => internal(e),
        }
    }
}

impl From<LogsError> for Error {
    fn from(e: LogsError) -> Self {
        match e {
            LogsError::NoDriver => Error::InvalidArgument(e.to_string()),
            e => internal(e),
        }
    }
}

impl From<StatsError> for Error {
    fn from(e: StatsError) -> Self {
        internal(e)
    }
}

impl From<CpError> for Error {
    fn from(e: CpError) -> Self {
        match e {
            CpError::Usage(_) | CpError::Missing(_) => Error::InvalidArgument(e.to_string()),
            e => internal(e),
        }
    }
}

impl From<hull_image::ImageError> for Error {
    fn from(e: hull_image::ImageError) -> Self {
        match e {
            hull_image::ImageError::NotFound(_) => Error::NotFound(e.to_string()),
            e => internal(e),
        }
    }
}

impl From<crate::image::ImageError> for Error {
    fn from(e: crate::image::ImageError) -> Self {
        match e {
            crate::image::ImageError::NotFound(_) => Error::NotFound(e.to_string()),
            e => internal(e),
        }
    }
}

impl From<crate::bundle::rootfs::RootfsError> for Error {
    fn from(e: crate::bundle::rootfs::RootfsError) -> Self {
        internal(e)
    }
}

impl From<crate::state::DbError> for Error {
    fn from(e: crate::state::DbError) -> Self {
        internal(e)
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        internal(format!("state database: {e}"))
    }
}

impl From<crate::container::commit::CommitError> for Error {
    fn from(e: crate::container::commit::CommitError) -> Self {
        use crate::container::commit::CommitError;
        match e {
            CommitError::Image(e) => e.into(),
            CommitError::Resolve(e) => e.into(),
            e => internal(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_come_from_variants_and_messages_stay() {
        let e: Error = ContainerError::NotFound("web".into()).into();
        assert!(matches!(e, Error::NotFound(_)));
        assert_eq!(e.to_string(), "no such container: web");
        assert_eq!(e.http_status(), 404);
        let e: Error = RemoveError::Running("web".into()).into();
        assert_eq!(e.http_status(), 409);
        let e: Error = StartError::Runtime {
            msg: "exec: \"nope\": executable file not found in $PATH".into(),
            code: 127,
        }
        .into();
        assert_eq!(e.exit_code(), 127);
        let e: Error = StartError::Runtime {
            msg: "runtime refused".into(),
            code: 125,
        }
        .into();
        assert!(matches!(e, Error::Internal(_)));
        assert_eq!(e.exit_code(), 125);
    }
}
