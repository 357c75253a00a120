//! A state database written by an older hull (testdata/state-v0: main 4b15e0e's, before the
//! schema had versions) is upgraded in place by today's hull on open: every container, volume,
//! network and pod is still there with every setting, as that hull's own `inspect` showed them
//! (testdata/state-v0/*.json), and the containers still run as configured. A database from a
//! newer hull is refused with one line.

use std::path::Path;

use hull_e2e::hull::Hull;
use serde_json::{json, Value};

const FIXTURE: &str = "testdata/state-v0";
/// The busybox image id in the fixture (the seeded image of the machine it was made on).
const FIXTURE_IMAGE: &str =
    "sha256:b7c1e874fc4057c1edda83ec4962af54f4511ae419e68672f3f36b0a8e80c4ca";

fn fixture(h: &Hull, file: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(FIXTURE)
        .join(file);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .replace("@ROOT@", &h.root().display().to_string())
        .replace("@RUNROOT@", &h.runroot().display().to_string())
        .replace("@DIR@", &h.dir.path().display().to_string())
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// A root holding the fixture's tables as the old hull left them, beside this machine's
/// seeded busybox image (in place of the fixture's: the image is not what is tested).
fn old_state() -> Hull {
    let h = Hull::new();
    h.ok(&["run", "--rm", "--network", "none", "busybox", "true"]);
    let image = h
        .ok(&["image", "inspect", "--format", "{{.Id}}", "busybox"])
        .trim()
        .to_string();
    let dump = fixture(&h, "hull.db.sql").replace(FIXTURE_IMAGE, &image);
    let conn = rusqlite::Connection::open(h.root().join("hull.db")).unwrap();
    // The engine's tables as the previous release wrote them: no schema version.
    conn.execute_batch(
        "DROP TABLE containers; DROP TABLE volumes; DROP TABLE leases; DROP TABLE networks;
         DROP TABLE ipam_cursors; DROP TABLE pods; PRAGMA user_version = 0;",
    )
    .unwrap();
    conn.execute_batch(&dump).unwrap();
    drop(conn);
    // Each container's directory as the old hull made it at create (the fixture holds only
    // the database): its layer's dirs and the /etc files it bind-mounts.
    for c in json(&fixture(&h, "inspect.json")).as_array().unwrap() {
        let dir = h.root().join("containers").join(c["Id"].as_str().unwrap());
        for d in ["upper", "work"] {
            std::fs::create_dir_all(dir.join(d)).unwrap();
        }
        let hostname = c["Config"]["Hostname"].as_str().unwrap();
        std::fs::write(dir.join("hostname"), format!("{hostname}\n")).unwrap();
        std::fs::write(dir.join("hosts"), "127.0.0.1\tlocalhost\n").unwrap();
        std::fs::write(dir.join("resolv.conf"), "nameserver 127.0.0.1\n").unwrap();
    }
    // The volumes' directories, as the old hull made them.
    for v in [
        "data",
        "d4a0f47c6c754524668a0aac49b1bb78d77ed57c7f1d2b865a896ba832c7544b",
    ] {
        std::fs::create_dir_all(h.root().join("volumes").join(v).join("_data")).unwrap();
    }
    h
}

/// The keys of a container's inspect that hold what it was created with (State and
/// NetworkSettings describe a run that the fixture's machine had and this one has not).
const SETTINGS: [&str; 12] = [
    "Id",
    "Name",
    "Created",
    "Image",
    "Path",
    "Args",
    "Config",
    "HostConfig",
    "Mounts",
    "Extra",
    "Driver",
    "RestartCount",
];

#[test]
fn a_database_of_the_previous_release_upgrades_in_place() {
    let h = old_state();
    let mut names = h.lines(&["ps", "-a", "--format", "{{.Names}} {{.Image}}"]);
    names.sort();
    assert_eq!(
        names,
        [
            "clock busybox",
            "exited busybox",
            "inpod busybox",
            "onnet busybox",
            "tuned busybox",
            "vols busybox"
        ]
    );
    // Every container's settings, as the old hull's inspect showed them.
    let old = json(&fixture(&h, "inspect.json"));
    let image = h
        .ok(&["image", "inspect", "--format", "{{.Id}}", "busybox"])
        .trim()
        .to_string();
    for before in old.as_array().unwrap() {
        let name = before["Name"].as_str().unwrap().trim_start_matches('/');
        let now = json(&h.ok(&["inspect", name]))[0].clone();
        for key in SETTINGS {
            let mut want = before[key].clone();
            if key == "Image" {
                want = json!(image);
            }
            assert_eq!(now[key], want, "{name}: {key}");
        }
    }
    // The exited one kept its end; the one in a pod, its pod.
    let exited = json(&h.ok(&["inspect", "exited"]))[0]["State"].clone();
    assert_eq!(
        (&exited["Status"], &exited["ExitCode"]),
        (&json!("exited"), &json!(3))
    );
    let pod = json(&h.ok(&["pod", "inspect", "shop"]));
    let pod = if pod.is_array() { pod[0].clone() } else { pod };
    let old_pod = json(&fixture(&h, "pinspect.json"));
    for key in [
        "Id",
        "Name",
        "Hostname",
        "Created",
        "CgroupParent",
        "Ports",
        "SharedNamespaces",
        "Containers",
    ] {
        assert_eq!(pod[key], old_pod[key], "pod {key}");
    }
    // Volumes and networks.
    assert_eq!(
        json(&h.ok(&["volume", "inspect", "data"]))[0],
        json(&fixture(&h, "vinspect.json"))[0]
    );
    let anon = h.ok(&[
        "volume",
        "ls",
        "-q",
        "--filter",
        "label=com.docker.volume.anonymous",
    ]);
    assert_eq!(
        anon.trim(),
        "d4a0f47c6c754524668a0aac49b1bb78d77ed57c7f1d2b865a896ba832c7544b"
    );
    let net = json(&h.ok(&["network", "inspect", "appnet"]))[0].clone();
    let old_net = json(&fixture(&h, "ninspect.json"))[0].clone();
    for key in [
        "Id", "Name", "Driver", "IPAM", "Labels", "Created", "Internal",
    ] {
        assert_eq!(net[key], old_net[key], "network {key}");
    }

    // rm -v of the one with volumes removes its anonymous volume, not the named one.
    h.ok(&["rm", "-v", "vols"]);
    assert_eq!(h.lines(&["volume", "ls", "-q"]), ["data"]);
    h.ok(&["rm", "-f", "inpod"]);
    assert!(
        json(&h.ok(&["pod", "inspect", "shop"]))
            .to_string()
            .contains("\"NumContainers\":0"),
        "the pod forgot its container"
    );
}

#[test]
fn a_database_from_a_newer_hull_is_refused() {
    let h = Hull::new();
    h.ok(&["ps", "-a"]);
    let conn = rusqlite::Connection::open(h.root().join("hull.db")).unwrap();
    let version: u32 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert!(version > 0, "today's hull writes a schema version");
    conn.pragma_update(None, "user_version", version + 1)
        .unwrap();
    drop(conn);
    let (code, err) = h.fails(&["ps", "-a"]);
    assert_eq!(code, 125, "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!("schema version {}", version + 1)) && err.contains("newer"),
        "{err}"
    );
}
