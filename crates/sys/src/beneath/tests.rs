//! The escapes each rule must stop, on a real directory tree with a second directory beside
//! it standing in for the host.

use std::os::fd::AsFd;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{create_file, mkdir_all, open, Op, Resolve};

/// `root` (the tree written into) and `host` (what must stay untouched), removed on drop.
struct Tree {
    top: PathBuf,
    root: PathBuf,
    host: PathBuf,
    fd: std::fs::File,
}

impl Tree {
    fn new() -> Tree {
        static N: AtomicUsize = AtomicUsize::new(0);
        let top = std::env::temp_dir().join(format!(
            "hull-sys-beneath-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let (root, host) = (top.join("root"), top.join("host"));
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&host).unwrap();
        let fd = std::fs::File::open(&root).unwrap();
        Tree {
            top,
            root,
            host,
            fd,
        }
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.top);
    }
}

fn errno(f: &super::Failed) -> i32 {
    f.errno().unwrap()
}

#[test]
fn symlink_to_slash() {
    let t = Tree::new();
    symlink("/", t.root.join("a")).unwrap();
    // Through `a` the "host" directory is reachable by its absolute path: were the link
    // followed out, x would be made there (inside the test's own directory, never in /).
    let through = Path::new("a")
        .join(t.host.strip_prefix("/").unwrap())
        .join("x");
    let e = mkdir_all(
        t.fd.as_fd(),
        &through,
        Resolve::NoSymlinks,
        0o755,
        libc::O_PATH,
    )
    .unwrap_err();
    assert_eq!(
        (e.op, e.path.as_path(), errno(&e)),
        (Op::Open, Path::new("a"), libc::ELOOP)
    );
    // Under InRoot `/` is the tree itself: the directories land inside it.
    mkdir_all(t.fd.as_fd(), &through, Resolve::InRoot, 0o755, libc::O_PATH).unwrap();
    let inside = t.root.join(t.host.strip_prefix("/").unwrap()).join("x");
    assert!(inside.is_dir());
    assert!(!t.host.join("x").exists());
}

#[test]
fn dotdot() {
    let t = Tree::new();
    let e = mkdir_all(
        t.fd.as_fd(),
        Path::new("sub/../../host/x"),
        Resolve::NoSymlinks,
        0o755,
        libc::O_PATH,
    )
    .unwrap_err();
    assert_eq!((e.op, errno(&e)), (Op::Open, libc::EXDEV));
    assert_eq!(e.path, Path::new("sub/../.."));
    assert!(!t.host.join("x").exists());
    let e = create_file(
        t.fd.as_fd(),
        Path::new("../host/f"),
        Resolve::NoSymlinks,
        libc::O_WRONLY,
        0o644,
    )
    .unwrap_err();
    assert_eq!(errno(&e), libc::EXDEV);
    assert!(!t.host.join("f").exists());
    // Under InRoot `..` stops at the root (were it not to, f would land in the host dir).
    create_file(
        t.fd.as_fd(),
        Path::new("sub/../../host/f"),
        Resolve::InRoot,
        libc::O_WRONLY,
        0o644,
    )
    .unwrap();
    assert!(t.root.join("host/f").is_file());
    assert!(!t.host.join("f").exists());
}

#[test]
fn absolute_symlink() {
    let t = Tree::new();
    symlink(&t.host, t.root.join("l")).unwrap();
    let e = create_file(
        t.fd.as_fd(),
        Path::new("l/f"),
        Resolve::NoSymlinks,
        libc::O_WRONLY,
        0o644,
    )
    .unwrap_err();
    assert_eq!(
        (e.op, e.path.as_path(), errno(&e)),
        (Op::Open, Path::new("l"), libc::ELOOP)
    );
    // Under InRoot the link's target is read inside the tree.
    let inside = t.root.join(t.host.strip_prefix("/").unwrap());
    std::fs::create_dir_all(&inside).unwrap();
    create_file(
        t.fd.as_fd(),
        Path::new("l/f"),
        Resolve::InRoot,
        libc::O_WRONLY,
        0o644,
    )
    .unwrap();
    assert!(inside.join("f").is_file());
    assert!(!t.host.join("f").exists());
    // A symlink as the file's own name is never followed, under either rule.
    symlink(t.host.join("g"), t.root.join("g")).unwrap();
    for r in [Resolve::NoSymlinks, Resolve::InRoot] {
        let e = create_file(t.fd.as_fd(), Path::new("g"), r, libc::O_WRONLY, 0o644).unwrap_err();
        assert_eq!((e.op, errno(&e)), (Op::Create, libc::ELOOP));
    }
    assert!(!t.host.join("g").exists());
}

#[test]
fn symlink_swapped_for_a_directory() {
    let t = Tree::new();
    let d = mkdir_all(
        t.fd.as_fd(),
        Path::new("d/e"),
        Resolve::NoSymlinks,
        0o755,
        libc::O_RDONLY,
    )
    .unwrap();
    assert!(t.root.join("d/e").is_dir());
    drop(d);
    // The directory is replaced by a link to the host between two calls.
    std::fs::remove_dir_all(t.root.join("d")).unwrap();
    symlink(&t.host, t.root.join("d")).unwrap();
    for r in [Resolve::NoSymlinks, Resolve::InRoot] {
        let e = mkdir_all(t.fd.as_fd(), Path::new("d/e"), r, 0o755, libc::O_PATH).unwrap_err();
        assert_eq!((e.op, e.path.as_path()), (Op::Open, Path::new("d")));
        let e = create_file(t.fd.as_fd(), Path::new("d/f"), r, libc::O_WRONLY, 0o644).unwrap_err();
        assert_eq!(e.path, Path::new("d"));
    }
    assert!(std::fs::read_dir(&t.host).unwrap().next().is_none());
}

#[test]
fn opens_and_creates_inside() {
    let t = Tree::new();
    let f = create_file(
        t.fd.as_fd(),
        Path::new("/a/b/c"),
        Resolve::NoSymlinks,
        libc::O_WRONLY | libc::O_EXCL,
        0o600,
    )
    .unwrap();
    drop(f);
    assert!(t.root.join("a/b/c").is_file());
    let e = create_file(
        t.fd.as_fd(),
        Path::new("a/b/c"),
        Resolve::NoSymlinks,
        libc::O_WRONLY | libc::O_EXCL,
        0o600,
    )
    .unwrap_err();
    assert_eq!((e.op, errno(&e)), (Op::Create, libc::EEXIST));
    open(
        t.fd.as_fd(),
        Path::new("/"),
        Resolve::InRoot,
        libc::O_PATH,
        0,
    )
    .unwrap();
    let e = mkdir_all(
        t.fd.as_fd(),
        Path::new("a/b/c/d"),
        Resolve::NoSymlinks,
        0o755,
        libc::O_PATH,
    )
    .unwrap_err();
    assert_eq!(
        (e.op, e.path.as_path(), errno(&e)),
        (Op::Open, Path::new("a/b/c"), libc::ENOTDIR)
    );
}
