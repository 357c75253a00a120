//! `hull volume`: create, ls (filters, formats), inspect, rm, prune, through the real binary.

use hull_e2e::hull::Hull;
use serde_json::Value;

#[test]
fn create_inspect_ls_rm() {
    let h = Hull::new();
    assert_eq!(
        h.ok(&["volume", "create", "--label", "app=shop", "--label", "x", "data"]),
        "data\n"
    );
    let anon = h.ok(&["volume", "create"]);
    let anon = anon.trim();
    assert_eq!(anon.len(), 64, "random name: {anon}");
    assert!(anon.bytes().all(|b| b.is_ascii_hexdigit()));

    let v: Value = serde_json::from_str(&h.ok(&["volume", "inspect", "data"])).unwrap();
    let v = &v[0];
    assert_eq!(v["Name"], "data");
    assert_eq!(v["Driver"], "local");
    assert_eq!(v["Scope"], "local");
    assert_eq!(v["Labels"]["app"], "shop");
    assert_eq!(v["Labels"]["x"], "");
    let mp = h.root().join("volumes/data/_data");
    assert_eq!(v["Mountpoint"], mp.display().to_string());
    assert!(mp.is_dir(), "the mountpoint exists");
    assert!(v["CreatedAt"].as_str().unwrap().ends_with('Z'));

    assert_eq!(
        h.ok(&[
            "volume",
            "inspect",
            "--format",
            "{{.Name}} {{index .Labels \"app\"}}",
            "data"
        ]),
        "data shop\n"
    );
    // Default table: DRIVER and VOLUME NAME, as docker's.
    let lines = h.lines(&["volume", "ls"]);
    assert_eq!(lines[0], "DRIVER    VOLUME NAME");
    assert!(lines.contains(&"local     data".to_string()), "{lines:?}");
    assert_eq!(lines.len(), 3);
    assert_eq!(
        h.lines(&["volume", "ls", "-q", "--filter", "label=app=shop"]),
        ["data"]
    );
    assert_eq!(
        h.lines(&["volume", "ls", "-q", "--filter", "name=dat"]),
        ["data"]
    );
    assert_eq!(
        h.lines(&[
            "volume",
            "ls",
            "--format",
            "{{.Name}}|{{.Labels}}",
            "-f",
            "label=x"
        ]),
        ["data|app=shop,x="]
    );
    assert_eq!(
        h.lines(&[
            "volume",
            "ls",
            "--format",
            "table {{.Name}}\t{{.Driver}}",
            "-f",
            "name=data"
        ]),
        ["VOLUME NAME   DRIVER", "data          local"]
    );
    let j: Value =
        serde_json::from_str(&h.lines(&["volume", "ls", "--format", "json", "-f", "name=data"])[0])
            .unwrap();
    assert_eq!(j["Name"], "data");

    // Data written into the volume survives until rm, which removes it.
    std::fs::write(mp.join("f"), "x").unwrap();
    assert_eq!(
        h.ok(&["volume", "rm", "data", anon]),
        format!("data\n{anon}\n")
    );
    assert!(!h.root().join("volumes/data").exists());
    assert!(h.ok(&["volume", "ls", "-q"]).is_empty());
}

#[test]
fn bad_input_is_one_line_and_leaves_nothing() {
    let h = Hull::new();
    for bad in ["a", "../x", "a/b", "-", "x y"] {
        let (code, err) = h.fails(&["volume", "create", "--", bad]);
        assert_ne!(code, 0);
        assert!(err.contains("volume name"), "{bad}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
    // docker's local driver options: each bad one names what is wrong.
    for (opts, want) in [
        (&["-o", "colour=red"][..], "\"colour\" is not an option"),
        (&["-o", "type=tmpfs"], "device: missing"),
        (&["-o", "device=tmpfs"], "type: missing"),
        (
            &[
                "-o",
                "type=tmpfs",
                "-o",
                "device=tmpfs",
                "-o",
                "o=size=1m,x y",
            ],
            "o: \"x y\"",
        ),
        (
            &["-o", "type=none", "-o", "device=rel", "-o", "o=bind"],
            "absolute path",
        ),
        (&["-o", "typetmpfs"], "KEY=VALUE"),
    ] {
        let mut args = vec!["volume", "create"];
        args.extend_from_slice(opts);
        args.push("v1");
        let (code, err) = h.fails(&args);
        assert_eq!(code, 125, "{opts:?}: {err}");
        assert!(err.contains(want), "{opts:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
    let (_, err) = h.fails(&["volume", "create", "--driver", "nfs", "v1"]);
    assert!(err.contains("driver"), "{err}");
    let (_, err) = h.fails(&["volume", "create", "--label", "=v", "v1"]);
    assert!(err.contains("--label"), "{err}");
    assert!(h.ok(&["volume", "ls", "-q"]).is_empty());
    assert!(std::fs::read_dir(h.root().join("volumes"))
        .map(|d| d.count() == 0)
        .unwrap_or(true));

    let (code, err) = h.fails(&["volume", "rm", "nope"]);
    assert_eq!(code, 1);
    assert!(err.contains("no such volume: nope"), "{err}");
    h.ok(&["volume", "rm", "-f", "nope"]);
    let (_, err) = h.fails(&["volume", "inspect", "nope"]);
    assert!(err.contains("nope"), "{err}");
    let (_, err) = h.fails(&["volume", "ls", "--filter", "colour=red"]);
    assert!(err.contains("colour=red"), "{err}");
    h.ok(&["volume", "create", "v1"]);
    let (_, err) = h.fails(&["volume", "ls", "--format", "{{.Nope}}"]);
    assert!(err.contains(".Nope"), "{err}");
    let (_, err) = h.fails(&["volume", "ls", "--format", "{{.Name"]);
    assert!(err.contains("template"), "{err}");
}

#[test]
fn prune_asks_and_takes_only_unused_ones() {
    let h = Hull::new();
    h.ok(&["volume", "create", "keep"]);
    h.ok(&["volume", "create", "--label", "tmp=1", "scratch"]);
    std::fs::write(h.root().join("volumes/scratch/_data/blob"), vec![7u8; 1500]).unwrap();
    // Without -a only anonymous volumes go (docker 23's rule): none here.
    let out = h.ok(&["volume", "prune", "-f"]);
    assert_eq!(out, "Total reclaimed space: 0B\n");
    // "n" at the prompt keeps everything.
    let out = h.output(&["volume", "prune", "-a"], Some(b"n\n"));
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Are you sure"));
    assert_eq!(h.lines(&["volume", "ls", "-q"]).len(), 2);
    // A filter narrows what goes; "y" confirms.
    let out = h.output(
        &["volume", "prune", "-a", "--filter", "label=tmp"],
        Some(b"y\n"),
    );
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Deleted Volumes:\nscratch\n"), "{text}");
    assert!(text.contains("Total reclaimed space: 1.5kB"), "{text}");
    assert_eq!(h.lines(&["volume", "ls", "-q"]), ["keep"]);
    assert!(!h.root().join("volumes/scratch").exists());
}

/// Whether anything is mounted at `path` in the host's view.
fn mounted_at(path: &std::path::Path) -> bool {
    let p = path.display().to_string();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some(p.as_str()))
}

/// `hull volume create -o OPT... NAME`.
fn create_with_options(h: &Hull, name: &str, opts: &[&str]) {
    let mut args = vec!["volume", "create"];
    for o in opts {
        args.extend(["-o", o]);
    }
    args.push(name);
    h.ok(&args);
}

#[test]
fn driver_options_mount_the_volume_while_containers_use_it() {
    let h = Hull::new();
    // A tmpfs, as docker's local driver makes one.
    create_with_options(
        &h,
        "tv",
        &["type=tmpfs", "device=tmpfs", "o=size=1m,mode=0750"],
    );
    let v: Value = serde_json::from_str(&h.ok(&["volume", "inspect", "tv"])).unwrap();
    assert_eq!(v[0]["Options"]["o"], "size=1m,mode=0750");
    let data = h.root().join("volumes/tv/_data");
    assert!(!mounted_at(&data));
    hull_e2e::hull::run_d(&h, "va", &["-v", "tv:/data", "busybox", "sleep", "1000"]);
    let seen = hull_e2e::hull::sh(&h, "va", "grep ' /data ' /proc/mounts; stat -c %a /data");
    assert!(
        seen.contains("tmpfs /data tmpfs") && seen.contains("size=1024k"),
        "{seen}"
    );
    assert!(seen.trim().ends_with("750"), "{seen}");
    assert!(mounted_at(&data));
    // A second user shares the same filesystem; the first one's stop leaves it mounted.
    hull_e2e::hull::sh(&h, "va", "echo from-a > /data/f");
    hull_e2e::hull::run_d(&h, "vb", &["-v", "tv:/v", "busybox", "sleep", "1000"]);
    assert_eq!(hull_e2e::hull::sh(&h, "vb", "cat /v/f").trim(), "from-a");
    h.ok(&["rm", "-f", "va"]);
    assert!(mounted_at(&data));
    assert_eq!(hull_e2e::hull::sh(&h, "vb", "cat /v/f").trim(), "from-a");
    // The last one's stop unmounts it: a tmpfs volume's files go with it, as docker's do.
    h.ok(&["stop", "-t", "1", "vb"]);
    assert!(
        hull_e2e::wait_for(30, || !mounted_at(&data)),
        "still mounted after the last user stopped"
    );
    h.ok(&["start", "vb"]);
    assert!(mounted_at(&data));
    let left = hull_e2e::hull::sh(&h, "vb", "ls /v; echo end");
    assert_eq!(left.trim(), "end");
    h.ok(&["rm", "-f", "vb"]);
    assert!(hull_e2e::wait_for(30, || !mounted_at(&data)));

    // A bind of a host directory (type=none, o=bind): read-only here, and `volume rm` leaves
    // the host's files alone.
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("f"), "host-file\n").unwrap();
    let dev = format!("device={}", host.path().display());
    create_with_options(&h, "bv", &["type=none", "o=bind,ro", &dev]);
    let out = h.ok(&[
        "run",
        "--rm",
        "-v",
        "bv:/d",
        "busybox",
        "sh",
        "-c",
        "cat /d/f; touch /d/g 2>/dev/null || echo read-only",
    ]);
    assert_eq!(out, "host-file\nread-only\n");
    // Killed while the volume is mounted: rm still unmounts before it deletes anything.
    hull_e2e::hull::run_d(&h, "vc", &["-v", "bv:/d", "busybox", "sleep", "1000"]);
    let data = h.root().join("volumes/bv/_data");
    assert!(mounted_at(&data));
    h.ok(&["rm", "-f", "vc"]);
    h.ok(&["volume", "rm", "bv"]);
    assert!(!mounted_at(&data));
    assert_eq!(
        std::fs::read_to_string(host.path().join("f")).unwrap(),
        "host-file\n"
    );

    // A device that cannot be mounted: the run fails in one line and leaves nothing.
    create_with_options(
        &h,
        "nv",
        &["type=none", "o=bind", "device=/nonexistent/hull"],
    );
    let (code, err) = h.fails(&["run", "--name", "vn", "-v", "nv:/d", "busybox", "true"]);
    assert_eq!(code, 125, "{err}");
    assert!(
        err.contains("/nonexistent/hull") && err.trim().lines().count() == 1,
        "{err}"
    );
    assert!(h.ok(&["ps", "-a", "-q"]).trim().is_empty());
    assert!(!mounted_at(&h.root().join("volumes/nv/_data")));
    h.ok(&["volume", "rm", "nv", "tv"]);
}

/// `volume create` of a name that exists returns it as it is, as docker does (exit 0, its
/// name), and says on stderr when the options or labels asked for differ from its own.
#[test]
fn create_existing_name_keeps_it_and_says_so() {
    let h = Hull::new();
    h.ok(&["volume", "create", "--label", "a=1", "kept"]);
    let same = h.run(&["volume", "create", "--label", "a=1", "kept"]);
    assert_eq!((same.code, same.stdout.as_str()), (0, "kept\n"));
    assert_eq!(same.stderr, "", "the same request: nothing to say");
    let other = h.run(&[
        "volume",
        "create",
        "-o",
        "type=tmpfs",
        "-o",
        "device=tmpfs",
        "--label",
        "a=2",
        "kept",
    ]);
    assert_eq!((other.code, other.stdout.as_str()), (0, "kept\n"));
    assert!(
        other
            .stderr
            .contains("volume kept already exists with other options"),
        "{}",
        other.stderr
    );
    let v: Value = serde_json::from_str(&h.ok(&["volume", "inspect", "kept"])).unwrap();
    assert_eq!(v[0]["Labels"]["a"], "1", "the volume is kept as it was");
    assert_eq!(v[0]["Options"], serde_json::json!({}));
}
