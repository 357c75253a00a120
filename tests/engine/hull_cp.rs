//! `hull cp` end to end: host <-> running and stopped containers (volumes included), tar
//! streams, and links planted by the container that must never lead a copy onto the host.

use hull_e2e::hull::{run_d, sh, Hull};

#[test]
fn cp_both_ways_running_and_stopped() {
    let h = Hull::new();
    let host = h.dir.path().join("host");
    std::fs::create_dir_all(host.join("tree/sub")).unwrap();
    std::fs::write(host.join("note.txt"), "from the host\n").unwrap();
    std::fs::write(host.join("tree/sub/deep"), "deep\n").unwrap();
    run_d(
        &h,
        "cp1",
        &["-v", "cpdata:/data", "busybox", "sleep", "1000"],
    );
    let f = host.join("note.txt");
    h.ok(&["cp", f.to_str().unwrap(), "cp1:/tmp/"]);
    assert_eq!(
        sh(&h, "cp1", "cat /tmp/note.txt; stat -c %u:%g /tmp/note.txt"),
        "from the host\n0:0\n"
    );
    h.ok(&["cp", host.join("tree").to_str().unwrap(), "cp1:/opt"]);
    assert_eq!(sh(&h, "cp1", "cat /opt/sub/deep"), "deep\n");
    // Into a volume mounted in the running container: it lands in the volume.
    h.ok(&["cp", f.to_str().unwrap(), "cp1:/data/in-volume"]);
    let vol = h.root().join("volumes/cpdata/_data/in-volume");
    assert_eq!(std::fs::read_to_string(vol).unwrap(), "from the host\n");
    // Out: something the container wrote.
    sh(
        &h,
        "cp1",
        "echo made inside > /tmp/out.txt; mkdir -p /tmp/d/e; echo x > /tmp/d/e/f",
    );
    let back = host.join("back.txt");
    h.ok(&["cp", "cp1:/tmp/out.txt", back.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&back).unwrap(), "made inside\n");
    h.ok(&["cp", "cp1:/tmp/d", host.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(host.join("d/e/f")).unwrap(), "x\n");

    // Stopped: through the overlay, and what was copied in is there at the next start.
    h.ok(&["stop", "-t", "1", "cp1"]);
    h.ok(&["cp", f.to_str().unwrap(), "cp1:/root/while-stopped"]);
    let again = host.join("again.txt");
    h.ok(&["cp", "cp1:/tmp/out.txt", again.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&again).unwrap(), "made inside\n");
    // The stopped container's volume is where the container sees it, for reads and writes.
    h.ok(&["cp", f.to_str().unwrap(), "cp1:/data/stopped-in-volume"]);
    let vol_dir = h.root().join("volumes/cpdata/_data");
    assert!(vol_dir.join("stopped-in-volume").exists());
    let from_vol = host.join("from-volume");
    h.ok(&["cp", "cp1:/data/in-volume", from_vol.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(&from_vol).unwrap(),
        "from the host\n"
    );
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let cp_dir = h.runroot().join("cp").display().to_string();
    assert!(!mounts.contains(&cp_dir), "the copy's mounts are gone");
    h.ok(&["start", "cp1"]);
    assert_eq!(
        sh(&h, "cp1", "cat /root/while-stopped /data/stopped-in-volume"),
        "from the host\nfrom the host\n"
    );
    let leftovers = std::fs::read_dir(h.runroot().join("cp"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(leftovers, 0, "the copy's own overlay mount is gone");

    // Bad input: one line, exit 1, nothing written.
    let (code, err) = h.fails(&["cp", "cp1:/nonexistent", host.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("/nonexistent"), "{err}");
    let (_, err) = h.fails(&["cp", f.to_str().unwrap(), "cp1:/no/such/dir/x"]);
    assert!(err.contains("/no/such/dir"), "{err}");
    let (_, err) = h.fails(&["cp", f.to_str().unwrap(), "nosuch:/tmp"]);
    assert!(err.contains("nosuch"), "{err}");
    let (_, err) = h.fails(&["cp", "a", "b"]);
    assert!(err.contains("CONTAINER:PATH"), "{err}");
}

#[test]
fn cp_never_follows_the_containers_links_out() {
    let h = Hull::new();
    // A host directory the container must not reach, named by its host path.
    let secret_dir = h.dir.path().join("secret");
    std::fs::create_dir(&secret_dir).unwrap();
    std::fs::write(secret_dir.join("key"), "host secret\n").unwrap();
    let s = secret_dir.display().to_string();
    run_d(&h, "cp2", &["busybox", "sleep", "1000"]);
    sh(
        &h,
        "cp2",
        &format!("ln -s {s} /trap; ln -s ../../../../../../../..{s}/key /leak; ln -s / /root-link"),
    );
    let f = h.dir.path().join("payload");
    std::fs::write(&f, "payload\n").unwrap();

    // Writes through a link resolve inside the container: /trap's target does not exist
    // there, so the copy fails, and the host directory is untouched.
    h.fails(&["cp", f.to_str().unwrap(), "cp2:/trap/x"]);
    h.fails(&["cp", f.to_str().unwrap(), "cp2:/trap/"]);
    // A link as the destination's last name is replaced, not followed.
    h.ok(&["cp", f.to_str().unwrap(), "cp2:/leak"]);
    assert_eq!(
        sh(&h, "cp2", "cat /leak; test -L /leak || echo regular"),
        "payload\nregular\n"
    );
    // `..` and / through a link stay in the container.
    h.ok(&["cp", f.to_str().unwrap(), "cp2:/root-link/../../../tmp/p2"]);
    assert_eq!(sh(&h, "cp2", "cat /tmp/p2"), "payload\n");
    let names: Vec<_> = std::fs::read_dir(&secret_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["key"]);
    assert_eq!(
        std::fs::read_to_string(secret_dir.join("key")).unwrap(),
        "host secret\n"
    );

    // Reads: a link to a host path copies as the link; -L follows it inside the container.
    sh(&h, "cp2", &format!("ln -s {s}/key /peek"));
    let out = h.dir.path().join("peek");
    h.ok(&["cp", "cp2:/peek", out.to_str().unwrap()]);
    assert!(std::fs::symlink_metadata(&out)
        .unwrap()
        .file_type()
        .is_symlink());
    let followed = h.dir.path().join("followed");
    h.fails(&["cp", "-L", "cp2:/peek", followed.to_str().unwrap()]);
    assert!(!followed.exists());
}

#[test]
fn cp_tar_streams_through_stdin_and_stdout() {
    let h = Hull::new();
    run_d(&h, "cp3", &["busybox", "sleep", "1000"]);
    sh(
        &h,
        "cp3",
        "mkdir -p /srv/app/conf; echo v1 > /srv/app/conf/x; ln -s conf/x /srv/app/link",
    );
    // Out: the tar names the directory and what is below it.
    let out = h.output(&["cp", "cp3:/srv/app", "-"], None);
    assert!(out.status.success(), "{out:?}");
    let listing = std::process::Command::new("tar")
        .arg("-t")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(&out.stdout)?;
            c.wait_with_output()
        })
        .unwrap();
    let mut names: Vec<String> = String::from_utf8_lossy(&listing.stdout)
        .lines()
        .map(|l| l.trim_end_matches('/').to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["app", "app/conf", "app/conf/x", "app/link"]);
    // In: the same stream into another directory; the container sees it.
    let r = h.output(&["cp", "-", "cp3:/tmp"], Some(&out.stdout));
    assert!(r.status.success(), "{r:?}");
    assert_eq!(
        sh(&h, "cp3", "cat /tmp/app/link; readlink /tmp/app/link"),
        "v1\nconf/x\n"
    );
    // A stream cannot go to a file.
    let r = h.output(&["cp", "-", "cp3:/tmp/app/conf/x"], Some(&out.stdout));
    assert!(!r.status.success());
    assert!(String::from_utf8_lossy(&r.stderr).contains("must be a directory"));
}

#[test]
fn cp_into_a_created_container_and_its_volume() {
    let h = Hull::new();
    h.ok(&[
        "create",
        "--name",
        "cp4",
        "-v",
        "cp4vol:/data/sub",
        "busybox",
        "cat",
        "/etc/motd",
        "/data/sub/f",
    ]);
    let f = h.dir.path().join("f");
    std::fs::write(&f, "copied before the first start\n").unwrap();
    // Never started: the volume's mount point does not exist yet; cp makes it, as the runtime
    // will, and the file lands in the volume.
    h.ok(&["cp", f.to_str().unwrap(), "cp4:/data/sub/f"]);
    h.ok(&["cp", f.to_str().unwrap(), "cp4:/etc/motd"]);
    assert!(h.root().join("volumes/cp4vol/_data/f").exists());
    assert_eq!(
        h.ok(&["start", "-a", "cp4"]),
        "copied before the first start\ncopied before the first start\n"
    );
}
