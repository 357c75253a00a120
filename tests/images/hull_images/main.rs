//! The image store end to end, as root: images imported, seeded, loaded, saved and pulled,
//! their layers stacked in real overlay mounts, and bad input refused with nothing left behind.

mod archives;
mod registry;

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use hull_e2e::image::*;
use hull_image::{ImageError, ImportOptions};

#[test]
fn seeded_busybox_runs_from_its_layer() {
    let t = TestStore::new();
    let mut s = t.open();
    let id = s.seed_busybox(&hull_e2e::busybox()).unwrap();
    assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");
    // Seeding again changes nothing: same binary, same image.
    assert_eq!(s.seed_busybox(&hull_e2e::busybox()).unwrap(), id);
    let img = s.resolve("busybox").unwrap();
    assert_eq!(img.id, id);
    assert_eq!(img.names, vec!["busybox:latest"]);
    for name in [
        "busybox:latest",
        "docker.io/library/busybox",
        &id,
        &id[7..19],
        &id[7..],
    ] {
        assert_eq!(s.resolve(name).unwrap().id, id, "{name}");
    }
    assert!(matches!(
        s.resolve("busybox:1"),
        Err(ImageError::NotFound(_))
    ));
    assert_eq!(img.layers.len(), 1);
    let layer = &img.layers[0];
    assert!(layer.starts_with(t.root()));
    let bb = std::fs::metadata(layer.join("bin/busybox")).unwrap();
    assert_eq!(bb.mode() & 0o7777, 0o755);
    assert_eq!(
        bb.len(),
        std::fs::metadata(hull_e2e::busybox()).unwrap().len()
    );
    assert_eq!(
        std::fs::read_link(layer.join("bin/sh")).unwrap(),
        Path::new("/bin/busybox")
    );
    let tmp = std::fs::metadata(layer.join("tmp")).unwrap();
    assert_eq!(tmp.mode() & 0o7777, 0o1777);
    let cfg = img.config.config().as_ref().unwrap();
    assert_eq!(cfg.cmd().as_ref().unwrap(), &vec!["sh".to_string()]);
    let list = s.list().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].repo_tags, vec!["busybox:latest"]);
    assert!(list[0].size > bb.len());

    // What a process sees when the layer is a container's root.
    let m = Overlay::mount(&img.layers, t.path("merged"));
    let out = chroot(&m.dir, "id -u; cat /etc/passwd | head -1; ls /usr/bin/awk; echo ok > /tmp/x 2>/dev/null || echo ro");
    assert_eq!(out, "0\nroot:x:0:0:root:/root:/bin/sh\n/usr/bin/awk\nro\n");
}

#[test]
fn import_keeps_owners_modes_xattrs_times_and_devices() {
    let t = TestStore::new();
    let src = t.path("src");
    sh(&format!(
        "set -e; cd {src}; mkdir -p bin etc/sub dev home/u;
         cp {bb} bin/busybox; ln -s busybox bin/sh; ln bin/busybox bin/hard;
         echo conf > etc/sub/conf; chown 1000:2000 etc/sub/conf; chmod 4750 etc/sub/conf;
         mknod dev/null c 1 3; mknod dev/loopx b 7 0; mkfifo dev/fifo;
         chmod 0710 home/u; chown 1000:1000 home/u",
        src = src.display(),
        bb = hull_e2e::busybox().display()
    ));
    setfattr(&src.join("etc/sub/conf"), "user.hull", "yes");
    sh(&format!(
        "cd {}; touch -h -d '2001-02-03 04:05:06' bin/sh; touch -d '2002-03-04 05:06:07' etc/sub/conf etc/sub",
        src.display()
    ));
    let tarball = t.path("rootfs.tar.gz");
    sh(&format!(
        "tar --xattrs --xattrs-include='*' -C {} -czf {} .",
        src.display(),
        tarball.display()
    ));
    let mut s = t.open();
    let opts = ImportOptions {
        changes: vec![
            "CMD [\"/bin/sh\"]".into(),
            "ENV FOO=bar".into(),
            "WORKDIR /home/u".into(),
        ],
        message: Some("imported".into()),
    };
    let id = s
        .import_rootfs(
            &mut std::fs::File::open(&tarball).unwrap(),
            "localhost:5000/imp:1",
            &opts,
        )
        .unwrap();
    let img = s.resolve("localhost:5000/imp:1").unwrap();
    assert_eq!(img.id, id);
    assert_eq!(img.names, vec!["localhost:5000/imp:1"]);
    let c = img.config.config().as_ref().unwrap();
    assert_eq!(c.cmd().as_ref().unwrap(), &vec!["/bin/sh".to_string()]);
    assert_eq!(c.env().as_ref().unwrap(), &vec!["FOO=bar".to_string()]);
    assert_eq!(c.working_dir().as_deref(), Some("/home/u"));
    let l = &img.layers[0];
    let conf = std::fs::metadata(l.join("etc/sub/conf")).unwrap();
    assert_eq!(
        (conf.uid(), conf.gid(), conf.mode() & 0o7777),
        (1000, 2000, 0o4750)
    );
    assert_eq!(getfattr(&l.join("etc/sub/conf"), "user.hull"), "yes");
    assert_eq!(conf.mtime(), secs("2002-03-04 05:06:07"));
    assert_eq!(
        std::fs::metadata(l.join("etc/sub")).unwrap().mtime(),
        secs("2002-03-04 05:06:07")
    );
    assert_eq!(
        std::fs::symlink_metadata(l.join("bin/sh")).unwrap().mtime(),
        secs("2001-02-03 04:05:06")
    );
    let null = std::fs::metadata(l.join("dev/null")).unwrap();
    assert!(null.file_type().is_char_device());
    assert_eq!(null.rdev(), libc::makedev(1, 3));
    let blk = std::fs::metadata(l.join("dev/loopx")).unwrap();
    assert!(blk.file_type().is_block_device());
    assert_eq!(blk.rdev(), libc::makedev(7, 0));
    assert!(std::fs::metadata(l.join("dev/fifo"))
        .unwrap()
        .file_type()
        .is_fifo());
    let hard = std::fs::metadata(l.join("bin/hard")).unwrap();
    assert_eq!(
        hard.ino(),
        std::fs::metadata(l.join("bin/busybox")).unwrap().ino()
    );
    let home = std::fs::metadata(l.join("home/u")).unwrap();
    assert_eq!((home.uid(), home.mode() & 0o7777), (1000, 0o710));

    // The same tarball again: the layer is shared, not unpacked twice.
    let id2 = s
        .import_rootfs(
            &mut std::fs::File::open(&tarball).unwrap(),
            "imp2",
            &ImportOptions::default(),
        )
        .unwrap();
    assert_ne!(id, id2);
    assert_eq!(s.resolve("imp2").unwrap().layers, img.layers);
    assert_eq!(count_dir(&t.root().join("layers")), 1);
    // save rebuilds GNU tar's stream (PAX xattrs, hard links, devices) byte for byte from
    // the unpacked layer: its digest is checked on the way out.
    let mut saved = Vec::new();
    s.save(&["localhost:5000/imp:1"], &mut saved).unwrap();
    let plain_len = pipe("gzip", &["-dc"], &std::fs::read(&tarball).unwrap()).len();
    assert!(saved.len() > plain_len, "the layer is in the archive");
    // zstd and plain: still the same diff_id, so still the same layer.
    let plain = pipe("gzip", &["-dc"], &std::fs::read(&tarball).unwrap());
    let zst = pipe("zstd", &["-q", "-c"], &plain);
    for (name, data) in [("imp3", zst), ("imp4", plain)] {
        s.import_rootfs(&mut data.as_slice(), name, &ImportOptions::default())
            .unwrap();
        assert_eq!(s.resolve(name).unwrap().layers, img.layers, "{name}");
    }
    assert_eq!(count_dir(&t.root().join("layers")), 1);
}

#[test]
fn whiteouts_and_opaque_dirs_hide_lower_files_in_overlay() {
    let t = TestStore::new();
    let mut s = t.open();
    let lower = raw_tar(&[
        dir("a/"),
        file("a/keep", b"k"),
        file("a/gone", b"g"),
        dir("o/"),
        file("o/old", b"old"),
        dir("o/sub/"),
        file("top", b"t"),
    ]);
    let upper = raw_tar(&[
        dir("a/"),
        file("a/.wh.gone", b""),
        file(".wh.top", b""),
        dir("o/"),
        file("o/.wh..wh..opq", b""),
        file("o/new", b"new"),
    ]);
    let lo = s
        .import_rootfs(&mut lower.as_slice(), "lower", &ImportOptions::default())
        .unwrap();
    let up = s
        .import_rootfs(&mut upper.as_slice(), "upper", &ImportOptions::default())
        .unwrap();
    let lo = s.resolve(&lo).unwrap();
    let up = s.resolve(&up).unwrap();
    let ul = &up.layers[0];
    let wh = std::fs::symlink_metadata(ul.join("a/gone")).unwrap();
    assert!(
        wh.file_type().is_char_device() && wh.rdev() == 0,
        "whiteout is a 0:0 char device"
    );
    assert!(!ul.join("a/.wh.gone").exists());
    assert_eq!(getfattr(&ul.join("o"), "trusted.overlay.opaque"), "y");
    let stack = vec![lo.layers[0].clone(), ul.clone()];
    let m = Overlay::mount(&stack, t.path("merged"));
    assert_eq!(ls(&m.dir.join("a")), vec!["keep"]);
    assert_eq!(ls(&m.dir.join("o")), vec!["new"]);
    assert!(!m.dir.join("top").exists());
}

#[test]
fn malicious_layer_entries_are_refused_and_leave_nothing() {
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("x");
    let t = TestStore::new();
    let mut s = t.open();
    let rel = format!("../../../../../../../..{}", target.display());
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "dotdot",
            raw_tar(&[file("ok", b"1"), file(&rel, b"evil")]),
            "'..'",
        ),
        (
            "absolute",
            raw_tar(&[file(&target.display().to_string(), b"evil")]),
            "absolute",
        ),
        (
            "through symlink",
            raw_tar(&[
                symlink("a", outside.path().to_str().unwrap()),
                file("a/x", b"evil"),
            ]),
            "symlink",
        ),
        (
            "relative symlink out",
            raw_tar(&[symlink("up", "../../../../../../../../../tmp")]),
            "leaves the layer",
        ),
        (
            "hardlink out",
            raw_tar(&[hardlink("h", "../../x")]),
            "leaves the layer",
        ),
        (
            "hardlink absolute",
            raw_tar(&[hardlink("h", "/etc/passwd")]),
            "leaves the layer",
        ),
    ];
    for (what, tar, needle) in cases {
        let err = s
            .import_rootfs(&mut tar.as_slice(), "evil", &ImportOptions::default())
            .expect_err(what)
            .to_string();
        assert!(err.contains(needle), "{what}: {err}");
        assert!(err.starts_with("layer entry"), "{what}: {err}");
        assert!(!target.exists(), "{what} wrote outside the layer");
        t.assert_empty(&s, what);
    }
}

#[test]
fn corrupt_tarballs_are_refused_and_leave_nothing() {
    let t = TestStore::new();
    let mut s = t.open();
    let good = raw_tar(&[dir("d/"), file("d/f", &vec![7u8; 100_000])]);
    let mut truncated = good.clone();
    truncated.truncate(30_000);
    let gz = gzip(&good);
    let mut bad_gz = gz.clone();
    let n = bad_gz.len();
    bad_gz.truncate(n / 2);
    let garbage: Vec<u8> = (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect();
    for (what, data) in [
        ("empty", Vec::new()),
        ("garbage", garbage),
        ("truncated tar", truncated),
        ("truncated gzip", bad_gz),
    ] {
        let err = s.import_rootfs(&mut data.as_slice(), "bad", &ImportOptions::default());
        assert!(err.is_err(), "{what} accepted");
        t.assert_empty(&s, what);
    }
    assert!(s.resolve("bad").is_err());
}
