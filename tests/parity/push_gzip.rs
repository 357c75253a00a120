//! `hull push` sends gzip-compressed layers as docker does
//! (`application/vnd.docker.image.rootfs.diff.tar.gzip`), each under the digest of the bytes
//! sent: read back from the registry (manifest, then every blob, hashed here), pulled and run
//! by docker 20.10, and pushed again without sending a layer.

use std::process::Command;

use hull_e2e::docker_pair::{pair, IMAGE};
use hull_e2e::registry::Registry;
use serde_json::Value;

fn ok(engine: &str, args: &[&str]) -> String {
    pair().ok(engine, args)
}

fn curl(args: &[&str]) -> Vec<u8> {
    let o = Command::new("curl")
        .args(["-sSf", "--max-time", "30"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

#[test]
fn push_sends_gzip_layers_with_their_digests_and_docker_pulls_them() {
    let p = pair();
    let dir = p.dir.join("push-gzip");
    std::fs::create_dir_all(&dir).unwrap();
    let reg = Registry::start(&dir, "");
    let name = reg.name("gz/app:1");
    ok(
        "hull",
        &[
            "run",
            "--name",
            "gz-src",
            IMAGE,
            "sh",
            "-c",
            "echo zipped > /z",
        ],
    );
    ok("hull", &["commit", "gz-src", &name]);
    ok("hull", &["rm", "gz-src"]);
    ok("hull", &["push", &name]);

    let base = format!("http://127.0.0.1:{}/v2/gz/app", reg.port);
    let manifest: Value = serde_json::from_slice(&curl(&[
        "-H",
        "Accept: application/vnd.docker.distribution.manifest.v2+json",
        &format!("{base}/manifests/1"),
    ]))
    .unwrap();
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 2, "{manifest}");
    for l in layers {
        assert_eq!(
            l["mediaType"], "application/vnd.docker.image.rootfs.diff.tar.gzip",
            "{manifest}"
        );
        let digest = l["digest"].as_str().unwrap();
        let blob = curl(&[&format!("{base}/blobs/{digest}")]);
        assert_eq!(&blob[..2], [0x1f, 0x8b], "{digest} is not gzip");
        assert_eq!(
            blob.len() as u64,
            l["size"].as_u64().unwrap(),
            "{digest}: size"
        );
        let f = dir.join("blob");
        std::fs::write(&f, &blob).unwrap();
        let sum = Command::new("sha256sum").arg(&f).output().unwrap();
        let sum = String::from_utf8_lossy(&sum.stdout);
        assert_eq!(
            format!("sha256:{}", sum.split_whitespace().next().unwrap()),
            digest,
            "the blob's bytes do not have its digest"
        );
    }
    // docker pulls and runs it; a second push finds every layer.
    ok("docker", &["pull", &name]);
    assert_eq!(ok("docker", &["run", "--rm", &name, "cat", "/z"]), "zipped");
    let again = ok("hull", &["push", &name]);
    assert_eq!(again.matches("Layer already exists").count(), 2, "{again}");
    ok("docker", &["rmi", &name]);
    ok("hull", &["rmi", &name]);
}
