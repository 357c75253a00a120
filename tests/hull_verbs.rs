//! hull's verbs around the core: info and version (checked against the host), and the
//! container verbs top, stats, cp, rename, pause/unpause, update and system prune, each
//! observed from inside the container.

mod verbs_util;

use serde_json::Value;
use verbs_util::Hull;

#[test]
fn info_reports_the_host_and_the_state() {
    let h = Hull::new();
    h.ok(&["volume", "create", "v1"]);
    h.ok(&["volume", "create", "v2"]);
    let info: Value = serde_json::from_str(&h.ok(&["info", "--format", "json"])).unwrap();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    assert_eq!(info["KernelVersion"], kernel.trim());
    assert_eq!(info["Volumes"], 2);
    assert_eq!(info["Images"], 0);
    assert_eq!(info["Containers"], 0);
    assert_eq!(info["Driver"], "overlay");
    assert_eq!(info["DockerRootDir"], h.root().display().to_string());
    assert_eq!(info["RunRoot"], h.runroot().display().to_string());
    let v2 = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.contains(" /sys/fs/cgroup ") && l.contains(" - cgroup2 "));
    assert_eq!(info["CgroupVersion"], if v2 { "2" } else { "1" });
    let ncpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    assert_eq!(info["NCPU"], ncpu);
    // The runtime found is the hullrt built beside hull, and it answered its version.
    let rt = &info["Runtimes"]["hullrt"];
    assert_eq!(
        rt["path"],
        hull_e2e::bin_dir().join("hullrt").display().to_string()
    );
    assert_eq!(rt["version"], env!("CARGO_PKG_VERSION"));

    let text = h.ok(&["info"]);
    assert!(text.contains(" Volumes: 2\n"), "{text}");
    assert!(text.contains(" Storage Driver: overlay\n"), "{text}");
    assert_eq!(
        h.ok(&["info", "-f", "{{.Images}} {{.ContainersRunning}}"]),
        "0 0\n"
    );
    let (_, err) = h.fails(&["info", "-f", "{{.NoSuchField}}"]);
    assert!(err.contains(".NoSuchField"), "{err}");
}

#[test]
fn version_names_hull_and_its_runtime() {
    let h = Hull::new();
    let v = env!("CARGO_PKG_VERSION");
    assert_eq!(
        h.ok(&["version", "--format", "{{.Server.Version}} {{.Client.Os}}"]),
        format!("{v} linux\n")
    );
    let j: Value = serde_json::from_str(&h.ok(&["version", "-f", "json"])).unwrap();
    assert_eq!(j["Runtime"]["Name"], "hullrt");
    assert_eq!(j["Runtime"]["Version"], v);
    let text = h.ok(&["version"]);
    assert!(text.contains(&format!(" Version:        {v}")), "{text}");
    // HULL_RUNTIME picks another runtime, which is then what version reports.
    let out = h
        .cmd()
        .env("HULL_RUNTIME", "/nonexistent/runc")
        .args(["version", "-f", "{{.Runtime.Path}} {{.Runtime.Version}}"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "/nonexistent/runc unknown\n"
    );
}
