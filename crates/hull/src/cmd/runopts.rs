//! What `run` and `create` do around the container itself: `--pull missing|always|never`
//! (docker's default `missing`, with docker's progress lines on stderr unless `-q`), and
//! `--cidfile` (refused if the file exists, written with the new container's id); and the
//! `--health-*` flags.

use std::io::Write;

use hull_engine::container::health::HealthConfig;
use hull_engine::image::ops::RegistryRequest;
use hull_engine::image::{NoProgress, Progress, TtyProgress};
use hull_engine::Paths;

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
        // hull seeds busybox from the host on first use.
        let present = || hull_engine::image::resolve(paths, image).is_ok();
        match self.pull.as_str() {
            "never" => Ok(()),
            "missing" if present() => Ok(()),
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
        let req = RegistryRequest {
            reference: image.to_string(),
            ..RegistryRequest::default()
        };
        let eng = super::state_engine(paths)?;
        let mut quiet = NoProgress;
        let mut lines;
        let progress: &mut dyn Progress = if self.quiet {
            &mut quiet
        } else {
            lines = TtyProgress::new();
            &mut lines
        };
        eng.image_pull(&req, progress)?;
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

/// docker's healthcheck flags (see hull_engine::container::health).
#[derive(clap::Args, Default)]
pub struct HealthFlags {
    /// Command to run to check health.
    #[arg(long = "health-cmd")]
    health_cmd: Option<String>,
    /// Time between running the check (ms|s|m|h) (default 0s).
    #[arg(long = "health-interval", allow_hyphen_values = true)]
    health_interval: Option<String>,
    /// Consecutive failures needed to report unhealthy.
    #[arg(long = "health-retries", allow_hyphen_values = true)]
    health_retries: Option<i64>,
    /// Maximum time to allow one check to run (ms|s|m|h) (default 0s).
    #[arg(long = "health-timeout", allow_hyphen_values = true)]
    health_timeout: Option<String>,
    /// Start period for the container to initialize before starting health-retries
    /// countdown (ms|s|m|h) (default 0s).
    #[arg(long = "health-start-period", allow_hyphen_values = true)]
    health_start_period: Option<String>,
    /// Disable any container-specified HEALTHCHECK.
    #[arg(long = "no-healthcheck")]
    no_healthcheck: bool,
}

impl HealthFlags {
    /// The healthcheck asked for (None: the image's), with docker's client checks and words.
    pub fn config(&self) -> Result<Option<HealthConfig>, CmdError> {
        let given = self.health_cmd.is_some()
            || self.health_interval.is_some()
            || self.health_retries.is_some()
            || self.health_timeout.is_some()
            || self.health_start_period.is_some();
        if self.no_healthcheck {
            if given {
                return Err(CmdError::new(
                    "--no-healthcheck conflicts with --health-* options".into(),
                ));
            }
            return Ok(Some(HealthConfig {
                test: vec!["NONE".into()],
                ..Default::default()
            }));
        }
        if !given {
            return Ok(None);
        }
        let retries = self.health_retries.unwrap_or(0);
        if retries < 0 {
            return Err(CmdError::new("--health-retries cannot be negative".into()));
        }
        Ok(Some(HealthConfig {
            test: self
                .health_cmd
                .iter()
                .flat_map(|c| ["CMD-SHELL".to_string(), c.clone()])
                .collect(),
            interval: duration("--health-interval", &self.health_interval)?,
            timeout: duration("--health-timeout", &self.health_timeout)?,
            start_period: duration("--health-start-period", &self.health_start_period)?,
            retries: u32::try_from(retries).unwrap_or(u32::MAX),
        }))
    }
}

/// Go's time.ParseDuration as docker's client applies it to a --health-* flag, in ns.
fn duration(flag: &str, v: &Option<String>) -> Result<i64, CmdError> {
    let Some(v) = v else { return Ok(0) };
    let (neg, abs) = match v.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, v.strip_prefix('+').unwrap_or(v)),
    };
    let ns = if abs == "0" {
        Some(0)
    } else {
        hull_engine::time::since::duration_nanos(abs)
    };
    let Some(ns) = ns else {
        let why = if abs.chars().all(|c| c.is_ascii_digit() || c == '.') && !abs.is_empty() {
            format!("time: missing unit in duration {v:?}")
        } else {
            format!("time: invalid duration {v:?}")
        };
        return Err(CmdError::new(format!(
            "invalid argument {v:?} for {flag:?} flag: {why}"
        )));
    };
    if neg && ns != 0 {
        return Err(CmdError::new(format!("{flag} cannot be negative")));
    }
    Ok(i64::try_from(ns).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(interval: &str) -> HealthFlags {
        HealthFlags {
            health_cmd: Some("true".into()),
            health_interval: Some(interval.into()),
            ..Default::default()
        }
    }

    #[test]
    fn durations_and_docker_client_errors() {
        let c = flags("1m30s").config().unwrap().unwrap();
        assert_eq!(c.test, ["CMD-SHELL", "true"]);
        assert_eq!(c.interval, 90_000_000_000);
        assert_eq!(
            flags("-1s").config().unwrap_err().msg,
            "--health-interval cannot be negative"
        );
        assert_eq!(
            flags("-1").config().unwrap_err().msg,
            "invalid argument \"-1\" for \"--health-interval\" flag: time: missing unit in duration \"-1\""
        );
        let none = HealthFlags {
            no_healthcheck: true,
            ..Default::default()
        };
        assert_eq!(none.config().unwrap().unwrap().test, ["NONE"]);
        let both = HealthFlags {
            no_healthcheck: true,
            ..flags("1s")
        };
        assert!(both.config().is_err());
    }
}
