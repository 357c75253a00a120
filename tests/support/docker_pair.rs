//! The docker parity tests' shared half: one private dockerd (Debian's docker.io 20.10: its
//! own data root, exec root, socket, containerd and cgroup parent, no iptables, no bridge)
//! and one private hull state per test binary, the same image archive loaded into both. A
//! step runs the same command line through `docker` and through `hull`; a `Parity` collects
//! every difference a script would see (exit codes, stdout, inspect key sets) and fails the
//! test with all of them at its end.
//!
//! Both engines are torn down when the test binary exits; if either left processes, mounts or
//! cgroups behind, the binary then exits non-zero with the list.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Child, Command, Output};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use crate::client_support::{
    dockerd_command, leftovers, on_exit, out_text, output_via_files, remove_cgroups, require,
    stop_child, wait_until, ContainerdDaemon,
};
use crate::image::image_archive;
use crate::unmount_under;
use serde_json::Value;

/// The image both engines hold (a busybox rootfs, `sh` as its command).
pub const IMAGE: &str = "hull.test/busybox:latest";

/// The two engines, in the order every pair of results is given.
pub const ENGINES: [&str; 2] = ["docker", "hull"];

pub struct Pair {
    pub dir: PathBuf,
    cgroup_parent: String,
    dockerd: Mutex<Option<Child>>,
    containerd: Mutex<Option<ContainerdDaemon>>,
}

static PAIR: OnceLock<Pair> = OnceLock::new();

/// The file's pair, started on first use and torn down when the test binary exits.
pub fn pair() -> &'static Pair {
    PAIR.get_or_init(|| {
        let p = Pair::start();
        on_exit(|| PAIR.get().map(Pair::teardown).unwrap_or_default());
        p
    })
}

impl Pair {
    fn start() -> Pair {
        crate::require_root();
        require("docker");
        // Short: dockerd and containerd put unix sockets under it.
        let dir = tempfile::Builder::new()
            .prefix("hull-dp-")
            .tempdir_in("/tmp")
            .unwrap()
            .keep();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let containerd = ContainerdDaemon::start(&dir, None);
        let cgroup_parent = format!("hull-dp-{}", std::process::id());
        let daemon = dockerd_command(&dir, &containerd, &cgroup_parent)
            .spawn()
            .unwrap();
        let p = Pair {
            dir,
            cgroup_parent,
            dockerd: Mutex::new(Some(daemon)),
            containerd: Mutex::new(Some(containerd)),
        };
        // A failure from here on stops the daemons before it propagates: the exit teardown
        // is registered only for a started pair, and each later test would start another.
        let ready = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            wait_until("dockerd to answer", Duration::from_secs(60), || {
                p.run("docker", &["version"]).status.success()
            });
            let archive = image(&p.dir);
            let archive = archive.to_str().unwrap();
            for e in ENGINES {
                let o = p.run(e, &["load", "-i", archive]);
                assert!(o.status.success(), "{e} load: {}", out_text(&o));
            }
            std::fs::remove_file(archive).unwrap();
        }));
        if let Err(panic) = ready {
            p.teardown();
            std::panic::resume_unwind(panic);
        }
        p
    }

    /// The engine's command line: Debian's docker 20.10 client on the private socket, or
    /// hull on the private state.
    pub fn cmd(&self, engine: &str) -> Command {
        match engine {
            "docker" => {
                let mut c = Command::new("/usr/bin/docker");
                c.env("DOCKER_CONFIG", self.dir.join("client"))
                    .arg("-H")
                    .arg(format!("unix://{}", self.dir.join("d.sock").display()));
                c
            }
            _ => {
                let mut c = Command::new(crate::hull_bin());
                c.env("DOCKER_CONFIG", self.dir.join("client"))
                    .arg("--root")
                    .arg(self.dir.join("hull-root"))
                    .arg("--runroot")
                    .arg(self.dir.join("hull-run"));
                c
            }
        }
    }

    /// `ENGINE ARGS` with `{e}` replaced by the engine's name (names stay apart) and `{dir}`
    /// by the pair's directory; stdin closed, output through files.
    pub fn run(&self, engine: &str, args: &[&str]) -> Output {
        output_via_files(self.cmd(engine).args(self.args(engine, args)))
    }

    /// `ENGINE ARGS`, which must succeed: its stdout.
    pub fn ok(&self, engine: &str, args: &[&str]) -> String {
        let o = self.run(engine, args);
        assert!(
            o.status.success(),
            "{engine} {args:?}: {}",
            crate::client_support::out_text(&o)
        );
        stdout(&o)
    }

    pub fn args(&self, engine: &str, args: &[&str]) -> Vec<String> {
        let dir = self.dir.to_string_lossy();
        args.iter()
            .map(|a| a.replace("{e}", engine).replace("{dir}", &dir))
            .collect()
    }

    /// Removes every container and volume of both, stops dockerd and its containerd, and
    /// returns what is left.
    fn teardown(&self) -> Vec<String> {
        for e in ENGINES {
            let ids = self.run(e, &["ps", "-aq", "--no-trunc"]);
            for id in String::from_utf8_lossy(&ids.stdout).split_whitespace() {
                let _ = self.run(e, &["rm", "-f", "-v", id]);
            }
            let vols = self.run(e, &["volume", "ls", "-q"]);
            for v in String::from_utf8_lossy(&vols.stdout).split_whitespace() {
                let _ = self.run(e, &["volume", "rm", "-f", v]);
            }
        }
        let mut left = Vec::new();
        if let Some(c) = self.containerd.lock().unwrap().as_ref() {
            for t in c.tasks("moby") {
                left.push(format!("containerd task {t}"));
            }
        }
        if let Some(mut d) = self.dockerd.lock().unwrap().take() {
            stop_child(&mut d);
        }
        if let Some(mut c) = self.containerd.lock().unwrap().take() {
            c.stop();
        }
        left.extend(leftovers(&self.dir.to_string_lossy(), None));
        // docker creates the cgroup parent and never removes it, nor BuildKit its
        // `buildkit` parent of RUN steps inside it; a container's cgroup left in either is
        // a leftover.
        let dirs = |p: &std::path::Path| -> Vec<PathBuf> {
            std::fs::read_dir(p)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        };
        for p in crate::cgroup_dirs_named(&self.cgroup_parent) {
            for d in dirs(&p) {
                let inner = if d.ends_with("buildkit") {
                    dirs(&d)
                } else {
                    vec![d]
                };
                left.extend(inner.iter().map(|d| format!("cgroup: {}", d.display())));
            }
        }
        unmount_under(&self.dir);
        remove_cgroups(&self.cgroup_parent);
        let _ = std::fs::remove_dir_all(&self.dir);
        left
    }
}

/// The busybox image both load: client_support's rootfs, with groups that have members
/// (supplementary groups show in `id -G`).
fn image(dir: &std::path::Path) -> PathBuf {
    let root = crate::image::rootfs(dir);
    std::fs::write(
        root.join("etc/group"),
        "root:x:0:\nwheel:x:10:root\naudio:x:29:root,user\nuser:x:1000:\n",
    )
    .unwrap();
    let config = serde_json::json!({
        "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["sh"],
    });
    let out = image_archive(dir, IMAGE, &root, config);
    std::fs::remove_dir_all(root).unwrap();
    out
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).trim_end().to_string()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).trim_end().to_string()
}

/// One scenario's comparison: each step runs on both engines; what differs is collected
/// (not panicked, so that one run shows every difference) and `done` fails with the list.
pub struct Parity {
    pub p: &'static Pair,
    pub fails: Vec<String>,
}

impl Default for Parity {
    fn default() -> Self {
        Self::new()
    }
}

impl Parity {
    pub fn new() -> Parity {
        Parity {
            p: pair(),
            fails: Vec::new(),
        }
    }

    /// `ARGS` on both engines: [docker's output, hull's].
    pub fn both(&self, args: &[&str]) -> [Output; 2] {
        ENGINES.map(|e| self.p.run(e, args))
    }

    /// A step whose exit code and stdout (ids made `<id>`) must be the same on both;
    /// returns hull's stdout.
    pub fn same(&mut self, args: &[&str]) -> String {
        let [d, h] = self.both(args);
        // Names made apart with `{e}` are made equal again.
        let named = args.iter().any(|a| a.contains("{e}"));
        let same = |o: &Output, e: &str| {
            let s = normalize(&stdout(o));
            if named {
                s.replace(e, "{e}")
            } else {
                s
            }
        };
        let (ds, hs) = (same(&d, "docker"), same(&h, "hull"));
        if d.status.code() != h.status.code() || ds != hs {
            self.differ(args, &d, &h);
        }
        stdout(&h)
    }

    /// A step whose exit code must be the same (error texts are each engine's own words);
    /// returns [docker's, hull's] outputs.
    pub fn same_code(&mut self, args: &[&str]) -> [Output; 2] {
        let [d, h] = self.both(args);
        if d.status.code() != h.status.code() {
            self.differ(args, &d, &h);
        }
        [d, h]
    }

    /// A step that must succeed on both (its output may differ); [docker's, hull's] stdout.
    pub fn ok(&mut self, args: &[&str]) -> [String; 2] {
        let [d, h] = self.both(args);
        if !d.status.success() || !h.status.success() {
            self.differ(args, &d, &h);
        }
        [stdout(&d), stdout(&h)]
    }

    /// `inspect` JSON of both (the first document of each): every key path docker shows
    /// that hull lacks, except those under a prefix in `skip`, is a difference.
    pub fn same_keys(&mut self, what: &str, args: &[&str], skip: &[&str]) {
        let [d, h] = self.both(args);
        let parse = |o: &Output| -> Option<Value> {
            let v: Value = serde_json::from_slice(&o.stdout).ok()?;
            Some(match v {
                Value::Array(mut a) if !a.is_empty() => a.remove(0),
                v => v,
            })
        };
        let (Some(dv), Some(hv)) = (parse(&d), parse(&h)) else {
            self.differ(args, &d, &h);
            return;
        };
        let missing: Vec<String> = key_paths(&dv)
            .difference(&key_paths(&hv))
            .filter(|k| !skip.iter().any(|s| k.starts_with(s)))
            .cloned()
            .collect();
        if !missing.is_empty() {
            self.fails
                .push(format!("{what}: hull lacks docker's keys {missing:?}"));
        }
    }

    pub fn check<T: PartialEq + std::fmt::Debug>(&mut self, what: &str, got: T, want: T) {
        if got != want {
            self.fails
                .push(format!("{what}: got {got:?}, expected {want:?}"));
        }
    }

    fn differ(&mut self, args: &[&str], d: &Output, h: &Output) {
        self.fails.push(format!(
            "{}\n    docker: {}\n    hull:   {}",
            args.join(" "),
            out_text(d).replace('\n', "\n            "),
            out_text(h).replace('\n', "\n            ")
        ));
    }

    /// Fails the test with every difference found.
    pub fn done(self) {
        assert!(
            self.fails.is_empty(),
            "hull differs from docker:\n  {}",
            self.fails.join("\n  ")
        );
    }
}

/// Every key path of a JSON document (`HostConfig.Memory`); a map's keys under a
/// `*Labels`, `Options` or similar free-form map are its values, not its shape, so only
/// objects whose keys start with an upper-case letter are descended.
pub fn key_paths(v: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    walk(v, "", &mut out);
    out
}

fn walk(v: &Value, at: &str, out: &mut BTreeSet<String>) {
    let Value::Object(m) = v else { return };
    for (k, v) in m {
        if !k.starts_with(|c: char| c.is_ascii_uppercase()) {
            continue;
        }
        let p = if at.is_empty() {
            k.clone()
        } else {
            format!("{at}.{k}")
        };
        walk(v, &p, out);
        out.insert(p);
    }
}

/// `s` with container and image ids (12 or 64 hex digits) as `<id>`.
pub fn normalize(s: &str) -> String {
    let mut out = String::new();
    let mut word = String::new();
    let flush = |w: &mut String, out: &mut String| {
        let hex = w
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
        if hex && (w.len() == 12 || w.len() == 64) {
            out.push_str("<id>");
        } else {
            out.push_str(w);
        }
        w.clear();
    };
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}
