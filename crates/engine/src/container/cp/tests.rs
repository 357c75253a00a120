//! Run as root (as the whole suite does): owners are set with chown.

use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::*;

struct T {
    _dir: tempfile::TempDir,
    /// The container's root.
    root: PathBuf,
    /// Host files to copy from, and a place outside the root that must stay untouched.
    host: PathBuf,
    outside: PathBuf,
}

fn setup() -> T {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("rootfs");
    let host = dir.path().join("host");
    let outside = dir.path().join("outside");
    for d in [&root, &host, &outside] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(root.join("etc/hostname"), "box\n").unwrap();
    std::fs::write(host.join("file.txt"), "hello\n").unwrap();
    std::fs::set_permissions(
        host.join("file.txt"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    std::fs::create_dir_all(host.join("tree/sub")).unwrap();
    std::fs::write(host.join("tree/a"), "a").unwrap();
    std::fs::write(host.join("tree/sub/b"), "b").unwrap();
    symlink("a", host.join("tree/link-to-a")).unwrap();
    T {
        root,
        host,
        outside,
        _dir: dir,
    }
}

fn opts() -> CopyOptions {
    CopyOptions::default()
}

fn read(p: impl AsRef<Path>) -> String {
    std::fs::read_to_string(p.as_ref()).unwrap_or_else(|e| panic!("{}: {e}", p.as_ref().display()))
}

#[test]
fn files_land_where_docker_puts_them() {
    let t = setup();
    let fs = ContainerFs::open(&t.root).unwrap();
    let src = t.host.join("file.txt");
    // Into an existing directory: keeps its name, mode and mtime; owned by the container's root.
    copy_in(&fs, &src, "/etc", &opts()).unwrap();
    let md = std::fs::metadata(t.root.join("etc/file.txt")).unwrap();
    assert_eq!(read(t.root.join("etc/file.txt")), "hello\n");
    assert_eq!(md.mode() & 0o7777, 0o640);
    assert_eq!(md.mtime(), std::fs::metadata(&src).unwrap().mtime());
    assert_eq!((md.uid(), md.gid()), (0, 0));
    // To a new name; over an existing file.
    copy_in(&fs, &src, "/etc/renamed", &opts()).unwrap();
    assert_eq!(read(t.root.join("etc/renamed")), "hello\n");
    copy_in(&fs, &src, "/etc/hostname", &opts()).unwrap();
    assert_eq!(read(t.root.join("etc/hostname")), "hello\n");
    // A mapped root owns what is copied in; -a keeps the source's owner.
    let mapped = CopyOptions {
        root_uid: 100_000,
        root_gid: 100_000,
        ..opts()
    };
    copy_in(&fs, &src, "/etc/mapped", &mapped).unwrap();
    let md = std::fs::metadata(t.root.join("etc/mapped")).unwrap();
    assert_eq!((md.uid(), md.gid()), (100_000, 100_000));
    std::os::unix::fs::chown(&src, Some(1234), Some(5678)).unwrap();
    copy_in(
        &fs,
        &src,
        "/etc/kept",
        &CopyOptions {
            archive: true,
            ..opts()
        },
    )
    .unwrap();
    let md = std::fs::metadata(t.root.join("etc/kept")).unwrap();
    assert_eq!((md.uid(), md.gid()), (1234, 5678));

    // Errors: a missing parent, a trailing slash on a missing dir, a missing source.
    let e = copy_in(&fs, &src, "/nope/x", &opts()).unwrap_err();
    assert!(e.to_string().contains("/nope"), "{e}");
    let e = copy_in(&fs, &src, "/newdir/", &opts()).unwrap_err();
    assert!(e.to_string().contains("/newdir/"), "{e}");
    let e = copy_in(&fs, &t.host.join("missing"), "/etc", &opts()).unwrap_err();
    assert!(e.to_string().contains("missing"), "{e}");
    assert!(!t.root.join("nope").exists() && !t.root.join("newdir").exists());

    // Out: to a host dir, to a new name, over a file.
    copy_out(&fs, "/etc/renamed", &t.outside, &opts()).unwrap();
    assert_eq!(read(t.outside.join("renamed")), "hello\n");
    copy_out(&fs, "/etc/kept", &t.outside.join("new"), &opts()).unwrap();
    let md = std::fs::metadata(t.outside.join("new")).unwrap();
    assert_eq!(
        (md.uid(), md.mode() & 0o7777),
        (0, 0o640),
        "owned by the caller"
    );
    copy_out(
        &fs,
        "/etc/kept",
        &t.outside.join("new"),
        &CopyOptions {
            archive: true,
            ..opts()
        },
    )
    .unwrap();
    assert_eq!(
        std::fs::metadata(t.outside.join("new")).unwrap().uid(),
        1234
    );
    let e = copy_out(&fs, "/etc/none", &t.outside, &opts()).unwrap_err();
    assert!(e.to_string().contains("/etc/none"), "{e}");
}

#[test]
fn directories_as_docker_copies_them() {
    let t = setup();
    let fs = ContainerFs::open(&t.root).unwrap();
    let tree = t.host.join("tree");
    // Into an existing dir: as a sub-directory.
    copy_in(&fs, &tree, "/", &opts()).unwrap();
    assert_eq!(read(t.root.join("tree/sub/b")), "b");
    assert_eq!(
        std::fs::read_link(t.root.join("tree/link-to-a")).unwrap(),
        Path::new("a")
    );
    // To a missing path: created with that name.
    copy_in(&fs, &tree, "/opt", &opts()).unwrap();
    assert_eq!(read(t.root.join("opt/a")), "a");
    // `/.`: only the contents.
    copy_in(
        &fs,
        Path::new(&format!("{}/.", tree.display())),
        "/etc",
        &opts(),
    )
    .unwrap();
    assert_eq!(read(t.root.join("etc/sub/b")), "b");
    // A directory onto a file is refused.
    let e = copy_in(&fs, &tree, "/etc/hostname", &opts()).unwrap_err();
    assert!(e.to_string().contains("cannot copy directory"), "{e}");

    // Out, the same three ways.
    copy_out(&fs, "/opt", &t.outside, &opts()).unwrap();
    assert_eq!(read(t.outside.join("opt/sub/b")), "b");
    copy_out(&fs, "/opt", &t.outside.join("fresh"), &opts()).unwrap();
    assert_eq!(read(t.outside.join("fresh/a")), "a");
    let only = t.outside.join("only");
    std::fs::create_dir(&only).unwrap();
    copy_out(&fs, "/opt/.", &only, &opts()).unwrap();
    assert_eq!(read(only.join("sub/b")), "b");
    assert!(!only.join("opt").exists());
    assert_eq!(
        std::fs::read_link(only.join("link-to-a")).unwrap(),
        Path::new("a")
    );
}

#[test]
fn container_symlinks_never_reach_the_host() {
    let t = setup();
    let outside = t.outside.display().to_string();
    // Every kind of escape a container can plant: absolute and relative links, to the
    // outside dir by its host path, and `..` chains.
    symlink(&outside, t.root.join("abs")).unwrap();
    symlink("../../../../../../..", t.root.join("up")).unwrap();
    symlink(format!("{outside}/secret"), t.root.join("file-link")).unwrap();
    std::fs::write(t.outside.join("secret"), "host secret").unwrap();
    let fs = ContainerFs::open(&t.root).unwrap();
    let src = t.host.join("file.txt");

    // Writes through links resolve inside the root.
    copy_in(&fs, &src, "/abs/x", &opts()).unwrap_err(); // /<outside> does not exist in the root
    std::fs::create_dir_all(t.root.join(outside.trim_start_matches('/'))).unwrap();
    copy_in(&fs, &src, "/abs/x", &opts()).unwrap();
    assert!(t
        .root
        .join(outside.trim_start_matches('/'))
        .join("x")
        .exists());
    copy_in(&fs, &src, "/up/etc/y", &opts()).unwrap();
    assert_eq!(read(t.root.join("etc/y")), "hello\n");
    copy_in(&fs, &src, "/../../../z", &opts()).unwrap();
    assert!(t.root.join("z").exists());
    // A link as the last name is replaced, never followed out.
    copy_in(&fs, &src, "/file-link", &opts()).unwrap();
    assert_eq!(read(t.outside.join("secret")), "host secret");
    assert!(!std::fs::symlink_metadata(t.root.join("file-link"))
        .unwrap()
        .is_symlink());
    // A directory copied to a link to a directory goes where the link points inside the root.
    symlink(&outside, t.root.join("dir-link")).unwrap();
    copy_in(&fs, &t.host.join("tree"), "/dir-link", &opts()).unwrap();
    let inside = t.root.join(outside.trim_start_matches('/'));
    assert_eq!(read(inside.join("tree/sub/b")), "b");
    assert_eq!(
        std::fs::read_dir(&t.outside).unwrap().count(),
        1,
        "only the secret"
    );

    // Reads: a link is copied as a link; -L follows it inside the root only.
    let out = t.host.join("out");
    std::fs::create_dir(&out).unwrap();
    symlink(format!("{outside}/secret"), t.root.join("peek")).unwrap();
    copy_out(&fs, "/peek", &out.join("peek"), &opts()).unwrap();
    assert!(std::fs::symlink_metadata(out.join("peek"))
        .unwrap()
        .is_symlink());
    let e = copy_out(
        &fs,
        "/peek",
        &out.join("followed"),
        &CopyOptions {
            follow_link: true,
            ..opts()
        },
    );
    assert!(
        e.is_err(),
        "the link's target does not exist inside the root"
    );
    assert!(!out.join("followed").exists());
    copy_out(&fs, "/up/etc/hostname", &out.join("h"), &opts()).unwrap();
    assert_eq!(read(out.join("h")), "box\n");
    // A tree holding links to host files copies the links, not the files.
    copy_out(&fs, "/", &out.join("all"), &opts()).unwrap();
    assert!(std::fs::symlink_metadata(out.join("all/peek"))
        .unwrap()
        .is_symlink());
    assert!(std::fs::symlink_metadata(out.join("all/abs"))
        .unwrap()
        .is_symlink());
}

/// A tar entry whose name is written raw (the tar crate refuses `..` in set_path).
fn raw_entry(
    b: &mut ::tar::Builder<Vec<u8>>,
    name: &str,
    kind: ::tar::EntryType,
    link: &str,
    data: &[u8],
) {
    let mut h = ::tar::Header::new_old();
    h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    if !link.is_empty() {
        h.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
    }
    h.set_entry_type(kind);
    h.set_mode(0o644);
    h.set_size(data.len() as u64);
    h.set_cksum();
    b.append(&h, data).unwrap();
}

#[test]
fn tar_streams_round_trip_and_refuse_escapes() {
    let t = setup();
    let fs = ContainerFs::open(&t.root).unwrap();
    copy_in(&fs, &t.host.join("tree"), "/opt", &opts()).unwrap();
    std::fs::write(
        t.root.join("etc/long-name-".to_string() + &"x".repeat(120)),
        "long",
    )
    .unwrap();
    // Out: a directory as its name and everything below.
    let mut stream = Vec::new();
    archive_out(&fs, "/opt", &mut stream, &opts()).unwrap();
    let mut names: Vec<String> = ::tar::Archive::new(stream.as_slice())
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["opt", "opt/a", "opt/link-to-a", "opt/sub", "opt/sub/b"]
    );
    let mut etc = Vec::new();
    archive_out(&fs, "/etc/.", &mut etc, &opts()).unwrap();

    // In: into another container's directory.
    let other = t.host.join("other-root");
    std::fs::create_dir_all(other.join("srv")).unwrap();
    let fs2 = ContainerFs::open(&other).unwrap();
    extract_in(&fs2, "/srv", &mut stream.as_slice(), &opts()).unwrap();
    assert_eq!(read(other.join("srv/opt/sub/b")), "b");
    assert_eq!(
        std::fs::read_link(other.join("srv/opt/link-to-a")).unwrap(),
        Path::new("a")
    );
    extract_in(&fs2, "/srv", &mut etc.as_slice(), &opts()).unwrap();
    assert_eq!(
        read(other.join(format!("srv/long-name-{}", "x".repeat(120)))),
        "long"
    );
    let e = extract_in(&fs2, "/srv/opt/a", &mut stream.as_slice(), &opts()).unwrap_err();
    assert!(e.to_string().contains("must be a directory"), "{e}");

    // Hostile streams: `..`, a link planted then written through, a hard link out.
    let outside = t.outside.display().to_string();
    let mut b = ::tar::Builder::new(Vec::new());
    raw_entry(&mut b, "../escape", ::tar::EntryType::Regular, "", b"x");
    let bad = b.into_inner().unwrap();
    let e = extract_in(&fs2, "/srv", &mut bad.as_slice(), &opts()).unwrap_err();
    assert!(e.to_string().contains("\"..\""), "{e}");
    let mut b = ::tar::Builder::new(Vec::new());
    raw_entry(&mut b, "trap", ::tar::EntryType::Symlink, &outside, b"");
    raw_entry(&mut b, "trap/owned", ::tar::EntryType::Regular, "", b"x");
    let bad = b.into_inner().unwrap();
    assert!(extract_in(&fs2, "/srv", &mut bad.as_slice(), &opts()).is_err());
    let mut b = ::tar::Builder::new(Vec::new());
    raw_entry(
        &mut b,
        "hl",
        ::tar::EntryType::Link,
        "../../outside/secret",
        b"",
    );
    let bad = b.into_inner().unwrap();
    assert!(extract_in(&fs2, "/srv", &mut bad.as_slice(), &opts()).is_err());
    // Absolute names land below the destination.
    let mut b = ::tar::Builder::new(Vec::new());
    raw_entry(&mut b, "/abs-name", ::tar::EntryType::Regular, "", b"in");
    let ok = b.into_inner().unwrap();
    extract_in(&fs2, "/srv", &mut ok.as_slice(), &opts()).unwrap();
    assert_eq!(read(other.join("srv/abs-name")), "in");
    assert_eq!(
        std::fs::read_dir(&t.outside).unwrap().count(),
        0,
        "nothing reached the host"
    );
}
