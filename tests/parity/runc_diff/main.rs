//! hullrt against runc, side by side. Every config in tests/testdata/corpus/ (as docker,
//! podman, containerd and `runc spec` wrote them; scripts/capture-corpus.sh re-captures them)
//! runs under both with a probe as its process that prints what the container sees; the
//! reports must be equal but for the differences accepted in docs/runc-differences.md.
//! Lifecycle sequences (create, start, kill, pause, exec, delete, state in the orders clients
//! use and misuse them) must give the same exit codes and the error words clients match on.

mod compare;
mod replay;

use std::path::{Path, PathBuf};

use hull_e2e::{hullrt_path, require_root, wait_for};
use replay::{Holder, Report, Runtime};

fn runc_path() -> PathBuf {
    let p = PathBuf::from("/usr/sbin/runc");
    assert!(
        p.exists(),
        "runc is not installed: apt-get install runc (scripts/deps.sh)"
    );
    p
}

/// runc and hullrt, each with a state root in `dir`.
fn runtimes(dir: &Path) -> [Runtime; 2] {
    [
        Runtime {
            name: "runc",
            bin: runc_path(),
            root: dir.join("state-runc"),
        },
        Runtime {
            name: "hullrt",
            bin: hullrt_path(),
            root: dir.join("state-hullrt"),
        },
    ]
}

fn corpus() -> Vec<(String, serde_json::Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/corpus");
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read(&p).unwrap();
            (name, serde_json::from_slice(&text).unwrap())
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(
        v.len() >= 10,
        "the corpus is missing: run scripts/capture-corpus.sh"
    );
    v
}

#[test]
fn every_corpus_config_looks_the_same_from_inside_under_runc_and_hullrt() {
    require_root();
    let dir = tempfile::Builder::new()
        .prefix("hull-difftest-")
        .tempdir()
        .unwrap();
    let probe = replay::build_probe(dir.path());
    let rts = runtimes(dir.path());
    let holder = Holder::start();
    let accepted = compare::accepted();
    // DIFFTEST_ONLY=PREFIX runs the configs whose names start with it; DIFFTEST_DUMP=DIR
    // writes each normalised report there (NAME.runc, NAME.hullrt).
    let only = std::env::var("DIFFTEST_ONLY").ok();
    let dump = std::env::var("DIFFTEST_DUMP").ok();
    let mut failures = Vec::new();
    let mut passed = Vec::new();
    for (name, config) in corpus() {
        if only.as_ref().is_some_and(|o| !name.starts_with(o.as_str())) {
            continue;
        }
        let bundle = dir.path().join(&name);
        std::fs::create_dir_all(&bundle).unwrap();
        let id = format!("difftest-{}-{name}", std::process::id());
        let cgroup = format!("/{id}");
        let config = replay::normalise(&config, &bundle, &cgroup, &holder);
        std::fs::write(
            bundle.join("config.json"),
            serde_json::to_vec_pretty(&config).unwrap(),
        )
        .unwrap();
        // The host's peer groups with this bundle's shared sources in them.
        let host_groups = compare::host_groups();
        let mut reports = Vec::new();
        for rt in &rts {
            replay::fresh_rootfs(&bundle, &probe, replay::mapped_root(&config));
            reports.push(replay::replay(rt, &bundle, &id, &holder));
        }
        replay::SharedMount::unmount_all(&bundle);
        let [runc, hullrt] = <[Report; 2]>::try_from(reports).ok().unwrap();
        let (runc, hullrt) = match (runc, hullrt) {
            (Report::Seen(a), Report::Seen(b)) => (a, b),
            (Report::Failed { step, code, stderr }, _) => {
                failures.push(format!(
                    "{name}: runc itself fails at {step} (exit {code}): {stderr}\n  \
                     (a config runc cannot run here needs a normalisation in replay.rs)"
                ));
                continue;
            }
            (_, Report::Failed { step, code, stderr }) => {
                failures.push(format!(
                    "{name}: hullrt fails at {step} (exit {code}): {stderr}"
                ));
                continue;
            }
        };
        let runc = compare::normalise(&runc, &bundle, &host_groups);
        let hullrt = compare::normalise(&hullrt, &bundle, &host_groups);
        if let Some(d) = &dump {
            std::fs::create_dir_all(d).unwrap();
            for (rt, lines) in [("runc", &runc), ("hullrt", &hullrt)] {
                std::fs::write(format!("{d}/{name}.{rt}"), lines.join("\n") + "\n").unwrap();
            }
        }
        let unexplained: Vec<String> = compare::diff(&runc, &hullrt)
            .into_iter()
            .filter(|d| !accepted.iter().any(|a| a.covers(&name, &d.line)))
            .map(|d| {
                format!(
                    "  {} {}",
                    if d.runc { "- runc:  " } else { "+ hullrt:" },
                    d.line
                )
            })
            .collect();
        if unexplained.is_empty() {
            passed.push(name);
        } else {
            failures.push(format!("{name}:\n{}", unexplained.join("\n")));
        }
    }
    eprintln!("equal under runc and hullrt: {}", passed.join(" "));
    assert!(
        failures.is_empty(),
        "{} corpus configs differ between runc and hullrt in ways docs/runc-differences.md \
         does not accept:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The words in a runtime's error that clients act on: containerd's shim and podman treat
/// "container not running", "does not exist", "process already finished" and "no such
/// process" after kill or delete as the container being gone; "already exists" is their
/// conflict; docker and podman turn "executable file not found" and "no such file or
/// directory" from a failed start or exec into exit 127 and "permission denied" into 126.
const ERROR_WORDS: &[&str] = &[
    "container not running",
    "does not exist",
    "process already finished",
    "no such process",
    "already exists",
    "executable file not found",
    "no such file or directory",
    "permission denied",
];

/// One step of a lifecycle sequence: its exit code, the error words in its stderr, and for
/// `state` the status it reports.
fn outcome(o: &replay::Out, verb: &str) -> String {
    let words: Vec<&str> = ERROR_WORDS
        .iter()
        .copied()
        .filter(|w| o.stderr.to_lowercase().contains(w))
        .collect();
    // state's document as clients read it: its fields, status, bundle, rootfs and whether a
    // pid is there (its value and the creation time differ from run to run).
    let status = if verb == "state" && o.code == 0 {
        let s: serde_json::Value = serde_json::from_str(&o.stdout).unwrap_or_default();
        let keys: Vec<&String> = s
            .as_object()
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        format!(
            "{} bundle={} rootfs={} pid={} fields={keys:?}",
            s["status"].as_str().unwrap_or_default(),
            s["bundle"],
            s["rootfs"],
            s["pid"].as_i64().is_some_and(|p| p > 0),
        )
    } else {
        String::new()
    };
    format!("exit {} {status} {words:?}", o.code)
}

#[test]
fn lifecycle_sequences_give_runc_exit_codes_and_error_words() {
    require_root();
    let dir = tempfile::Builder::new()
        .prefix("hull-difftest-")
        .tempdir()
        .unwrap();
    let probe = replay::build_probe(dir.path());
    let bundle = dir.path().join("bundle");
    std::fs::create_dir_all(&bundle).unwrap();
    // runc's own default config with a long-running shell.
    let o = std::process::Command::new(runc_path())
        .args(["spec"])
        .current_dir(&bundle)
        .output()
        .unwrap();
    assert!(o.status.success(), "runc spec: {o:?}");
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("config.json")).unwrap()).unwrap();
    config["process"]["terminal"] = false.into();
    config["process"]["args"] = serde_json::json!(["sleep", "100000"]);
    std::fs::write(bundle.join("config.json"), config.to_string()).unwrap();
    // The same with a program that is not there: create must fail as runc's does.
    let bad = dir.path().join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    replay::fresh_rootfs(&bad, &probe, None);
    config["process"]["args"] = serde_json::json!(["/nonexistent"]);
    std::fs::write(bad.join("config.json"), config.to_string()).unwrap();
    let b = bundle.to_str().unwrap().to_string();
    let bad = bad.to_str().unwrap().to_string();
    let id = format!("difftest-lc-{}", std::process::id());
    let other = format!("{id}-2");
    let missing = format!("{id}-missing");
    // Steps: verb and arguments, with the words ID, OTHER, MISSING (container ids), BUNDLE and
    // BAD (bundles) substituted; `WAIT ID` waits for the container to be stopped.
    let steps: &[&str] = &[
        "state MISSING",
        "kill MISSING KILL",
        "delete MISSING",
        "start MISSING",
        "exec MISSING true",
        "create --bundle BUNDLE ID",
        "create --bundle BUNDLE ID",
        "state ID",
        "exec ID true",
        "start ID",
        "state ID",
        "start ID",
        "exec ID true",
        "exec ID false",
        "exec ID /nonexistent",
        "exec --user 1000:1000 ID true",
        "exec --cwd /nonexistent ID true",
        "exec --env FOO=1 --cap CAP_SYS_ADMIN ID true",
        "exec -d ID true",
        "exec -d -t ID true",
        "exec --process /nonexistent.json ID",
        "kill ID CONT",
        "kill ID SIGCONT",
        "kill ID 18",
        "kill ID NOSUCHSIGNAL",
        "kill ID 0",
        "pause ID",
        "state ID",
        "pause ID",
        "exec ID true",
        "delete ID",
        "resume ID",
        "resume ID",
        "delete ID",
        "kill ID KILL",
        "WAIT ID",
        "state ID",
        "kill ID KILL",
        "kill --all ID KILL",
        "start ID",
        "exec ID true",
        "pause ID",
        "resume ID",
        "delete ID",
        "delete ID",
        "create --bundle BUNDLE OTHER",
        "delete OTHER",
        "delete --force OTHER",
        "state OTHER",
        "create --bundle BUNDLE OTHER",
        "start OTHER",
        "delete --force OTHER",
        "delete --force MISSING",
        "create --bundle BUNDLE OTHER",
        "kill OTHER KILL",
        "WAIT OTHER",
        "state OTHER",
        "delete OTHER",
        "run -d --bundle BUNDLE OTHER",
        "state OTHER",
        "pause OTHER",
        "delete --force OTHER",
        "state OTHER",
        "create --bundle BAD OTHER",
        "state OTHER",
        "run --bundle BAD OTHER",
        "state OTHER",
    ];
    let mut tables = Vec::new();
    for rt in runtimes(dir.path()) {
        replay::fresh_rootfs(&bundle, &probe, None);
        let mut table = Vec::new();
        for step in steps {
            let args: Vec<String> = step
                .split(' ')
                .map(|a| match a {
                    "ID" => id.clone(),
                    "OTHER" => other.clone(),
                    "MISSING" => missing.clone(),
                    "BUNDLE" => b.clone(),
                    "BAD" => bad.clone(),
                    a => a.to_string(),
                })
                .collect();
            if args[0] == "WAIT" {
                let stopped = wait_for(20, || {
                    rt.run(&bundle, &["state", &args[1]])
                        .stdout
                        .contains("\"stopped\"")
                });
                table.push(format!("{step}: stopped={stopped}"));
                continue;
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let o = rt.run(&bundle, &args);
            table.push(format!("{step}: {}", outcome(&o, args[0])));
            if o.code != 0 {
                table.push(format!("{step}: ({}: {})", rt.name, o.stderr.trim()));
            }
        }
        for c in [&id, &other] {
            rt.run(&bundle, &["delete", "--force", c]);
        }
        tables.push(table);
    }
    // The runtimes' own texts (the lines in parentheses) are shown, not compared.
    let keep = |t: &Vec<String>| -> Vec<String> {
        t.iter().filter(|l| !l.contains(": (")).cloned().collect()
    };
    let (runc, hullrt) = (keep(&tables[0]), keep(&tables[1]));
    let accepted = compare::accepted();
    let unexplained: Vec<String> = compare::diff(&runc, &hullrt)
        .into_iter()
        .filter(|d| !accepted.iter().any(|a| a.covers("lifecycle", &d.line)))
        .map(|d| {
            format!(
                "  {} {}",
                if d.runc { "- runc:  " } else { "+ hullrt:" },
                d.line
            )
        })
        .collect();
    assert!(
        unexplained.is_empty(),
        "lifecycle steps differ:\n{}\n\nrunc:\n{}\n\nhullrt:\n{}",
        unexplained.join("\n"),
        tables[0].join("\n"),
        tables[1].join("\n")
    );
}
