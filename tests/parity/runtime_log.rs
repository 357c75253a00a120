//! `hullrt --log FILE --log-format json` beside runc's: containerd's shim (and podman) pass
//! both flags, decode every line of the file as `{level, msg, time}` (time as RFC 3339, Go's
//! time.Time) and report the last `error` line's msg when a create fails. The same failing
//! bundle goes to both runtimes; the file must read the same way. With `--debug`, hullrt's
//! steps go to the same file, each naming the container.

use std::path::Path;
use std::process::{Command, Stdio};

use hull_e2e::{hullrt_path, unique_id, Bundle};
use serde_json::Value;

/// `RUNTIME --root ROOT --log LOG --log-format json [--debug] create --bundle B ID`: exit code.
fn create(runtime: &Path, b: &Bundle, root: &Path, log: &Path, debug: bool, id: &str) -> i32 {
    b.save();
    let mut c = Command::new(runtime);
    c.arg("--root").arg(root).arg("--log").arg(log);
    c.args(["--log-format", "json"]);
    if debug {
        c.arg("--debug");
    }
    c.args(["create", "--bundle"])
        .arg(b.path())
        .arg(id)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run the runtime")
        .code()
        .unwrap_or(-1)
}

/// Every line of the file as JSON, each checked the way containerd's shim decodes it.
fn lines(log: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            let time = v["time"].as_str().unwrap_or_else(|| panic!("no time: {l}"));
            assert!(rfc3339(time), "time is not RFC 3339: {l}");
            assert!(v["level"].is_string() && v["msg"].is_string(), "{l}");
            v
        })
        .collect()
}

/// containerd's getLastRuntimeError: the msg of the last line whose level is "error".
fn last_error(lines: &[Value]) -> Option<&Value> {
    lines.iter().rev().find(|v| v["level"] == "error")
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

#[test]
fn a_failed_create_reads_the_same_from_runc_and_hullrt_log_files() {
    let mut b = Bundle::new("true");
    // Refused by both before anything exists: the working directory must be absolute.
    b.config["process"]["cwd"] = "relative".into();
    let dir = tempfile::tempdir().unwrap();
    let runc = which("runc");
    let mut got = Vec::new();
    for (name, rt) in [
        ("runc", runc.as_path()),
        ("hullrt", hullrt_path().as_path()),
    ] {
        let id = unique_id("log");
        let root = dir.path().join(format!("root-{name}"));
        let log = dir.path().join(format!("{name}.json"));
        let code = create(rt, &b, &root, &log, false, &id);
        let all = lines(&log);
        let err = last_error(&all)
            .unwrap_or_else(|| panic!("{name}: no error line in {all:?}"))
            .clone();
        assert!(
            err["msg"].as_str().unwrap().to_lowercase().contains("cwd"),
            "{name}: {err}"
        );
        assert!(!root.join(&id).exists(), "{name} left state for {id}");
        got.push((name, code, keys(&err), err["level"].clone(), all.len()));
    }
    let (runc_got, hullrt_got) = (&got[0], &got[1]);
    assert_eq!(
        (runc_got.1, &runc_got.2, &runc_got.3, runc_got.4),
        (hullrt_got.1, &hullrt_got.2, &hullrt_got.3, hullrt_got.4),
        "(exit code, keys of the error line, its level, lines in the file): runc vs hullrt"
    );
    assert_eq!(hullrt_got.2, ["level", "msg", "time"]);
}

#[test]
fn debug_puts_each_step_in_the_log_file_naming_the_container() {
    let b = Bundle::new("true");
    let dir = tempfile::tempdir().unwrap();
    let id = unique_id("dbg");
    let log = dir.path().join("log.json");
    let code = create(&hullrt_path(), &b, &b.root, &log, true, &id);
    assert_eq!(code, 0, "{:?}", std::fs::read_to_string(&log));
    let all = lines(&log);
    let steps: Vec<&str> = all
        .iter()
        .filter(|v| v["level"] == "debug" && v["id"] == id.as_str())
        .map(|v| v["msg"].as_str().unwrap())
        .collect();
    for want in [
        "config.json loaded",
        "init cloned",
        "created; init waits on exec.fifo",
    ] {
        assert!(steps.contains(&want), "no {want:?} in {steps:?}");
    }
    // Without --debug the same verb writes nothing: the file is for errors then.
    let quiet = dir.path().join("quiet.json");
    let out = b.hullrt(&[
        "--log",
        quiet.to_str().unwrap(),
        "--log-format",
        "json",
        "delete",
        "--force",
        &id,
    ]);
    assert!(out.status.success(), "{out:?}");
    assert!(lines(&quiet).is_empty());
    assert!(b.no_state_left(&id));
}

fn which(prog: &str) -> std::path::PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(prog))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{prog} not found (bash scripts/deps.sh installs it)"))
}

/// `YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)`: what Go's time.Time accepts from JSON.
fn rfc3339(t: &str) -> bool {
    let b = t.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    if b.len() < 20 || !(digits(0..4) && digits(5..7) && digits(8..10) && digits(11..13)) {
        return false;
    }
    if (b[4], b[7], b[10], b[13], b[16]) != (b'-', b'-', b'T', b':', b':')
        || !digits(14..16)
        || !digits(17..19)
    {
        return false;
    }
    let mut i = 19;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match &b[i..] {
        b"Z" => true,
        [b'+' | b'-', ..] => {
            b.len() == i + 6 && digits(i + 1..i + 3) && b[i + 3] == b':' && digits(i + 4..i + 6)
        }
        _ => false,
    }
}
