//! load, save, rmi and concurrent loads.

use std::process::Command;

use hull_image::{ImageError, Store};

use hull_e2e::image::*;

fn skopeo(args: &[&str]) -> String {
    let out = Command::new("skopeo")
        .args(args)
        .output()
        .expect("skopeo (apt-get install skopeo)");
    assert!(
        out.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What a process sees in the image's stacked layers.
fn look(s: &Store, name: &str, dir: std::path::PathBuf) -> String {
    let img = s.resolve(name).unwrap();
    let m = Overlay::mount(&img.layers, dir);
    chroot(&m.dir, "cat /etc/hello; ls /etc; ls /data; ls -a /tmp")
}

const SEEN: &str = "hello from the top layer\nhello\npasswd\nb\n.\n..\n";

#[test]
fn load_docker_archive_then_oci_archive_made_by_skopeo() {
    let t = TestStore::new();
    let (archive, id) = docker_archive(&[busybox_layer(), top_layer()], &["hand:1"], &["sh"]);
    let hand = t.path("hand.tar");
    std::fs::write(&hand, &archive).unwrap();
    let mut s = t.open();
    assert_eq!(s.load(&hand).unwrap(), vec!["hand:1"]);
    let img = s.resolve("hand:1").unwrap();
    assert_eq!(img.id, id);
    assert_eq!(img.layers.len(), 2);
    assert_eq!(look(&s, "hand:1", t.path("m1")), SEEN);

    // skopeo turns it into a gzip-compressed oci-archive; a fresh store loads that.
    let oci = t.path("oci.tar");
    skopeo(&[
        "copy",
        "--quiet",
        "--dest-compress",
        &format!("docker-archive:{}", hand.display()),
        &format!("oci-archive:{}:localhost/ocitest:2", oci.display()),
    ]);
    let t2 = TestStore::new();
    let mut s2 = t2.open();
    assert_eq!(s2.load(&oci).unwrap(), vec!["localhost/ocitest:2"]);
    let img2 = s2.resolve("localhost/ocitest:2").unwrap();
    // skopeo rewrites the config for OCI (so another id), but the layers are the same.
    assert_eq!(img2.diff_ids, img.diff_ids);
    assert_eq!(look(&s2, "localhost/ocitest:2", t2.path("m2")), SEEN);
    // Blobs kept: the config and the manifest. Layers live unpacked, with their tar-splits.
    let blob_names = ls(&t2.root().join("blobs/sha256"));
    assert_eq!(blob_names.len(), 2, "{blob_names:?}");
    assert_eq!(count_dir(&t2.root().join("splits")), 2);

    // Into the first store: the layers are already there, so nothing is unpacked again.
    assert_eq!(s.load(&oci).unwrap(), vec!["localhost/ocitest:2"]);
    assert_eq!(s.resolve("localhost/ocitest:2").unwrap().id, img2.id);
    assert_eq!(count_dir(&t.root().join("layers")), 2);
    let mut tags: Vec<Vec<String>> = s.list().unwrap().into_iter().map(|i| i.repo_tags).collect();
    tags.sort();
    assert_eq!(tags, vec![vec!["hand:1"], vec!["localhost/ocitest:2"]]);

    // docker save | gzip works too.
    let gz = t.path("hand.tar.gz");
    std::fs::write(&gz, gzip(&archive)).unwrap();
    let t3 = TestStore::new();
    assert_eq!(t3.open().load(&gz).unwrap(), vec!["hand:1"]);
}

#[test]
fn save_then_load_round_trips_and_skopeo_reads_it() {
    let t = TestStore::new();
    let (archive, id) = docker_archive(&[busybox_layer(), top_layer()], &["rt:1"], &["sh"]);
    let src = t.path("src.tar");
    std::fs::write(&src, &archive).unwrap();
    let mut s = t.open();
    s.load(&src).unwrap();
    s.tag("rt:1", "localhost:5000/rt:copy").unwrap();
    let saved = t.path("saved.tar");
    let mut f = std::fs::File::create(&saved).unwrap();
    s.save(&["localhost:5000/rt:copy"], &mut f).unwrap();
    drop(f);

    let inspect: serde_json::Value = serde_json::from_str(&skopeo(&[
        "inspect",
        &format!("docker-archive:{}", saved.display()),
    ]))
    .unwrap();
    let img = s.resolve("rt:1").unwrap();
    assert_eq!(
        inspect["Layers"],
        serde_json::json!(img.diff_ids),
        "{inspect}"
    );
    assert!(inspect["Digest"].as_str().is_some());
    let oci: serde_json::Value = serde_json::from_str(&skopeo(&[
        "inspect",
        "--config",
        &format!("oci-archive:{}", saved.display()),
    ]))
    .unwrap();
    assert_eq!(oci["rootfs"]["diff_ids"], serde_json::json!(img.diff_ids));

    // podman loads it too, as the same image.
    let pod = t.path("podman");
    let podman = |args: &[&str]| {
        let out = Command::new("podman")
            .arg("--root")
            .arg(pod.join("root"))
            .arg("--runroot")
            .arg(pod.join("run"))
            .args(["--storage-driver", "vfs"])
            .args(args)
            .output()
            .expect("podman");
        assert!(
            out.status.success(),
            "podman {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    podman(&["load", "-q", "-i", saved.to_str().unwrap()]);
    let listed = podman(&[
        "images",
        "--no-trunc",
        "--format",
        "{{.ID}} {{.Repository}}:{{.Tag}}",
    ]);
    assert_eq!(listed.trim(), format!("{id} localhost:5000/rt:copy"));

    let t2 = TestStore::new();
    let mut s2 = t2.open();
    assert_eq!(s2.load(&saved).unwrap(), vec!["localhost:5000/rt:copy"]);
    assert_eq!(s2.resolve("localhost:5000/rt:copy").unwrap().id, id);
    assert!(
        s2.resolve("rt:1").is_err(),
        "only the name asked for is saved"
    );
    assert_eq!(look(&s2, "localhost:5000/rt:copy", t2.path("m")), SEEN);

    // By id: every name of the image goes along.
    let mut out = Vec::new();
    s.save(&[&id[7..19]], &mut out).unwrap();
    let both = t.path("both.tar");
    std::fs::write(&both, out).unwrap();
    let t3 = TestStore::new();
    let mut names = t3.open().load(&both).unwrap();
    names.sort();
    assert_eq!(names, vec!["localhost:5000/rt:copy", "rt:1"]);
}

#[test]
fn rmi_untags_then_removes_unshared_layers_and_blobs() {
    let t = TestStore::new();
    let mut s = t.open();
    let (a, _) = docker_archive(&[busybox_layer()], &["base:1"], &["sh"]);
    let (b, _) = docker_archive(&[busybox_layer(), top_layer()], &["app:1"], &["sh"]);
    let (pa, pb) = (t.path("a.tar"), t.path("b.tar"));
    std::fs::write(&pa, a).unwrap();
    std::fs::write(&pb, b).unwrap();
    s.load(&pa).unwrap();
    s.load(&pb).unwrap();
    s.tag("app:1", "app:2").unwrap();
    assert_eq!(count_dir(&t.root().join("layers")), 2);
    let app = s.resolve("app:1").unwrap();

    // By id with two names: refused without force.
    let err = s.remove(&app.id, false).unwrap_err();
    assert!(matches!(err, ImageError::Conflict { .. }), "{err}");
    assert_eq!(s.remove("app:2", false).unwrap(), vec!["Untagged: app:2"]);
    assert!(app.layers.iter().all(|l| l.exists()));
    let out = s.remove("app:1", false).unwrap();
    assert_eq!(
        out,
        vec![
            "Untagged: app:1".to_string(),
            format!("Deleted: {}", app.id)
        ]
    );
    // The top layer went; the base layer stays for base:1.
    assert!(app.layers[0].exists() && !app.layers[1].exists());
    assert!(s.resolve("base:1").is_ok());
    assert!(s.resolve(&app.id).is_err());
    s.remove("base", false).unwrap_err();
    s.remove("base:1", false).unwrap();
    t.assert_empty(&s, "after rmi");
    assert!(matches!(
        s.remove("base:1", false),
        Err(ImageError::NotFound(_))
    ));
}

#[test]
fn concurrent_loads_of_one_archive_both_succeed() {
    let t = TestStore::new();
    let big: Vec<u8> = (0..8u32 << 20)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let (archive, id) = docker_archive(
        &[busybox_layer(), raw_tar(&[file("big", &big)]), top_layer()],
        &["conc:1"],
        &["sh"],
    );
    let p = t.path("conc.tar");
    std::fs::write(&p, archive).unwrap();
    let root = t.root();
    let threads: Vec<_> = (0..3)
        .map(|_| {
            let (root, p) = (root.clone(), p.clone());
            std::thread::spawn(move || Store::open(&root).unwrap().load(&p))
        })
        .collect();
    for th in threads {
        assert_eq!(th.join().unwrap().unwrap(), vec!["conc:1"]);
    }
    let s = t.open();
    assert_eq!(s.list().unwrap().len(), 1);
    assert_eq!(s.resolve("conc:1").unwrap().id, id);
    assert_eq!(count_dir(&t.root().join("layers")), 3);
    assert_eq!(count_dir(&t.root().join("tmp")), 0);
    let big_file = s.resolve("conc:1").unwrap().layers[1].join("big");
    assert_eq!(std::fs::read(big_file).unwrap(), big);
}

#[test]
fn bad_archives_are_refused_and_leave_nothing() {
    let t = TestStore::new();
    let mut s = t.open();
    // A layer whose bytes do not match the config's diff_id.
    let (mut archive, _) = docker_archive(&[busybox_layer(), top_layer()], &["lie:1"], &["sh"]);
    let pos = archive
        .windows(24)
        .position(|w| w == b"hello from the top layer")
        .unwrap();
    archive[pos] = b'j';
    let lie = t.path("lie.tar");
    std::fs::write(&lie, &archive).unwrap();
    let err = s.load(&lie).unwrap_err().to_string();
    assert!(
        err.contains("digest mismatch") && err.contains("l1/layer.tar"),
        "{err}"
    );
    // The first, honest layer may stay cached (it is complete and verified); no image does.
    assert!(s.list().unwrap().is_empty());
    assert_eq!(count_dir(&t.root().join("tmp")), 0);
    assert!(count_dir(&t.root().join("layers")) <= 1);

    let t2 = TestStore::new();
    let mut s2 = t2.open();
    for (what, data) in [
        ("no manifest", raw_tar(&[file("x", b"y")])),
        ("not a tar", b"this is not an archive at all, not even close...".repeat(20)),
        ("bad json", raw_tar(&[file("manifest.json", b"[{")])),
        ("missing layer", raw_tar(&[file("manifest.json", br#"[{"Config":"c.json","RepoTags":[],"Layers":["l.tar"]}]"#), file("c.json", br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:0000000000000000000000000000000000000000000000000000000000000000"]}}"#)])),
    ] {
        let p = t2.path(&format!("{}.tar", what.replace(' ', "-")));
        std::fs::write(&p, data).unwrap();
        let err = s2.load(&p).expect_err(what).to_string();
        assert!(err.contains(&p.display().to_string()), "{what}: {err}");
        t2.assert_empty(&s2, what);
    }
}

/// Not a test by itself: the `hull load` process that `killed_load_leaves_no_half_layer`
/// kills. Does nothing unless that test set its variables.
#[test]
#[ignore]
fn load_in_child_process() {
    let (Ok(root), Ok(archive)) = (
        std::env::var("HULL_IMAGES_CHILD_ROOT"),
        std::env::var("HULL_IMAGES_CHILD_ARCHIVE"),
    ) else {
        return;
    };
    Store::open(std::path::Path::new(&root))
        .unwrap()
        .load(std::path::Path::new(&archive))
        .unwrap();
}

#[test]
fn killed_load_leaves_no_half_layer_and_loads_again() {
    let t = TestStore::new();
    const FILES: usize = 32;
    let chunk: Vec<u8> = (0..1u32 << 20)
        .map(|i| (i.wrapping_mul(40503) >> 7) as u8)
        .collect();
    let mut big = vec![dir("big/")];
    for i in 0..FILES {
        big.push(file(&format!("big/f{i}"), &chunk));
    }
    let layers = [busybox_layer(), raw_tar(&big), top_layer()];
    let (archive, id) = docker_archive(&layers, &["killed:1"], &["sh"]);
    let p = t.path("killed.tar");
    std::fs::write(&p, archive).unwrap();
    let diff_ids: Vec<String> = layers
        .iter()
        .map(|l| hull_image::digest::sha256_of(l))
        .collect();
    let root = t.root();
    std::fs::create_dir_all(root.join("tmp")).unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "archives::load_in_child_process", "--ignored"])
        .env("HULL_IMAGES_CHILD_ROOT", &root)
        .env("HULL_IMAGES_CHILD_ARCHIVE", &p)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it while it is unpacking: a temp layer dir with files in it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let mut killed_mid_unpack = false;
    while std::time::Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        let busy = ls(&root.join("tmp"))
            .iter()
            .any(|n| count_dir(&root.join("tmp").join(n)) > 0);
        if busy {
            child.kill().unwrap();
            killed_mid_unpack = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    child.wait().unwrap();
    eprintln!("killed mid-unpack: {killed_mid_unpack}");

    let mut s = t.open();
    assert_eq!(count_dir(&root.join("tmp")), 0, "stale temps are cleaned");
    // Every layer dir there is complete; the image is there whole or not at all.
    for name in ls(&root.join("layers")) {
        let diff = format!("sha256:{name}");
        let i = diff_ids
            .iter()
            .position(|d| *d == diff)
            .expect("a layer of the image");
        let dir = root.join("layers").join(&name);
        match i {
            0 => assert!(dir.join("bin/busybox").exists()),
            1 => {
                assert_eq!(count_dir(&dir.join("big")), FILES);
                for f in ls(&dir.join("big")) {
                    assert_eq!(
                        std::fs::metadata(dir.join("big").join(f)).unwrap().len(),
                        1 << 20
                    );
                }
            }
            _ => assert!(dir.join("etc/hello").exists()),
        }
    }
    match s.resolve("killed:1") {
        Ok(img) => assert!(img.layers.iter().all(|l| l.is_dir())),
        Err(ImageError::NotFound(_)) => assert!(killed_mid_unpack),
        Err(e) => panic!("{e}"),
    }
    assert_eq!(s.load(&p).unwrap(), vec!["killed:1"]);
    let img = s.resolve("killed:1").unwrap();
    assert_eq!(img.id, id);
    assert_eq!(count_dir(&img.layers[1].join("big")), FILES);
    assert_eq!(look(&s, "killed:1", t.path("m")), SEEN);
}
