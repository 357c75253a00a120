//! pull: against Debian's docker-registry on loopback (anonymous, and with token auth from a
//! token server in the test), seeded with skopeo; and against a fake registry that lies.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hull_image::digest::sha256_of;
use hull_image::{NoProgress, PullOptions, Store};
use serde_json::json;

use hull_e2e::image::*;
use hull_e2e::registry::{http_status, skopeo_copy, Registry};

/// A tiny HTTP server on loopback answering GETs from a table; counts what it was asked.
struct FakeServer {
    port: u16,
    requests: Arc<Mutex<Vec<String>>>,
}

type Handler = Box<dyn Fn(&str, &str) -> (u16, Vec<(String, String)>, Vec<u8>) + Send + Sync>;

impl FakeServer {
    /// `handler(path_and_query, authorization) -> (status, headers, body)`.
    fn start(handler: Handler) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            // Ends with the test process; each connection is served and closed.
            for conn in listener.incoming().flatten() {
                let _ = serve_one(conn, &handler, &seen);
            }
        });
        FakeServer { port, requests }
    }
}

fn serve_one(conn: TcpStream, handler: &Handler, seen: &Mutex<Vec<String>>) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut r = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    r.read_line(&mut line)?;
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut auth = String::new();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("authorization") {
                auth = v.trim().to_string();
            }
        }
    }
    seen.lock().unwrap().push(path.clone());
    let (status, headers, body) = handler(&path, &auth);
    let mut w = conn;
    write!(
        w,
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    )?;
    for (k, v) in headers {
        write!(w, "{k}: {v}\r\n")?;
    }
    w.write_all(b"\r\n")?;
    w.write_all(&body)?;
    w.flush()
}

fn b64(data: &[u8], url: bool) -> String {
    let t: &[u8; 64] = if url {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    } else {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    };
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..=c.len() {
            out.push(t[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
        if !url {
            out.push_str(&"=".repeat(3 - c.len()));
        }
    }
    out
}

/// A JWT the registry's `auth: token:` accepts: RS256 by openssl, the cert in x5c.
fn jwt(dir: &Path, scopes: &[String]) -> String {
    let der = std::fs::read(dir.join("cert.der")).unwrap();
    let access: Vec<_> = scopes
        .iter()
        .filter_map(|s| {
            let mut p = s.splitn(3, ':');
            let (t, name, actions) = (p.next()?, p.next()?, p.next()?);
            Some(
                json!({"type": t, "name": name, "actions": actions.split(',').collect::<Vec<_>>()}),
            )
        })
        .collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = json!({"typ": "JWT", "alg": "RS256", "x5c": [b64(&der, false)]});
    let claims = json!({"iss": "hull-test", "sub": "tester", "aud": "hull-registry",
        "exp": now + 600, "nbf": now - 60, "iat": now - 60, "jti": format!("{now}"), "access": access});
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes(), true),
        b64(claims.to_string().as_bytes(), true)
    );
    let sig = pipe(
        "openssl",
        &[
            "dgst",
            "-sha256",
            "-sign",
            dir.join("key.pem").to_str().unwrap(),
        ],
        input.as_bytes(),
    );
    format!("{input}.{}", b64(&sig, true))
}

fn unquote(s: &str) -> String {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn seed_archive(t: &TestStore) -> PathBuf {
    let (archive, _) = docker_archive(&[busybox_layer(), top_layer()], &["hand:1"], &["sh"]);
    let p = t.path("hand.tar");
    std::fs::write(&p, archive).unwrap();
    p
}

/// An OCI layout whose index.json names one nested index `multi` of two platforms: the
/// hand-made image for linux/amd64 and a one-file image for linux/arm64.
fn multi_arch_layout(dir: &Path) {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |data: &[u8]| {
        let d = sha256_of(data);
        std::fs::write(blobs.join(&d[7..]), data).unwrap();
        (d, data.len())
    };
    let mut manifests = Vec::new();
    for (arch, layers) in [
        ("amd64", vec![busybox_layer(), top_layer()]),
        ("arm64", vec![raw_tar(&[file("arm", b"arm")])]),
    ] {
        let descs: Vec<_> = layers
            .iter()
            .map(|l| {
                let (d, n) = put(l);
                json!({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d, "size": n})
            })
            .collect();
        let diff_ids: Vec<String> = layers.iter().map(|l| sha256_of(l)).collect();
        let config = json!({"architecture": arch, "os": "linux", "config": {"Cmd": ["sh"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids}});
        let (cd, cn) = put(config.to_string().as_bytes());
        let m = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cn},
            "layers": descs});
        let (md, mn) = put(m.to_string().as_bytes());
        manifests.push(
            json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md,
            "size": mn, "platform": {"architecture": arch, "os": "linux"}}),
        );
    }
    manifests.reverse(); // arm64 first: the pick must not be "the first one"
    let nested = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests});
    let (nd, nn) = put(nested.to_string().as_bytes());
    let index = json!({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json",
        "digest": nd, "size": nn, "annotations": {"org.opencontainers.image.ref.name": "multi"}}]});
    std::fs::write(dir.join("index.json"), index.to_string()).unwrap();
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
}

fn look(s: &Store, name: &str, dir: PathBuf) -> String {
    let img = s.resolve(name).unwrap();
    let m = Overlay::mount(&img.layers, dir);
    chroot(&m.dir, "cat /etc/hello; ls /data")
}

#[test]
fn pull_from_docker_registry_tags_digests_and_indexes() {
    let t = TestStore::new();
    let reg = Registry::start(&t.path("registry"), "");
    let hand = seed_archive(&t);
    skopeo_copy(
        &[],
        &format!("docker-archive:{}", hand.display()),
        &format!("docker://{}", reg.name("hand:1")),
    );
    let layout = t.path("layout");
    multi_arch_layout(&layout);
    skopeo_copy(
        &["--all"],
        &format!("oci:{}:multi", layout.display()),
        &format!("docker://{}", reg.name("multi:1")),
    );

    let mut s = t.open();
    let id = s
        .pull(
            &reg.name("hand:1"),
            &PullOptions::default(),
            &mut NoProgress,
        )
        .unwrap();
    let img = s.resolve(&reg.name("hand:1")).unwrap();
    assert_eq!(img.id, id);
    assert_eq!(img.names, vec![reg.name("hand:1")]);
    assert_eq!(img.digests.len(), 1);
    assert!(
        img.digests[0].starts_with(&reg.name("hand@sha256:")),
        "{:?}",
        img.digests
    );
    assert_eq!(
        look(&s, &reg.name("hand:1"), t.path("m1")),
        "hello from the top layer\nb\n"
    );
    // Layers pulled gzip-compressed are saved uncompressed, rebuilt from their tar-splits.
    let saved = t.path("pulled.tar");
    s.save(
        &[&reg.name("hand:1")],
        &mut std::fs::File::create(&saved).unwrap(),
    )
    .unwrap();
    let t3 = TestStore::new();
    t3.open().load(&saved).unwrap();
    assert_eq!(t3.open().resolve(&reg.name("hand:1")).unwrap().id, id);
    // By digest: the same image, nothing downloaded again.
    let again = s
        .pull(&img.digests[0], &PullOptions::default(), &mut NoProgress)
        .unwrap();
    assert_eq!(again, id);
    assert_eq!(count_dir(&t.root().join("layers")), 2);

    // A two-platform index: linux/amd64 is picked.
    let mid = s
        .pull(
            &reg.name("multi:1"),
            &PullOptions::default(),
            &mut NoProgress,
        )
        .unwrap();
    let multi = s.resolve(&mid).unwrap();
    assert_eq!(multi.config.architecture().to_string(), "amd64");
    assert_eq!(multi.diff_ids, img.diff_ids, "layers shared with hand:1");
    assert_eq!(count_dir(&t.root().join("layers")), 2);

    // The same layout as an oci-archive: load picks the same platform.
    let tarball = t.path("multi.tar");
    sh(&format!(
        "tar -C {} -cf {} .",
        layout.display(),
        tarball.display()
    ));
    let t2 = TestStore::new();
    let mut s2 = t2.open();
    assert_eq!(s2.load(&tarball).unwrap(), vec!["multi:latest"]);
    assert_eq!(s2.resolve("multi").unwrap().diff_ids, img.diff_ids);

    let err = s
        .pull(
            &reg.name("hand:nope"),
            &PullOptions::default(),
            &mut NoProgress,
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("MANIFEST_UNKNOWN") && err.contains(&format!("127.0.0.1:{}", reg.port)),
        "{err}"
    );
    assert_eq!(s.list().unwrap().len(), 2);
}

#[test]
fn pull_with_token_auth() {
    let t = TestStore::new();
    let keys = t.path("keys");
    sh(&format!(
        "cd {}; openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -subj /CN=hull-token -days 2 2>/dev/null; openssl x509 -in cert.pem -outform DER -out cert.der",
        keys.display()
    ));
    let kdir = keys.clone();
    let tokens = FakeServer::start(Box::new(move |path, _auth| {
        let query = path.split_once('?').map(|x| x.1).unwrap_or("");
        let scopes: Vec<String> = query
            .split('&')
            .filter_map(|kv| kv.strip_prefix("scope="))
            .map(unquote)
            .collect();
        let body = json!({ "token": jwt(&kdir, &scopes) })
            .to_string()
            .into_bytes();
        (
            200,
            vec![("Content-Type".into(), "application/json".into())],
            body,
        )
    }));
    let auth = format!(
        "auth:\n  token:\n    realm: http://127.0.0.1:{}/token\n    service: hull-registry\n    issuer: hull-test\n    rootcertbundle: {}\n",
        tokens.port,
        keys.join("cert.pem").display()
    );
    let reg = Registry::start(&t.path("registry"), &auth);
    assert_eq!(
        http_status(reg.port, "/v2/"),
        Some(401),
        "the registry wants a token"
    );
    let hand = seed_archive(&t);
    skopeo_copy(
        &["--dest-creds", "pusher:secret"],
        &format!("docker-archive:{}", hand.display()),
        &format!("docker://{}", reg.name("sec/hand:1")),
    );
    tokens.requests.lock().unwrap().clear();

    let mut s = t.open();
    s.pull(
        &reg.name("sec/hand:1"),
        &PullOptions::default(),
        &mut NoProgress,
    )
    .unwrap();
    assert_eq!(
        look(&s, &reg.name("sec/hand:1"), t.path("m")),
        "hello from the top layer\nb\n"
    );
    let asked = tokens.requests.lock().unwrap().clone();
    assert!(
        asked
            .iter()
            .any(|p| p.contains("scope=repository%3Asec%2Fhand%3Apull")
                && p.contains("service=hull-registry")),
        "{asked:?}"
    );
}

#[test]
fn registry_that_lies_about_a_digest_leaves_nothing() {
    let layer = busybox_layer();
    let diff = sha256_of(&layer);
    let config = json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [diff]}}).to_string();
    let cd = sha256_of(config.as_bytes());
    let manifest = json!({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": cd, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar", "digest": diff, "size": layer.len()}]})
    .to_string();
    let mut evil = layer.clone();
    let n = evil.len();
    evil[n / 2] ^= 0xff; // same size, other bytes
    let (cd2, diff2, good) = (cd.clone(), diff.clone(), layer.clone());
    let server = FakeServer::start(Box::new(move |path, _| {
        let ok =
            |ct: &str, b: Vec<u8>| (200, vec![("Content-Type".to_string(), ct.to_string())], b);
        // /v2/lie/ sends other bytes for the layer; /v2/long/ the right ones and then more.
        let repo = path.split('/').nth(2).unwrap_or("");
        let rest = path.splitn(4, '/').nth(3).unwrap_or("");
        if path == "/v2/" {
            ok("application/json", b"{}".to_vec())
        } else if rest == "manifests/1" {
            ok(
                "application/vnd.docker.distribution.manifest.v2+json",
                manifest.clone().into_bytes(),
            )
        } else if rest == format!("blobs/{cd2}") {
            ok("application/octet-stream", config.clone().into_bytes())
        } else if rest == format!("blobs/{diff2}") && repo == "lie" {
            ok("application/octet-stream", evil.clone())
        } else if rest == format!("blobs/{diff2}") && repo == "long" {
            let mut more = good.clone();
            more.extend_from_slice(&vec![0u8; 1 << 20]);
            ok("application/octet-stream", more)
        } else {
            (
                404,
                vec![],
                br#"{"errors":[{"code":"NOT_FOUND","message":"no"}]}"#.to_vec(),
            )
        }
    }));
    let t = TestStore::new();
    let mut s = t.open();
    let err = s
        .pull(
            &format!("127.0.0.1:{}/lie:1", server.port),
            &PullOptions::default(),
            &mut NoProgress,
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("digest mismatch") && err.contains(&diff),
        "{err}"
    );
    t.assert_empty(&s, "lying registry");
    let err = s
        .pull(
            &format!("127.0.0.1:{}/long:1", server.port),
            &PullOptions::default(),
            &mut NoProgress,
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("size mismatch") && err.contains(&diff),
        "{err}"
    );
    t.assert_empty(&s, "registry sending more than the manifest says");
    assert!(server
        .requests
        .lock()
        .unwrap()
        .iter()
        .any(|p| p.contains(&diff[7..])));
}

#[test]
fn pull_over_tls_with_tls_verify_false() {
    let t = TestStore::new();
    let keys = t.path("tls");
    sh(&format!(
        "cd {}; openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -days 2 2>/dev/null",
        keys.display()
    ));
    let tls = format!(
        "  tls:\n    certificate: {}\n    key: {}\n",
        keys.join("cert.pem").display(),
        keys.join("key.pem").display()
    );
    let reg = Registry::start(&t.path("registry"), &tls);
    let hand = seed_archive(&t);
    skopeo_copy(
        &[],
        &format!("docker-archive:{}", hand.display()),
        &format!("docker://{}", reg.name("tls/hand:1")),
    );
    let mut s = t.open();
    // Loopback means plain http by default, which a TLS registry refuses.
    let err = s
        .pull(
            &reg.name("tls/hand:1"),
            &PullOptions::default(),
            &mut NoProgress,
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!("127.0.0.1:{}", reg.port)) && err.contains("HTTPS"),
        "{err}"
    );
    let insecure = PullOptions {
        insecure: true,
        ..Default::default()
    };
    s.pull(&reg.name("tls/hand:1"), &insecure, &mut NoProgress)
        .unwrap();
    assert_eq!(
        look(&s, &reg.name("tls/hand:1"), t.path("m")),
        "hello from the top layer\nb\n"
    );
}
