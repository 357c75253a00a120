//! `hull build` beside a docker builder on the same Dockerfile and context: the root
//! filesystem of a container made from each image (every path's type, mode, owner, size and
//! content hash, as `export` writes it) and the image config keys a user sees. For the
//! classic builder's comparison (tests/parity/build_docker.rs) and BuildKit's
//! (tests/parity/build_buildkit.rs).

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::client_support::output_via_files;
use crate::docker_pair::{pair, stderr, stdout};

/// `ENGINE build ARGS`, docker with `DOCKER_BUILDKIT=buildkit`.
pub fn build(buildkit: &str, engine: &str, args: &[&str]) -> Output {
    let p = pair();
    let mut c = p.cmd(engine);
    c.env("DOCKER_BUILDKIT", buildkit).arg("build");
    output_via_files(c.args(p.args(engine, args)))
}

/// A context directory under the pair's dir with `files` (path, content).
pub fn context(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = pair().dir.join("ctx").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    for (path, content) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
    dir
}

/// What a path of a root filesystem is: type and mode, owner, size, content hash or link.
pub fn tree(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let md = p.symlink_metadata().unwrap();
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            let what = if md.file_type().is_symlink() {
                format!("-> {}", std::fs::read_link(&p).unwrap().display())
            } else if md.is_dir() {
                todo.push(p.clone());
                String::new()
            } else if md.is_file() {
                hull_image::digest::sha256_of(&std::fs::read(&p).unwrap())
            } else {
                "special".into()
            };
            let size = if md.is_file() { md.len() } else { 0 };
            out.insert(
                rel,
                format!("{:o} {}:{} {size} {what}", md.mode(), md.uid(), md.gid()),
            );
        }
    }
    out
}

/// What each engine adds to every container (docker's init layer, hull's mount points).
pub fn per_container(path: &str) -> bool {
    [
        ".dockerenv",
        "dev",
        "proc",
        "sys",
        "etc/hosts",
        "etc/hostname",
        "etc/resolv.conf",
        "etc/mtab",
    ]
    .iter()
    .any(|p| path == *p || path.starts_with(&format!("{p}/")))
}

/// The root filesystem of a container made from `image`, exported and unpacked.
pub fn rootfs(engine: &str, image: &str) -> BTreeMap<String, String> {
    let p = pair();
    let name = format!("rootfs-{engine}-{}", image.replace([':', '/'], "-"));
    let o = p.run(engine, &["create", "--name", &name, image, "true"]);
    assert!(
        o.status.success(),
        "{engine} create {image}: {}",
        stderr(&o)
    );
    let tar = p.dir.join(format!("{name}.tar"));
    let o = p.run(engine, &["export", "-o", tar.to_str().unwrap(), &name]);
    assert!(o.status.success(), "{engine} export: {}", stderr(&o));
    p.run(engine, &["rm", &name]);
    let dir = p.dir.join(&name);
    std::fs::create_dir_all(&dir).unwrap();
    let st = std::process::Command::new("tar")
        .args(["--numeric-owner", "-xpf"])
        .arg(&tar)
        .arg("-C")
        .arg(&dir)
        .status()
        .unwrap();
    assert!(st.success());
    let t = tree(&dir)
        .into_iter()
        .filter(|(k, _)| !per_container(k))
        .collect();
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_file(&tar).unwrap();
    t
}

/// The image config keys a user sees.
pub fn config(engine: &str, image: &str) -> BTreeMap<String, serde_json::Value> {
    let o = pair().run(
        engine,
        &["image", "inspect", "--format", "{{json .Config}}", image],
    );
    assert!(o.status.success(), "{engine} image inspect: {}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let keys = [
        "Env",
        "Cmd",
        "Entrypoint",
        "WorkingDir",
        "User",
        "ExposedPorts",
        "Volumes",
        "Labels",
        "StopSignal",
        "Healthcheck",
        "OnBuild",
    ];
    keys.iter()
        .map(|k| {
            // null, absent, "" and {} / [] all mean "not set" to a user.
            let x = match &v[k] {
                serde_json::Value::String(s) if s.is_empty() => serde_json::Value::Null,
                serde_json::Value::Array(a) if a.is_empty() => serde_json::Value::Null,
                serde_json::Value::Object(o) if o.is_empty() => serde_json::Value::Null,
                x => x.clone(),
            };
            (k.to_string(), x)
        })
        .collect()
}

/// Builds `dir` with both as `tag` (docker with `DOCKER_BUILDKIT=buildkit`: "0" classic,
/// "1" BuildKit), then compares root filesystems and configs; the differences.
pub fn same_build(buildkit: &str, tag: &str, dir: &Path, extra: &[&str]) -> Vec<String> {
    let mut fails = Vec::new();
    let mut args = vec!["-t", tag];
    args.extend_from_slice(extra);
    let d = dir.to_str().unwrap();
    args.push(d);
    let [od, oh] = ["docker", "hull"].map(|e| build(buildkit, e, &args));
    assert!(
        od.status.success(),
        "docker build {tag}: {}\n{}",
        stdout(&od),
        stderr(&od)
    );
    assert!(
        oh.status.success(),
        "hull build {tag}: {}\n{}",
        stdout(&oh),
        stderr(&oh)
    );
    let (mut rd, rh) = (rootfs("docker", tag), rootfs("hull", tag));
    // docker's init layer makes /etc for its mount points even in a scratch image.
    if !rd.keys().any(|k| k.starts_with("etc/")) && !rh.contains_key("etc") {
        rd.remove("etc");
    }
    for k in rd
        .keys()
        .chain(rh.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        if rd.get(k) != rh.get(k) {
            fails.push(format!(
                "{tag}: /{k}: docker {:?}, hull {:?}",
                rd.get(k),
                rh.get(k)
            ));
        }
    }
    let (cd, ch) = (config("docker", tag), config("hull", tag));
    for (k, v) in &cd {
        if ch.get(k) != Some(v) {
            fails.push(format!(
                "{tag}: config {k}: docker {v}, hull {:?}",
                ch.get(k)
            ));
        }
    }
    fails
}
