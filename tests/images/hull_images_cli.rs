//! The image verbs through the real `hull` binary: import, images, image inspect, tag, rmi,
//! image prune, save/load, pull's argument checks; bad input refused with nothing left behind.

use std::path::{Path, PathBuf};
use std::process::Command;

use hull_e2e::hull::Hull;
use hull_e2e::registry::Registry;
use serde_json::Value;

/// A rootfs tarball: busybox as /bin/sh plus /etc/marker holding `marker`.
fn rootfs_tar(dir: &Path, marker: &str) -> PathBuf {
    let rootfs = dir.join(format!("rootfs-{marker}"));
    std::fs::create_dir_all(rootfs.join("bin")).unwrap();
    std::fs::create_dir_all(rootfs.join("etc")).unwrap();
    std::fs::copy(hull_e2e::busybox(), rootfs.join("bin/busybox")).unwrap();
    std::os::unix::fs::symlink("busybox", rootfs.join("bin/sh")).unwrap();
    std::fs::write(rootfs.join("etc/marker"), marker).unwrap();
    let tar = dir.join(format!("{marker}.tar"));
    hull_e2e::image::tar_dir(&rootfs, &tar);
    tar
}

fn layer_count(h: &Hull) -> usize {
    std::fs::read_dir(h.root().join("layers"))
        .map(|d| d.count())
        .unwrap_or(0)
}

fn inspect(h: &Hull, name: &str) -> Value {
    let v: Value = serde_json::from_str(&h.ok(&["image", "inspect", name])).unwrap();
    v[0].clone()
}

#[test]
fn import_images_inspect_tag_rmi() {
    let h = Hull::new();
    let tar = rootfs_tar(h.dir.path(), "one");
    let id = h.ok(&[
        "import",
        "--change",
        r#"CMD ["sh", "-c", "cat /etc/marker"]"#,
        "-c",
        "ENV GREETING=hello",
        "-c",
        "WORKDIR /etc",
        "-m",
        "from a tarball",
        tar.to_str().unwrap(),
        "shop/web:1.0",
    ]);
    let id = id.trim();
    assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");

    let lines = h.lines(&["images"]);
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    );
    let row: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(&row[..3], ["shop/web", "1.0", &id[7..19]], "{lines:?}");
    assert!(lines[1].contains("ago"), "{lines:?}");
    assert!(lines[1].ends_with("MB"), "busybox is about 2 MB: {lines:?}");
    // The header's columns line up with the rows' (docker's tabwriter).
    assert_eq!(lines[0].find("TAG"), lines[1].find("1.0"));
    assert_eq!(lines[0].find("IMAGE ID"), lines[1].find(&id[7..19]));
    assert_eq!(h.lines(&["images", "-q"]), [&id[7..19]]);
    assert_eq!(h.lines(&["images", "-q", "--no-trunc"]), [id]);
    assert_eq!(
        h.lines(&["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"]),
        [format!("shop/web:1.0 {}", &id[7..19])]
    );

    let v = inspect(&h, "shop/web:1.0");
    assert_eq!(v["Id"], id);
    assert_eq!(v["RepoTags"], serde_json::json!(["shop/web:1.0"]));
    assert_eq!(
        v["Config"]["Cmd"],
        serde_json::json!(["sh", "-c", "cat /etc/marker"])
    );
    assert!(v["Config"]["Env"]
        .as_array()
        .unwrap()
        .contains(&Value::from("GREETING=hello")));
    assert_eq!(v["Config"]["WorkingDir"], "/etc");
    assert_eq!(v["Config"]["Entrypoint"], Value::Null);
    assert_eq!(v["RootFS"]["Type"], "layers");
    assert_eq!(v["RootFS"]["Layers"].as_array().unwrap().len(), 1);
    assert_eq!(v["Os"], "linux");
    assert!(v["Size"].as_u64().unwrap() > 1_000_000);
    assert_eq!(v["Comment"], "from a tarball");
    // The layer holds the tarball's files.
    let lower = v["GraphDriver"]["Data"]["LowerDir"].as_str().unwrap();
    assert_eq!(
        std::fs::read_to_string(Path::new(lower).join("etc/marker")).unwrap(),
        "one"
    );
    assert_eq!(
        h.ok(&[
            "image",
            "inspect",
            "-f",
            "{{.Config.WorkingDir}} {{len .RootFS.Layers}}",
            id
        ]),
        "/etc 1\n"
    );

    // tag: a second name; rmi of one name only untags.
    h.ok(&["tag", "shop/web:1.0", "localhost:5000/web"]);
    h.ok(&["image", "tag", &id[7..19], "web2"]);
    let mut tags: Vec<String> = h.lines(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    tags.sort();
    assert_eq!(
        tags,
        ["localhost:5000/web:latest", "shop/web:1.0", "web2:latest"]
    );
    assert_eq!(h.ok(&["rmi", "web2"]), "Untagged: web2:latest\n");
    // By id with two names left: docker's conflict unless -f.
    let (code, err) = h.fails(&["rmi", &id[7..19]]);
    assert_eq!(code, 1);
    assert!(err.contains("multiple"), "{err}");
    let out = h.ok(&["rmi", "-f", &id[7..19]]);
    assert!(out.contains("Untagged: shop/web:1.0"), "{out}");
    assert!(out.contains(&format!("Deleted: {id}")), "{out}");
    assert!(h.ok(&["images", "-q"]).is_empty());
    assert_eq!(layer_count(&h), 0, "the layer went with its last image");
}

#[test]
fn import_from_stdin_untagged_and_prune() {
    let h = Hull::new();
    let tar = rootfs_tar(h.dir.path(), "two");
    let gz = Command::new("gzip")
        .arg("-c")
        .arg(&tar)
        .output()
        .unwrap()
        .stdout;
    // A message of its own, so the two configs (and ids) differ even within one second.
    let out = h.output(&["import", "-m", "dangling", "-"], Some(&gz));
    assert!(out.status.success(), "{out:?}");
    let dangling = String::from_utf8(out.stdout).unwrap().trim().to_string();
    h.ok(&["import", tar.to_str().unwrap(), "kept"]);
    let lines = h.lines(&["images", "--format", "{{.Repository}} {{.Tag}} {{.ID}}"]);
    assert!(
        lines.contains(&format!("<none> <none> {}", &dangling[7..19])),
        "{lines:?}"
    );
    assert_eq!(
        h.lines(&["images", "-q", "--filter", "dangling=true"]),
        [&dangling[7..19]]
    );
    assert_eq!(
        h.lines(&["images", "--format", "{{.Tag}}", "kept"]),
        ["latest"]
    );
    // The same content twice: one layer shared by both images.
    assert_eq!(layer_count(&h), 1);

    let out = h.output(&["image", "prune"], Some(b"n\n"));
    assert!(out.status.success());
    assert_eq!(h.lines(&["images", "-q"]).len(), 2, "n keeps everything");
    let out = h.ok(&["image", "prune", "-f"]);
    assert!(out.starts_with("Deleted Images:\n"), "{out}");
    assert!(out.contains(&format!("deleted: {dangling}")), "{out}");
    assert!(out.contains("Total reclaimed space: "), "{out}");
    assert_eq!(
        h.lines(&["images", "--format", "{{.Repository}}"]),
        ["kept"]
    );
    assert_eq!(layer_count(&h), 1, "the kept image's layer stays");
    h.ok(&["image", "prune", "-a", "-f"]);
    assert!(h.ok(&["images", "-q"]).is_empty());
    assert_eq!(layer_count(&h), 0);
}

#[test]
fn bad_input_is_refused_and_leaves_nothing() {
    let h = Hull::new();
    let tar = rootfs_tar(h.dir.path(), "three");
    let t = tar.to_str().unwrap();

    let corrupt = h.dir.path().join("corrupt.tar");
    let mut data = std::fs::read(&tar).unwrap();
    data.truncate(data.len() / 2);
    data[600..700].fill(0xff);
    std::fs::write(&corrupt, &data).unwrap();
    let (code, err) = h.fails(&["import", corrupt.to_str().unwrap(), "broken"]);
    assert_eq!(code, 125);
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    let (_, err) = h.fails(&["import", "/nonexistent.tar", "x"]);
    assert!(err.contains("/nonexistent.tar"), "{err}");
    let (_, err) = h.fails(&["import", t, "Bad:Name:Here"]);
    assert!(err.contains("Bad:Name:Here"), "{err}");
    let (_, err) = h.fails(&["import", "-c", "FROBNICATE x", t, "x"]);
    assert!(err.contains("FROBNICATE"), "{err}");
    assert!(h.ok(&["images", "-q"]).is_empty());
    assert_eq!(layer_count(&h), 0);
    let tmp = h.root().join("tmp");
    assert_eq!(std::fs::read_dir(&tmp).map(|d| d.count()).unwrap_or(0), 0);

    let (code, err) = h.fails(&["rmi", "nope"]);
    assert_eq!(code, 1);
    assert!(err.contains("nope"), "{err}");
    let (_, err) = h.fails(&["image", "inspect", "nope"]);
    assert!(err.contains("no such image: nope"), "{err}");
    let (_, err) = h.fails(&["tag", "nope", "x"]);
    assert!(err.contains("nope"), "{err}");
    let (_, err) = h.fails(&["images", "--filter", "size=3"]);
    assert!(err.contains("size=3"), "{err}");
    let (_, err) = h.fails(&["pull", "UPPER/case"]);
    assert!(err.contains("UPPER/case"), "{err}");
    let (_, err) = h.fails(&["pull", "--creds", "nocolon", "busybox"]);
    assert!(err.contains("--creds"), "{err}");

    // save of an image that does not exist leaves no file.
    let out = h.dir.path().join("out.tar");
    let (_, err) = h.fails(&["save", "-o", out.to_str().unwrap(), "nope"]);
    assert!(err.contains("nope"), "{err}");
    assert!(!out.exists());
    let leftovers: Vec<_> = std::fs::read_dir(h.dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".hull-save"))
        .collect();
    assert!(leftovers.is_empty());
    let (_, err) = h.fails(&["load", "-i", "/nonexistent.tar"]);
    assert!(err.contains("/nonexistent.tar"), "{err}");
}

#[test]
fn save_and_load_round_trip() {
    let h = Hull::new();
    let tar = rootfs_tar(h.dir.path(), "four");
    let id = h.ok(&[
        "import",
        "-c",
        "CMD [\"sh\"]",
        tar.to_str().unwrap(),
        "app:v4",
    ]);
    let id = id.trim();
    h.ok(&["tag", "app:v4", "app:stable"]);
    let archive = h.dir.path().join("app.tar");
    h.ok(&[
        "save",
        "-o",
        archive.to_str().unwrap(),
        "app:v4",
        "app:stable",
    ]);
    // A docker-archive: manifest.json names both tags.
    let listing = Command::new("tar")
        .arg("-tf")
        .arg(&archive)
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(listing.lines().any(|l| l == "manifest.json"), "{listing}");

    h.ok(&["rmi", "app:v4", "app:stable"]);
    assert!(h.ok(&["images", "-q"]).is_empty());
    let out = h.ok(&["load", "-i", archive.to_str().unwrap()]);
    assert!(out.contains("Loaded image: app:v4"), "{out}");
    assert!(out.contains("Loaded image: app:stable"), "{out}");
    assert_eq!(h.lines(&["images", "-q", "--no-trunc"]), [id]);
    let v = inspect(&h, "app:stable");
    let lower = v["GraphDriver"]["Data"]["LowerDir"].as_str().unwrap();
    assert_eq!(
        std::fs::read_to_string(Path::new(lower).join("etc/marker")).unwrap(),
        "four"
    );

    // save to stdout, load from stdin, into another root.
    let saved = h.output(&["save", "app:v4"], None);
    assert!(saved.status.success(), "{saved:?}");
    let other = Hull::new();
    let out = other.output(&["load"], Some(&saved.stdout));
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Loaded image: app:v4\n"
    );
    assert_eq!(other.lines(&["images", "-q", "--no-trunc"]), [id]);
    let out = other.output(&["load", "-q"], Some(&saved.stdout));
    assert!(out.status.success() && out.stdout.is_empty(), "{out:?}");

    // A truncated archive is refused and loads nothing.
    let third = Hull::new();
    let cut = &saved.stdout[..saved.stdout.len() / 3];
    let out = third.output(&["load"], Some(cut));
    assert!(!out.status.success());
    assert!(third.ok(&["images", "-q"]).is_empty());
    assert_eq!(
        std::fs::read_dir(third.root().join("tmp"))
            .map(|d| d.count())
            .unwrap_or(0),
        0,
        "the spooled stdin is gone"
    );
}

#[test]
fn pull_from_a_registry_and_run_it() {
    let h = Hull::new();
    let tar = rootfs_tar(h.dir.path(), "pulled");
    let id = h.ok(&[
        "import",
        "-c",
        "CMD [\"/bin/busybox\", \"cat\", \"/etc/marker\"]",
        tar.to_str().unwrap(),
        "src:1",
    ]);
    let archive = h.dir.path().join("src.tar");
    h.ok(&["save", "-o", archive.to_str().unwrap(), "src:1"]);
    let reg = Registry::start(h.dir.path(), "");
    let name = format!("127.0.0.1:{}/verbs/pulled:v1", reg.port);
    let st = Command::new("skopeo")
        .args(["copy", "--quiet", "--dest-tls-verify=false"])
        .arg(format!("docker-archive:{}", archive.display()))
        .arg(format!("docker://{name}"))
        .status()
        .unwrap();
    assert!(st.success(), "skopeo copy");

    let other = Hull::new();
    let (_, err) = other.fails(&[
        "pull",
        "-q",
        "--tls-verify=false",
        &format!("127.0.0.1:{}/verbs/absent:v1", reg.port),
    ]);
    assert!(err.contains("absent"), "{err}");
    assert!(
        other.ok(&["images", "-q"]).is_empty(),
        "a failed pull leaves no image"
    );
    // Quiet: only the full reference on stdout.
    let out = other.ok(&["pull", "-q", "--tls-verify=false", &name]);
    assert_eq!(out, format!("{name}\n"));
    assert_eq!(other.lines(&["images", "-q", "--no-trunc"]), [id.trim()]);
    // Not a terminal: no bars and no chatter, only the name; pulling again is cheap.
    let o = other.run(&["pull", "--tls-verify=false", &name]);
    assert!(o.success(), "{o:?}");
    assert!(o.stderr.is_empty(), "{o:?}");
    assert_eq!(o.stdout, format!("{name}\n"));
    let v = inspect(&other, &name);
    assert!(
        v["RepoDigests"][0].as_str().unwrap().contains("@sha256:"),
        "{v}"
    );
    // What runs is the pushed rootfs.
    assert_eq!(other.ok(&["run", "--rm", &name]), "pulled");
}
