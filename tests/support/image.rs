//! Images and rootfs trees for the tests: a private image store root per test, hand-made tar
//! archives (including ones no honest tool would write), overlay mounts that unmount when
//! dropped, and the busybox rootfs and docker-archive that the clients, docker and hull load.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use hull_image::Store;

use crate::busybox;

/// A store root of its own, removed (after unmounting anything under it) when dropped.
pub struct TestStore {
    dir: tempfile::TempDir,
}

impl Default for TestStore {
    fn default() -> Self {
        TestStore::new()
    }
}

impl TestStore {
    pub fn new() -> TestStore {
        crate::require_root();
        let dir = tempfile::Builder::new()
            .prefix("hull-images-")
            .tempdir_in("/var/tmp")
            .unwrap();
        TestStore { dir }
    }

    /// The store's `--root`.
    pub fn root(&self) -> PathBuf {
        self.store_root()
    }

    /// A directory inside the test's temp dir (outside the store root), created.
    pub fn path(&self, name: &str) -> PathBuf {
        let p = self.dir.path().join("test").join(name);
        if !name.contains('.') {
            std::fs::create_dir_all(&p).unwrap();
        } else {
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        }
        p
    }

    pub fn store_root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    pub fn open(&self) -> Store {
        Store::open(&self.store_root()).unwrap()
    }

    /// Nothing stored: no image, no layer dir, no blob, no leftover temp or lock file.
    pub fn assert_empty(&self, s: &Store, what: &str) {
        assert!(s.list().unwrap().is_empty(), "{what}: an image was stored");
        for d in ["layers", "splits", "blobs/sha256", "tmp", "locks"] {
            let left = ls(&self.store_root().join(d));
            assert!(left.is_empty(), "{what}: left in {d}: {left:?}");
        }
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        // Lazy-unmount whatever a failed test left mounted below us.
        let _ = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "grep -o ' {}[^ ]*' /proc/self/mounts | sort -r | xargs -r -n1 umount -l",
                self.dir.path().display()
            ))
            .status();
    }
}

pub fn ls(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

pub fn count_dir(dir: &Path) -> usize {
    ls(dir).len()
}

pub fn sh(script: &str) -> String {
    let out = Command::new("sh").arg("-c").arg(script).output().unwrap();
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `sh -c script` chrooted into `root`, returning its stdout.
pub fn chroot(root: &Path, script: &str) -> String {
    let out = Command::new("chroot")
        .arg(root)
        .args(["/bin/sh", "-c", script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chroot {script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn getfattr(path: &Path, name: &str) -> String {
    let mut buf = vec![0u8; 256];
    let n = rustix::fs::lgetxattr(path, name, &mut buf)
        .unwrap_or_else(|e| panic!("getxattr {name} {}: {e}", path.display()));
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

pub fn setfattr(path: &Path, name: &str, value: &str) {
    rustix::fs::lsetxattr(
        path,
        name,
        value.as_bytes(),
        rustix::fs::XattrFlags::empty(),
    )
    .unwrap();
}

/// Seconds since the epoch of a local `date -d` string.
pub fn secs(date: &str) -> i64 {
    sh(&format!("date -d '{date}' +%s")).trim().parse().unwrap()
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    pipe("gzip", &["-c"], data)
}

pub fn pipe(cmd: &str, args: &[&str], data: &[u8]) -> Vec<u8> {
    let mut child = Command::new(cmd)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let data = data.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "{cmd}");
    out.stdout
}

/// An overlay mount of layer dirs (bottom first), read-only, unmounted when dropped.
pub struct Overlay {
    pub dir: PathBuf,
}

impl Overlay {
    pub fn mount(layers: &[PathBuf], dir: PathBuf) -> Overlay {
        let lower: Vec<String> = layers
            .iter()
            .rev()
            .map(|p| p.display().to_string())
            .collect();
        let mut lower = lower.join(":");
        if layers.len() == 1 {
            // overlayfs wants two lowers without an upper: stack an empty one.
            let empty = dir.with_extension("empty");
            std::fs::create_dir_all(&empty).unwrap();
            lower = format!("{lower}:{}", empty.display());
        }
        let out = Command::new("mount")
            .args(["-t", "overlay", "overlay", "-o"])
            .arg(format!("lowerdir={lower}"))
            .arg(&dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "mount overlay: {out:?}");
        Overlay { dir }
    }
}

impl Drop for Overlay {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
    }
}

/// One entry of a hand-made tar: the name, link name and data go in as given, `..` and all.
pub struct Entry {
    pub name: String,
    pub kind: u8,
    pub link: String,
    pub data: Vec<u8>,
    pub mode: u32,
}

pub fn file(name: &str, data: &[u8]) -> Entry {
    Entry {
        name: name.into(),
        kind: b'0',
        link: String::new(),
        data: data.to_vec(),
        mode: 0o644,
    }
}

pub fn dir(name: &str) -> Entry {
    Entry {
        name: name.into(),
        kind: b'5',
        link: String::new(),
        data: vec![],
        mode: 0o755,
    }
}

pub fn symlink(name: &str, target: &str) -> Entry {
    Entry {
        name: name.into(),
        kind: b'2',
        link: target.into(),
        data: vec![],
        mode: 0o777,
    }
}

pub fn hardlink(name: &str, target: &str) -> Entry {
    Entry {
        name: name.into(),
        kind: b'1',
        link: target.into(),
        data: vec![],
        mode: 0o644,
    }
}

fn octal(field: &mut [u8], v: u64) {
    let s = format!("{:0w$o}\0", v, w = field.len() - 1);
    field.copy_from_slice(s.as_bytes());
}

/// A ustar archive written byte by byte (names up to 100 bytes).
pub fn raw_tar(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        let mut h = [0u8; 512];
        assert!(
            e.name.len() <= 100 && e.link.len() <= 100,
            "name too long for ustar"
        );
        h[..e.name.len()].copy_from_slice(e.name.as_bytes());
        octal(&mut h[100..108], u64::from(e.mode));
        octal(&mut h[108..116], 0);
        octal(&mut h[116..124], 0);
        octal(&mut h[124..136], e.data.len() as u64);
        octal(&mut h[136..148], 1_600_000_000);
        h[156] = e.kind;
        h[157..157 + e.link.len()].copy_from_slice(e.link.as_bytes());
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        let s = format!("{sum:06o}\0 ");
        h[148..156].copy_from_slice(s.as_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(&e.data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

/// A docker-archive made by hand, as `docker save` lays it out: `<n>/layer.tar`, the config
/// as `<hex>.json`, manifest.json. Returns the archive and the config's digest (the image id).
pub fn docker_archive(layers: &[Vec<u8>], tags: &[&str], cmd: &[&str]) -> (Vec<u8>, String) {
    use hull_image::digest::sha256_of;
    let diff_ids: Vec<String> = layers.iter().map(|l| sha256_of(l)).collect();
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "created": "2024-01-02T03:04:05Z",
        "config": { "Cmd": cmd, "Env": ["PATH=/bin"] },
        "rootfs": { "type": "layers", "diff_ids": diff_ids },
        "history": layers.iter().map(|_| serde_json::json!({"created_by": "test"})).collect::<Vec<_>>(),
    });
    let config = serde_json::to_vec(&config).unwrap();
    let id = sha256_of(&config);
    let config_name = format!("{}.json", &id[7..]);
    let layer_names: Vec<String> = (0..layers.len())
        .map(|i| format!("l{i}/layer.tar"))
        .collect();
    let manifest = serde_json::json!([{
        "Config": config_name,
        "RepoTags": tags,
        "Layers": layer_names,
    }]);
    // manifest.json first, then the layers: the loader must not depend on the order.
    let mut entries = vec![file(
        "manifest.json",
        &serde_json::to_vec(&manifest).unwrap(),
    )];
    for (i, l) in layers.iter().enumerate() {
        entries.push(dir(&format!("l{i}/")));
        entries.push(file(&layer_names[i], l));
    }
    entries.push(file(&config_name, &config));
    (raw_tar(&entries), id)
}

/// A small rootfs layer: busybox as /bin/busybox and /bin/sh, /etc/passwd, a few files.
pub fn busybox_layer() -> Vec<u8> {
    let bb = std::fs::read(busybox()).unwrap();
    let mut f = file("bin/busybox", &bb);
    f.mode = 0o755;
    raw_tar(&[
        dir("bin/"),
        f,
        symlink("bin/sh", "busybox"),
        symlink("bin/cat", "busybox"),
        symlink("bin/ls", "busybox"),
        dir("etc/"),
        file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"),
        file("etc/old", b"old\n"),
        dir("data/"),
        file("data/a", b"a\n"),
        dir("tmp/"),
    ])
}

/// A layer over busybox_layer: adds /etc/hello, deletes /etc/old, makes /data opaque.
pub fn top_layer() -> Vec<u8> {
    raw_tar(&[
        dir("etc/"),
        file("etc/hello", b"hello from the top layer\n"),
        file("etc/.wh.old", b""),
        dir("data/"),
        file("data/.wh..wh..opq", b""),
        file("data/b", b"b\n"),
    ])
}

/// A busybox rootfs directory under `dir`, every applet linked in /bin.
pub fn rootfs(dir: &Path) -> PathBuf {
    let root = dir.join("rootfs");
    for d in ["bin", "etc", "tmp", "proc", "sys", "dev", "root"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::copy(busybox(), root.join("bin/busybox")).unwrap();
    let list = Command::new(busybox()).arg("--list").output().unwrap();
    for a in String::from_utf8_lossy(&list.stdout).lines() {
        if a != "busybox" {
            std::os::unix::fs::symlink("busybox", root.join("bin").join(a)).unwrap();
        }
    }
    std::fs::write(
        root.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n",
    )
    .unwrap();
    std::fs::write(root.join("etc/group"), "root:x:0:\nuser:x:1000:\n").unwrap();
    root
}

/// `tar -C dir -cf out .`
pub fn tar_dir(dir: &Path, out: &Path) {
    let st = Command::new("tar")
        .arg("-C")
        .arg(dir)
        .arg("-cf")
        .arg(out)
        .arg(".")
        .status()
        .unwrap();
    assert!(st.success());
}

/// A docker-archive image (manifest.json, config, one layer) of a busybox rootfs, which
/// `ctr images import` and `docker load` read.
pub fn busybox_archive(dir: &Path, name: &str) -> PathBuf {
    let root = rootfs(dir);
    let config = serde_json::json!({
        "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["sh"],
    });
    let out = image_archive(dir, name, &root, config);
    std::fs::remove_dir_all(root).unwrap();
    out
}

/// A docker-archive image `name` at `dir/image.tar` of the directory `root` as its one
/// layer, with `config` as the image's runtime config (Env, Cmd, Entrypoint).
pub fn image_archive(dir: &Path, name: &str, root: &Path, config: serde_json::Value) -> PathBuf {
    let layer = dir.join("layer.tar");
    tar_dir(root, &layer);
    let digest = |p: &Path| {
        let o = Command::new("sha256sum").arg(p).output().unwrap();
        String::from_utf8_lossy(&o.stdout)
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    };
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux", "config": config,
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{}", digest(&layer))]},
    });
    let img = dir.join("image");
    std::fs::create_dir_all(&img).unwrap();
    std::fs::rename(&layer, img.join("layer.tar")).unwrap();
    std::fs::write(img.join("config.json"), config.to_string()).unwrap();
    let manifest = serde_json::json!([
        {"Config": "config.json", "RepoTags": [name], "Layers": ["layer.tar"]}
    ]);
    std::fs::write(img.join("manifest.json"), manifest.to_string()).unwrap();
    let out = dir.join("image.tar");
    tar_dir(&img, &out);
    std::fs::remove_dir_all(&img).unwrap();
    out
}
