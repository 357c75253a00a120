//! A scenario run twice through a real client, once with hullrt and once with runc, each run
//! writing a transcript of what a user or a script would read (exit codes, output, inspect
//! fields); the two transcripts must be equal, and every check must hold under both.

use std::process::{Command, Output};

use crate::client_support::{
    leftovers, out_text, output_via_files, output_with_stdin, runtimes, transcript_diff, under_pty,
};

/// A client whose command line takes docker's verbs (docker, podman).
pub trait Client: Sync {
    /// The client's command, set up for runtime `rt` (its name: "hullrt" or "runc").
    fn command(&self, rt: &str) -> Command;
    /// What `run` is, with the runtime chosen: `run --runtime hullrt` for docker.
    fn run_args(&self, rt: &str) -> Vec<String>;
}

/// One scenario's run under one runtime: each step's command, exit code and output, in
/// order, and the checks that failed (kept, not panicked, so that one run shows every
/// difference).
pub struct Session {
    pub d: &'static dyn Client,
    pub rt: &'static str,
    pub log: Vec<String>,
    pub fails: Vec<String>,
    /// A host directory of this run's own, `{tmp}` in a step's arguments.
    pub tmp: tempfile::TempDir,
}

impl Session {
    /// `CLIENT ARGS` with `{rt}` replaced by the runtime's name (container names carry it,
    /// so the two runs do not collide); the step's exit code and trimmed stdout are logged,
    /// with the runtime's name made `RT`.
    pub fn step(&mut self, args: &[&str]) -> Output {
        let o = self.quiet(args);
        let out = normalize(&stdout(&o)).replace(self.rt, "RT");
        self.log.push(format!(
            "{} -> {:?} {out:?}",
            args.join(" ").replace("{rt}", "RT"),
            o.status.code(),
        ));
        o
    }

    /// A step whose output differs by nature (error texts in each runtime's words): only
    /// its exit code is logged.
    pub fn step_code(&mut self, args: &[&str]) -> Output {
        let o = self.quiet(args);
        let line = format!(
            "{} -> {:?}",
            args.join(" ").replace("{rt}", "RT"),
            o.status.code()
        );
        self.log.push(line);
        o
    }

    /// A step with `input` on its stdin; logged as `step` does.
    pub fn step_stdin(&mut self, args: &[&str], input: &str) -> Output {
        let tmp = self.tmp.path().to_string_lossy().into_owned();
        let real: Vec<String> = args
            .iter()
            .map(|a| a.replace("{rt}", self.rt).replace("{tmp}", &tmp))
            .collect();
        let o = output_with_stdin(self.d.command(self.rt).args(&real), input.as_bytes());
        let out = normalize(&stdout(&o)).replace(self.rt, "RT");
        self.log.push(format!(
            "{} <{input:?} -> {:?} {out:?}",
            args.join(" ").replace("{rt}", "RT"),
            o.status.code(),
        ));
        o
    }

    /// `CLIENT ARGS`, `{rt}` and `{tmp}` replaced, nothing logged.
    pub fn quiet(&mut self, args: &[&str]) -> Output {
        let tmp = self.tmp.path().to_string_lossy().into_owned();
        let args: Vec<String> = args
            .iter()
            .map(|a| a.replace("{rt}", self.rt).replace("{tmp}", &tmp))
            .collect();
        output_via_files(self.d.command(self.rt).args(&args))
    }

    /// A step that must succeed; its stdout.
    pub fn ok(&mut self, args: &[&str]) -> String {
        let o = self.step(args);
        if !o.status.success() {
            self.fails.push(format!("{args:?}: {}", out_text(&o)));
        }
        stdout(&o)
    }

    pub fn check<T: PartialEq + std::fmt::Debug>(&mut self, what: &str, got: T, want: T) {
        if got != want {
            self.fails
                .push(format!("{what}: got {got:?}, expected {want:?}"));
        }
    }

    /// Logs a value the scenario computed (read from inside the container).
    pub fn note(&mut self, what: &str, value: impl std::fmt::Debug) {
        self.log.push(format!("{what}: {value:?}"));
    }

    /// `run ARGS` with the session's runtime.
    pub fn run(&mut self, args: &[&str]) -> Output {
        let mut v = self.d.run_args("{rt}");
        v.extend(args.iter().map(|a| a.to_string()));
        let v: Vec<&str> = v.iter().map(String::as_str).collect();
        self.step(&v)
    }

    /// `CLIENT ARGS` (a `run -it` or `exec -it`) under a terminal of its own:
    /// its exit code and output, CRs and NULs dropped (logged).
    pub fn pty(&mut self, args: &[&str]) -> (Option<i32>, String) {
        let args: Vec<String> = args.iter().map(|a| a.replace("{rt}", self.rt)).collect();
        let mut c = self.d.command(self.rt);
        c.args(&args);
        let o = under_pty(&c);
        // script's output carries CRs, and a NUL where the terminal started.
        let out = String::from_utf8_lossy(&o.stdout).replace(['\r', '\0'], "");
        let out = out.replace("^@", "").trim().to_string();
        self.note(
            &format!("pty {}", args.join(" ").replace(self.rt, "RT")),
            (o.status.code(), &out),
        );
        (o.status.code(), out)
    }

    pub fn inspect(&mut self, name: &str, format: &str) -> String {
        self.ok(&["inspect", "--format", format, name])
    }

    /// Polls `CLIENT inspect --format FORMAT NAME` until it prints `want` (20 s).
    pub fn wait_inspect(&mut self, name: &str, format: &str, want: &str) {
        let name = name.replace("{rt}", self.rt);
        let mut last = String::new();
        let seen = crate::wait_for(20, || {
            last = stdout(&output_via_files(
                self.d
                    .command(self.rt)
                    .args(["inspect", "--format", format, &name]),
            ));
            last == want
        });
        if !seen {
            self.fails
                .push(format!("{name} {format}: {last:?}, waited for {want:?}"));
        }
        self.note(&format!("waited {format}"), &last);
    }

    /// `rm -f -v` of `name`, then a check that the runtime left nothing for it.
    pub fn remove(&mut self, name: &str) {
        let id = stdout(&self.quiet(&["inspect", "--format", "{{.Id}}", name]));
        self.ok(&["rm", "-f", "-v", name]);
        let left = leftovers(&id, Some(&id));
        if !left.is_empty() {
            self.fails.push(format!("{name} left behind: {left:#?}"));
        }
    }
}

/// Runs `scenario` with hullrt and with runc; fails if a check failed under either, or if
/// the two transcripts differ (every differing step is listed).
pub fn both(d: &'static dyn Client, scenario: impl Fn(&mut Session)) {
    let mut runs = Vec::new();
    for (rt, _) in runtimes() {
        let mut s = Session {
            d,
            rt,
            log: Vec::new(),
            fails: Vec::new(),
            tmp: tempfile::tempdir().unwrap(),
        };
        scenario(&mut s);
        runs.push(s);
    }
    let mut report = String::new();
    for s in &runs {
        for f in &s.fails {
            report.push_str(&format!("\n[{}] {f}", s.rt));
        }
    }
    let diff = transcript_diff(&runs[0].log, &runs[1].log);
    if !diff.is_empty() {
        report.push_str(&format!("\nhullrt and runc differ:{diff}"));
    }
    assert!(report.is_empty(), "{report}");
}

/// `text` with every run of 12 or more hex digits (container and image ids, digests) made
/// `<id>`.
pub fn normalize(text: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_hexdigit() {
            run.push(c);
            continue;
        }
        if run.len() >= 12 {
            out.push_str("<id>");
        } else {
            out.push_str(&run);
        }
        run.clear();
        out.push(c);
    }
    out.pop();
    out
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// A check's label with what the client printed on stderr, for errors whose exit code the
/// client derives from the runtime's message.
pub fn stderr_said(what: &str, o: &Output) -> String {
    format!(
        "{what} (stderr: {})",
        String::from_utf8_lossy(&o.stderr).trim()
    )
}
