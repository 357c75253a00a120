//! The monitor's command line, as `hull start`/`run` writes it:
//! `hull-monitor --id ID --runtime RT --runtime-root DIR --bundle DIR [--log FILE]
//! [--log-driver D] [--tty] [--stdin] [--rows R --cols C] [--restart POLICY] [--sync]
//! [--hold FD]... [--log-level LEVEL] -- HOOK...`,
//! where HOOK is the command (hull's hidden `internal-hook`) run with `started ID PID` after a
//! restart and `exited ID CODE` at each exit; the hook answers with exit status 3 when the
//! restart policy brings the container back. Each `--hold FD` is an inherited descriptor the
//! monitor keeps open (close-on-exec) for the container's life: the sockets reserving its
//! published host ports. `--log-level` is hull's (`debug` makes the monitor and the runtime
//! trace to the monitor's stderr; see trace.rs). `--health-interval NS` runs the hook as
//! `health ID 0` one interval after each start and after each check (the healthcheck).

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub id: String,
    pub runtime: String,
    pub runtime_root: String,
    pub bundle: String,
    pub log: String,
    pub log_driver: String,
    pub tty: bool,
    pub stdin: bool,
    pub rows: u16,
    pub cols: u16,
    pub restart: String,
    pub sync: bool,
    pub hold: Vec<i32>,
    pub log_level: String,
    /// Nanoseconds between healthchecks (0: none).
    pub health_interval: u64,
    pub hook: Vec<String>,
}

/// Parses the arguments after the program name. The error is one line naming the flag.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut a = Args {
        id: String::new(),
        runtime: String::new(),
        runtime_root: String::new(),
        bundle: String::new(),
        log: String::new(),
        log_driver: "json-file".into(),
        tty: false,
        stdin: false,
        rows: 0,
        cols: 0,
        restart: String::new(),
        sync: false,
        hold: Vec::new(),
        log_level: String::new(),
        health_interval: 0,
        hook: Vec::new(),
    };
    let mut it = args.into_iter();
    while let Some(k) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{k}: missing value"));
        match k.as_str() {
            "--id" => a.id = val()?,
            "--runtime" => a.runtime = val()?,
            "--runtime-root" => a.runtime_root = val()?,
            "--bundle" => a.bundle = val()?,
            "--log" => a.log = val()?,
            "--log-driver" => a.log_driver = val()?,
            "--tty" => a.tty = true,
            "--stdin" => a.stdin = true,
            "--rows" => a.rows = val()?.parse().map_err(|_| "--rows: not a number")?,
            "--cols" => a.cols = val()?.parse().map_err(|_| "--cols: not a number")?,
            "--restart" => a.restart = val()?,
            "--sync" => a.sync = true,
            "--log-level" => a.log_level = val()?,
            "--health-interval" => {
                a.health_interval = val()?
                    .parse()
                    .map_err(|_| "--health-interval: not a number of nanoseconds")?
            }
            "--hold" => a.hold.push(
                val()?
                    .parse()
                    .ok()
                    .filter(|fd: &i32| *fd > 2)
                    .ok_or("--hold: not a descriptor above 2")?,
            ),
            "--" => {
                a.hook = it.by_ref().collect();
                break;
            }
            _ => return Err(format!("unknown argument {k:?}")),
        }
    }
    if a.id.is_empty() || a.runtime.is_empty() || a.bundle.is_empty() || a.hook.is_empty() {
        return Err("--id, --runtime, --bundle and a hook command are required".to_string());
    }
    Ok(a)
}

/// The paths to try, in order, for a program given as `prog` (the runtime or the hook):
/// `prog` itself when it holds a `/`, else `DIR/prog` for each entry of `path` (the PATH
/// variable; an empty entry is the working directory), as execvp.
pub fn search_path(prog: &str, path: Option<&[u8]>) -> Vec<Vec<u8>> {
    if prog.contains('/') {
        return alloc::vec![prog.as_bytes().to_vec()];
    }
    let path = path.unwrap_or(b"/usr/local/bin:/usr/bin:/bin");
    path.split(|&b| b == b':')
        .map(|dir| {
            let mut p = if dir.is_empty() {
                b".".to_vec()
            } else {
                dir.to_vec()
            };
            p.push(b'/');
            p.extend_from_slice(prog.as_bytes());
            p
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Args, String> {
        parse(s.split(' ').map(String::from))
    }

    #[test]
    fn full_command_line() {
        let a = p(
            "--id c1 --runtime /bin/rt --runtime-root /r --bundle /b --log /b/log \
                   --log-driver k8s-file --tty --stdin --rows 24 --cols 80 --sync \
                   --log-level debug --health-interval 5000 -- /bin/hull --root /x internal-hook",
        )
        .unwrap();
        assert_eq!(
            (a.id.as_str(), a.runtime.as_str(), a.bundle.as_str()),
            ("c1", "/bin/rt", "/b")
        );
        assert_eq!((a.runtime_root.as_str(), a.log.as_str()), ("/r", "/b/log"));
        assert_eq!(a.log_driver, "k8s-file");
        assert_eq!(a.log_level, "debug");
        assert_eq!(a.health_interval, 5000);
        assert!(a.tty && a.stdin && a.sync);
        assert_eq!((a.rows, a.cols), (24, 80));
        assert_eq!(a.hook, ["/bin/hull", "--root", "/x", "internal-hook"]);
    }

    #[test]
    fn defaults_and_hook_arguments_that_look_like_flags() {
        let a = p("--id c --runtime rt --bundle /b -- hook --tty").unwrap();
        assert_eq!(a.log_driver, "json-file");
        assert!(!a.tty && !a.stdin && !a.sync);
        assert_eq!(a.hook, ["hook", "--tty"]);
    }

    #[test]
    fn programs_are_searched_in_path_unless_given_as_a_path() {
        assert_eq!(
            search_path("/usr/sbin/runc", Some(b"/x")),
            [b"/usr/sbin/runc".to_vec()]
        );
        assert_eq!(search_path("./rt", None), [b"./rt".to_vec()]);
        let got = search_path("runc", Some(b"/a::/b/c"));
        assert_eq!(
            got,
            [
                b"/a/runc".to_vec(),
                b"./runc".to_vec(),
                b"/b/c/runc".to_vec()
            ]
        );
        assert_eq!(search_path("runc", None)[2], b"/bin/runc");
    }

    #[test]
    fn bad_input_is_one_line_naming_the_flag() {
        assert_eq!(p("--bogus").unwrap_err(), "unknown argument \"--bogus\"");
        assert_eq!(p("--id").unwrap_err(), "--id: missing value");
        assert_eq!(p("--rows x").unwrap_err(), "--rows: not a number");
        assert_eq!(p("--cols 70000").unwrap_err(), "--cols: not a number");
        assert_eq!(
            p("--hold 1").unwrap_err(),
            "--hold: not a descriptor above 2"
        );
        let a = p("--id c --runtime rt --bundle /b --hold 5 --hold 7 -- h").unwrap();
        assert_eq!(a.hold, [5, 7]);
        let e = p("--id c --runtime rt --bundle /b").unwrap_err();
        assert!(e.contains("hook command are required"), "{e}");
        assert!(p("--id c --bundle /b -- h").is_err());
    }
}
