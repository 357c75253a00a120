//! What `run` and `create` do around the container itself: `--pull missing|always|never`
//! (docker's default `missing`, with docker's progress lines on stderr unless `-q`), and
//! `--cidfile` (refused if the file exists, written with the new container's id).

use std::io::Write;

use hull_engine::Paths;
use hull_image::{NoProgress, Progress, PullOptions, Reference, Store, TtyProgress};

use super::{CmdError, CmdResult};

#[derive(clap::Args, Default)]
pub struct RunOpts {
    /// Pull image before running ("always"|"missing"|"never").
    #[arg(long, default_value = "missing")]
    pull: String,
    /// Suppress the pull output.
    #[arg(short, long)]
    quiet: bool,
    /// Write the container ID to the file.
    #[arg(long)]
    cidfile: Option<String>,
}

impl RunOpts {
    /// Before the container is created: the cidfile must not exist; the image is pulled as
    /// --pull says.
    pub fn before(&self, paths: &Paths, image: &str) -> CmdResult {
        if let Some(f) = &self.cidfile {
            if std::path::Path::new(f).exists() {
                // docker's words and code.
                return Err(CmdError {
                    msg: format!(
                        "container ID file found, make sure the other container isn't \
                         running or delete {f}"
                    ),
                    code: 1,
                });
            }
        }
        let present = || -> Result<bool, CmdError> {
            // hull seeds busybox from the host on first use.
            if hull_engine::image::resolve(paths, image).is_ok() {
                return Ok(true);
            }
            Ok(Store::open(&paths.root)?.resolve(image).is_ok())
        };
        match self.pull.as_str() {
            "never" => Ok(()),
            "missing" if present()? => Ok(()),
            "missing" => {
                if !self.quiet {
                    eprintln!("Unable to find image '{image}' locally");
                }
                self.pull(paths, image)
            }
            "always" => self.pull(paths, image),
            p => Err(CmdError::new(format!(
                "invalid pull option: '{p}': must be one of \"always\", \"missing\" or \"never\""
            ))),
        }
    }

    fn pull(&self, paths: &Paths, image: &str) -> CmdResult {
        Reference::parse(image)?;
        let mut store = Store::open(&paths.root)?;
        let mut quiet = NoProgress;
        let mut lines;
        let progress: &mut dyn Progress = if self.quiet {
            &mut quiet
        } else {
            lines = TtyProgress::new();
            &mut lines
        };
        store.pull(image, &PullOptions::default(), progress)?;
        Ok(())
    }

    /// After the container is created: its id into the cidfile.
    pub fn created(&self, id: &str) -> CmdResult {
        let Some(f) = &self.cidfile else {
            return Ok(());
        };
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(f)
            .map_err(|e| CmdError::new(format!("--cidfile {f}: {e}")))?;
        file.write_all(id.as_bytes())
            .map_err(|e| CmdError::new(format!("--cidfile {f}: {e}")))
    }
}
