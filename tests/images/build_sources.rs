//! `hull build`'s BuildKit-era sources, seen from inside containers of the built images:
//! `RUN --mount` of every type (a cache that persists across builds until `builder prune`,
//! the context and a stage bound read-only, a tmpfs, a secret), `ADD` of an http URL from a
//! loopback server (mode 0600, mtime from Last-Modified, `--checksum`), `COPY --from` with
//! globs, and `--pull` from a private registry. Bad input of each new form: one line with
//! file, line and instruction, and nothing left behind.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use hull_e2e::hull::{one_line_error, Hull};
use hull_e2e::image::{image_archive, rootfs};
use hull_e2e::registry::Registry;

const BASE: &str = "hull.test/base:1";
const BODY: &str = "downloaded over http\n";
/// `Last-Modified` of the served file and the same instant in seconds.
const LAST_MODIFIED: (&str, &str) = ("Wed, 21 Oct 2015 07:28:00 GMT", "1445412480");

/// A hull state holding the busybox image `BASE`, and a scratch dir for contexts.
fn setup() -> (Hull, tempfile::TempDir) {
    let h = Hull::new();
    let t = tempfile::tempdir().unwrap();
    let root = rootfs(t.path());
    let config = serde_json::json!({"Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["sh"]});
    let archive = image_archive(t.path(), BASE, &root, config);
    h.ok(&["load", "-i", archive.to_str().unwrap()]);
    std::fs::remove_dir_all(root).unwrap();
    std::fs::remove_file(archive).unwrap();
    (h, t)
}

/// A context dir `name` under `t` with a Dockerfile and `files`.
fn context(t: &Path, name: &str, dockerfile: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = t.join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("Dockerfile"), dockerfile).unwrap();
    for (p, c) in files {
        std::fs::create_dir_all(dir.join(p).parent().unwrap()).unwrap();
        std::fs::write(dir.join(p), c).unwrap();
    }
    dir
}

/// `sh -c SCRIPT` in a container of `image`; its stdout.
fn inside(h: &Hull, image: &str, script: &str) -> String {
    h.ok(&["run", "--rm", image, "sh", "-c", script])
        .trim()
        .to_string()
}

/// A loopback HTTP/1.0 server for the test's life: `/file.txt` is `BODY` with
/// `LAST_MODIFIED`; anything else is a 404. Returns its port.
fn http_server() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let mut r = BufReader::new(s);
            let mut line = String::new();
            if r.read_line(&mut line).is_err() {
                continue;
            }
            let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                    break;
                }
            }
            let mut s = r.into_inner();
            let _ = if path == "/file.txt" {
                write!(
                    s,
                    "HTTP/1.0 200 OK\r\nContent-Length: {}\r\nLast-Modified: {}\r\n\r\n{BODY}",
                    BODY.len(),
                    LAST_MODIFIED.0
                )
            } else {
                write!(s, "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            };
        }
    });
    port
}

#[test]
fn run_mounts_cache_bind_tmpfs_secret() {
    let (h, t) = setup();
    let df = format!(
        "FROM {BASE} AS tools
RUN mkdir /tools && echo tool > /tools/t
FROM {BASE}
RUN --mount=type=cache,target=/cache sh -c 'echo run >> /cache/log; wc -l < /cache/log > /runs'
RUN --mount=type=bind,target=/ctx cat /ctx/src.txt > /from-ctx
RUN --mount=type=bind,from=tools,source=/tools,target=/mnt/tools cat /mnt/tools/t > /from-stage
RUN --mount=type=bind,target=/rw,rw sh -c 'echo y > /rw/written && cat /rw/written > /rw-seen'
RUN --mount=type=tmpfs,target=/scratch sh -c 'echo x > /scratch/x && grep \" /scratch \" /proc/mounts | cut -d\" \" -f3 > /tmpfs-type'
RUN --mount=type=secret,id=tok sh -c 'stat -c %a /run/secrets/tok > /secret-mode && cat /run/secrets/tok > /dev/null'
"
    );
    let ctx = context(
        t.path(),
        "mounts",
        &df,
        &[("src.txt", "from the context\n")],
    );
    let secret = t.path().join("tok");
    std::fs::write(&secret, "s3cret-value").unwrap();
    let sec = format!("id=tok,src={}", secret.display());
    let c = ctx.to_str().unwrap();
    h.ok(&["build", "-q", "--secret", &sec, "-t", "m:1", c]);
    let got = inside(
        &h,
        "m:1",
        "cat /runs /from-ctx /from-stage /rw-seen /tmpfs-type /secret-mode",
    );
    assert_eq!(
        got, "1\nfrom the context\ntool\ny\ntmpfs\n400",
        "what the RUN steps saw through their mounts"
    );
    // What the runs wrote into their mounts is not in the image: the directory mount
    // points stay empty (as docker 20.10's BuildKit leaves them), the secret's file is gone.
    let left = inside(
        &h,
        "m:1",
        "ls -A /cache /ctx /mnt/tools /rw /scratch /run/secrets",
    );
    assert_eq!(
        left, "/cache:\n\n/ctx:\n\n/mnt/tools:\n\n/run/secrets:\n\n/rw:\n\n/scratch:",
        "mount contents left in the image"
    );
    assert!(
        !ctx.join("written").exists(),
        "an rw bind wrote into the context"
    );

    // The cache persists across builds (even --no-cache ones, as BuildKit's)...
    h.ok(&[
        "build",
        "-q",
        "--no-cache",
        "--secret",
        &sec,
        "-t",
        "m:2",
        c,
    ]);
    assert_eq!(inside(&h, "m:2", "cat /runs"), "2");
    // ... until `builder prune`.
    h.ok(&["builder", "prune", "-f"]);
    h.ok(&[
        "build",
        "-q",
        "--no-cache",
        "--secret",
        &sec,
        "-t",
        "m:3",
        c,
    ]);
    assert_eq!(inside(&h, "m:3", "cat /runs"), "1");
    h.assert_empty();
}

#[test]
fn add_url_copy_from_glob_and_pull() {
    let (h, t) = setup();
    let port = http_server();
    let sum = hull_image::digest::sha256_of(BODY.as_bytes());
    let df = format!(
        "FROM {BASE} AS s
RUN mkdir -p /out/a /out/b && echo 1 > /out/a/x.txt && echo 2 > /out/b/y.txt && echo 3 > /out/b/z.log
FROM {BASE}
ADD http://127.0.0.1:{port}/file.txt /dl/
ADD --checksum={sum} http://127.0.0.1:{port}/file.txt /named
COPY --from=s /out/*/*.txt /txt/
"
    );
    let ctx = context(t.path(), "sources", &df, &[]);
    h.ok(&["build", "-q", "-t", "s:1", ctx.to_str().unwrap()]);
    let got = inside(
        &h,
        "s:1",
        "stat -c '%a %Y %s' /dl/file.txt; cat /named; ls /txt; cat /txt/*",
    );
    assert_eq!(
        got,
        format!(
            "600 {} {}\n{BODY}x.txt\ny.txt\n1\n2",
            LAST_MODIFIED.1,
            BODY.len()
        )
    );

    // --pull takes the registry's image even though the store has one of that name.
    let reg = Registry::start(t.path(), "");
    let name = reg.name("base:1");
    let v2 = context(
        t.path(),
        "v2",
        &format!("FROM {BASE}\nRUN echo v2 > /version\n"),
        &[],
    );
    h.ok(&["build", "-q", "-t", &name, v2.to_str().unwrap()]);
    h.ok(&["push", &name]);
    h.ok(&["tag", BASE, &name]);
    let user = context(
        t.path(),
        "user",
        &format!("FROM {name}\nRUN cat /version 2>/dev/null > /seen || echo local > /seen\n"),
        &[],
    );
    let u = user.to_str().unwrap();
    h.ok(&["build", "-q", "-t", "u:1", u]);
    assert_eq!(inside(&h, "u:1", "cat /seen"), "local");
    h.ok(&["build", "-q", "--pull", "-t", "u:2", u]);
    assert_eq!(inside(&h, "u:2", "cat /seen"), "v2");
    h.assert_empty();
}

#[test]
fn bad_input_names_file_line_and_instruction_and_leaves_nothing() {
    let (h, t) = setup();
    let port = http_server();
    let images = h.ok(&["images", "-a", "-q"]);
    let cases = [
        (
            "RUN --mount=type=nfs,target=/x true",
            "Dockerfile:3: RUN: --mount: unsupported mount type \"nfs\"",
        ),
        (
            "RUN --mount=type=cache,id=,target=/c true",
            "Dockerfile:3: RUN: --mount: cache mount: id must not be empty",
        ),
        (
            "RUN --mount=type=secret,id=nope,required true",
            "Dockerfile:3: RUN: --mount=type=secret,id=nope,required: secret nope not found",
        ),
        (
            "ADD http://127.0.0.1:{port}/missing.txt /x",
            "Dockerfile:3: ADD: ADD http://127.0.0.1:{port}/missing.txt: GET: 404",
        ),
        (
            "COPY --from=s /out/*.none /x/",
            "Dockerfile:3: COPY: COPY failed: no source files were specified: /out/*.none",
        ),
    ];
    for (line, want) in cases {
        let line = line.replace("{port}", &port.to_string());
        let want = want.replace("{port}", &port.to_string());
        let df = format!("FROM {BASE} AS s\nFROM {BASE}\n{line}\n");
        let ctx = context(t.path(), "bad", &df, &[]);
        let o = h.run(&["build", "-q", ctx.to_str().unwrap()]);
        assert_eq!(o.code, 1, "{line}: {}", o.stderr);
        let e = one_line_error(&o);
        assert!(e.contains(&want), "{line}: {e}");
        assert_eq!(h.ok(&["images", "-a", "-q"]), images, "{line}: images left");
        h.assert_empty();
        let tmp: Vec<_> = std::fs::read_dir(h.root().join("tmp"))
            .map(|r| r.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        assert!(tmp.is_empty(), "{line}: temp files left: {tmp:?}");
    }
}
