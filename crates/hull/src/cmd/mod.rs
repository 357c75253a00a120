//! One module per verb: its clap arguments and a small `exec` over hull-engine.

pub mod image;
pub mod images;
pub mod import;
pub mod info;
pub mod load;
pub mod pull;
pub mod rmi;
pub mod save;
pub mod tag;
pub mod version;
pub mod volume;

/// A verb's failure: the one-line message printed after "hull: " and the exit code (125 for
/// hull's own errors, as docker's; a container's own code is passed through).
#[derive(Debug)]
pub struct CmdError {
    pub msg: String,
    pub code: i32,
}

impl CmdError {
    pub fn exit_code(&self) -> i32 {
        self.code
    }
}

impl std::fmt::Display for CmdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.msg)
    }
}

impl<E: std::error::Error> From<E> for CmdError {
    fn from(e: E) -> Self {
        CmdError {
            msg: e.to_string(),
            code: 125,
        }
    }
}

pub type CmdResult = Result<(), CmdError>;
