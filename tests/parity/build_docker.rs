//! `hull build` beside docker's classic builder (`DOCKER_BUILDKIT=0`, Debian's docker.io
//! 20.10) on the same Dockerfiles and contexts, from the same base image loaded into both
//! (tests/support/docker_pair.rs: one private dockerd for the file). Compared: the root filesystem of a
//! container made from each image (every path's type, mode, owner, size and content hash, as
//! `export` writes it) and the image config keys a user sees. Then what only hull's side
//! can show: a second build runs no step, a changed file invalidates from its `COPY` on,
//! `hull save` of a built image loads into docker, and bad input fails with one line,
//! docker's exit code, and nothing left behind. Deliberate differences: docs/build.md.

use std::path::Path;
use std::process::Output;

use hull_e2e::build_compare::{self, context};
use hull_e2e::docker_pair::{pair, stderr, stdout, IMAGE};

/// The tests take turns: `bad_input_...` checks that no container is left, which a build
/// of another test running at that moment would break.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// `ENGINE build ARGS` (docker with the classic builder).
fn build(engine: &str, args: &[&str]) -> Output {
    build_compare::build("0", engine, args)
}

/// Builds `dir` with both as `tag` (docker's classic builder), then compares root
/// filesystems and configs.
fn same_build(tag: &str, dir: &Path, extra: &[&str]) -> Vec<String> {
    build_compare::same_build("0", tag, dir, extra)
}

/// A tar of `files` for `ADD` (owned by 1000:1000, as a tarball made elsewhere would be).
fn tarball(dir: &Path, name: &str, files: &[(&str, &str)]) {
    let src = dir.join(format!("{name}.src"));
    for (p, c) in files {
        std::fs::create_dir_all(src.join(p).parent().unwrap()).unwrap();
        std::fs::write(src.join(p), c).unwrap();
    }
    let st = std::process::Command::new("tar")
        .args(["--owner=1000", "--group=1000", "--numeric-owner"])
        .arg(if name.ends_with(".gz") { "-czf" } else { "-cf" })
        .arg(dir.join(name))
        .arg("-C")
        .arg(&src)
        .arg(".")
        .status()
        .unwrap();
    assert!(st.success());
    std::fs::remove_dir_all(src).unwrap();
}

#[test]
fn dockerfiles_build_the_same_as_docker() {
    let _turn = serial();
    let mut fails = Vec::new();
    // Every instruction and the tricky rules, one Dockerfile: ARG before FROM, ENV
    // expansion in COPY paths, --chown with names from the image's /etc/passwd, ADD of a
    // tar, a RUN deleting a lower layer's file (whiteout), WORKDIR creation, USER, the
    // metadata instructions, a multi-stage COPY --from, .dockerignore with negation.
    let dockerfile = format!(
        r#"# a comment
ARG BASE={IMAGE}
FROM $BASE AS build
ARG GREETING=hello
ENV SRC=src OUT=/out \
    MODE="two words"
WORKDIR /work/deep
COPY $SRC/ ./
COPY --chown=user:user ${{SRC}}/a.txt /owned/
COPY --chown=1000 top.txt /owned-num/top.txt
ADD data.tar.gz /unpacked/
ADD plain.tar /plain
COPY src/*.txt top.* /globbed/
RUN echo "$GREETING $MODE" > $OUT && rm /bin/vi && mkdir -p /made && echo x > /made/f
RUN ["sh", "-c", "rm -rf /unpacked/sub && touch /work/deep/new"]

FROM {IMAGE}
LABEL org.example.name="the app" version=1
COPY --from=build /out /work/deep/ /app/
USER user
WORKDIR /home/user/rel
WORKDIR sub
EXPOSE 8080 53/udp
VOLUME ["/data"]
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s --retries=2 CMD true
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["echo hi"]
ONBUILD ENV TRIGGERED=yes
ONBUILD COPY f /home/user/
MAINTAINER someone
"#
    );
    let dir = context(
        "all",
        &[
            ("Dockerfile", dockerfile.as_str()),
            (
                ".dockerignore",
                "*.log\nsrc/secret*\n!src/secret-ok\n**/*.tmp\n",
            ),
            ("src/a.txt", "a\n"),
            ("src/sub/b.txt", "b\n"),
            ("src/skip.log", "ignored at the root only\n"),
            ("src/secret", "never copied\n"),
            ("src/secret-ok", "brought back\n"),
            ("src/x.tmp", "ignored\n"),
            ("top.txt", "top\n"),
            ("top.log", "ignored\n"),
        ],
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        dir.join("src/a.txt"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    tarball(
        &dir,
        "data.tar.gz",
        &[("one", "1\n"), ("sub/two", "2\n"), ("three/four", "4\n")],
    );
    tarball(&dir, "plain.tar", &[("p/q", "q\n")]);
    fails.extend(same_build(
        "bt-all:1",
        &dir,
        &["--build-arg", "GREETING=hey"],
    ));
    // A child of it: its ONBUILD triggers run (an ENV, a COPY from the child's context);
    // what its RUN writes into the inherited VOLUME is not kept.
    let child = context(
        "child",
        &[
            (
                "Dockerfile",
                "FROM bt-all:1\nUSER root\nRUN ls /home/user/f && echo lost > /data/x\n",
            ),
            ("f", "from the child\n"),
        ],
    );
    fails.extend(same_build("bt-child:1", &child, &[]));
    // The first stage alone (--target), and scratch with a single COPY.
    fails.extend(same_build("bt-stage:1", &dir, &["--target", "build"]));
    let dir = context(
        "scratch",
        &[
            (
                "Dockerfile",
                "FROM scratch\nCOPY f /f\nCOPY d /d/\nCMD [\"/f\"]\n",
            ),
            ("f", "f\n"),
            ("d/x", "x\n"),
        ],
    );
    fails.extend(same_build("bt-scratch:1", &dir, &[]));
    assert!(
        fails.is_empty(),
        "hull build differs from docker's:\n{}",
        fails.join("\n")
    );
}

#[test]
fn heredoc_run_and_copy() {
    let _turn = serial();
    // docker 20.10's classic builder has no heredocs (BuildKit's syntax): hull only.
    let dir = context(
        "heredoc",
        &[(
            "Dockerfile",
            &format!("FROM {IMAGE}\nARG N=3\nRUN <<EOF\nset -e\necho one > /one\necho $N >> /one\nEOF\nCOPY <<EOF /etc/conf\nn=${{N}}\nEOF\nRUN cat <<-'X' > /lit\n\tkeep $N\n\tX\n"),
        )],
    );
    let o = build("hull", &["-t", "bt-heredoc:1", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let o = pair().run(
        "hull",
        &[
            "run",
            "--rm",
            "bt-heredoc:1",
            "cat",
            "/one",
            "/etc/conf",
            "/lit",
        ],
    );
    assert_eq!(stdout(&o), "one\n3\nn=3\nkeep $N");
}

/// The Step lines whose next line says the cache was used, and the RUNs that ran.
fn cached_steps(out: &str) -> (Vec<String>, usize) {
    let lines: Vec<&str> = out.lines().collect();
    let mut cached = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if l.starts_with("Step ") && lines.get(i + 1) == Some(&" ---> Using cache") {
            cached.push(l.split(" : ").nth(1).unwrap_or("").to_string());
        }
    }
    (cached, out.matches(" ---> Running in ").count())
}

fn image_id(engine: &str, image: &str) -> String {
    stdout(&pair().run(engine, &["image", "inspect", "--format", "{{.Id}}", image]))
}

#[test]
fn second_build_is_cached_and_a_change_invalidates_from_its_copy() {
    let _turn = serial();
    let df = format!("FROM {IMAGE}\nCOPY one /one\nRUN echo ran >> /log\nCOPY two /two\nRUN cat /two > /seen\nENV A=b\n");
    let dir = context(
        "cache",
        &[("Dockerfile", df.as_str()), ("one", "1\n"), ("two", "2\n")],
    );
    let d = dir.to_str().unwrap();
    let first = build("hull", &["-t", "bt-cache:1", d]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert_eq!(cached_steps(&stdout(&first)).1, 2, "{}", stdout(&first));
    let id1 = image_id("hull", "bt-cache:1");
    let again = build("hull", &["-t", "bt-cache:1", d]);
    let (cached, ran) = cached_steps(&stdout(&again));
    assert_eq!(ran, 0, "no RUN runs again:\n{}", stdout(&again));
    assert_eq!(
        cached,
        [
            "COPY one /one",
            "RUN echo ran >> /log",
            "COPY two /two",
            "RUN cat /two > /seen"
        ]
    );
    assert_eq!(image_id("hull", "bt-cache:1"), id1, "the same image");
    std::fs::write(dir.join("two"), "22\n").unwrap();
    let changed = build("hull", &["-t", "bt-cache:1", d]);
    let (cached, ran) = cached_steps(&stdout(&changed));
    assert_eq!(
        cached,
        ["COPY one /one", "RUN echo ran >> /log"],
        "{}",
        stdout(&changed)
    );
    assert_eq!(ran, 1);
    let o = pair().run(
        "hull",
        &["run", "--rm", "bt-cache:1", "cat", "/log", "/seen"],
    );
    assert_eq!(
        stdout(&o),
        "ran\n22",
        "the first RUN ran once, the second saw the new file"
    );
    // The same size and the mtime put back (`touch -r`): hull's digest index keys on ctime
    // too, so the file is read again and the change seen, as the classic builder (which
    // hashes the whole context each time) sees it. BuildKit keeps the stale content here
    // (moby/buildkit#2592).
    let o = build("docker", &["-t", "bt-cache:1", d]);
    assert!(o.status.success(), "{}", stderr(&o));
    let two = dir.join("two");
    let before = std::fs::metadata(&two).unwrap().modified().unwrap();
    std::fs::write(&two, "33\n").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&two)
        .unwrap()
        .set_times(std::fs::FileTimes::new().set_modified(before))
        .unwrap();
    assert_eq!(std::fs::metadata(&two).unwrap().modified().unwrap(), before);
    for engine in ["docker", "hull"] {
        let o = build(engine, &["-t", "bt-cache:1", d]);
        assert_eq!(
            cached_steps(&stdout(&o)).0,
            ["COPY one /one", "RUN echo ran >> /log"],
            "{engine}: {}",
            stdout(&o)
        );
    }
    let o = pair().run("hull", &["run", "--rm", "bt-cache:1", "cat", "/seen"]);
    assert_eq!(
        stdout(&o),
        "33",
        "the restored-mtime change reached the image"
    );
    // --no-cache runs everything; builder prune -a empties the cache (without -a it keeps
    // what the tagged images share: build_buildkit.rs compares that with BuildKit).
    let fresh = build("hull", &["--no-cache", "-t", "bt-cache:2", d]);
    assert_eq!(cached_steps(&stdout(&fresh)), (vec![], 2));
    let o = pair().run("hull", &["builder", "prune", "-af"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let after = build("hull", &["-t", "bt-cache:3", d]);
    assert_eq!(
        cached_steps(&stdout(&after)).0.len(),
        0,
        "{}",
        stdout(&after)
    );
    // image prune leaves the build's intermediates (docker's leaves the classic builder's,
    // which have children; BuildKit's are cache, not images): the next build is cached.
    for engine in ["docker", "hull"] {
        let o = pair().run(engine, &["image", "prune", "-f"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let o = build(engine, &["-t", "bt-cache:3", d]);
        assert_eq!(cached_steps(&stdout(&o)).1, 0, "{engine}: {}", stdout(&o));
    }
    // Every entry left names an image still stored.
    for e in std::fs::read_dir(pair().dir.join("hull-root/build-cache")).unwrap() {
        let id = std::fs::read_to_string(e.unwrap().path()).unwrap();
        let o = pair().run("hull", &["image", "inspect", id.trim()]);
        assert!(
            o.status.success(),
            "a cache entry names a removed image {id}"
        );
    }
    // No intermediate is listed, with -a or without (the classic builder shows its own as
    // <none> with -a; hull's are cache as BuildKit's: build_buildkit.rs compares).
    let marks: Vec<String> = std::fs::read_dir(pair().dir.join("hull-root/build-intermediates"))
        .unwrap()
        .flatten()
        .map(|e| format!("sha256:{}", e.file_name().to_string_lossy()))
        .collect();
    assert!(!marks.is_empty());
    for flags in [
        &["images", "-q", "--no-trunc"][..],
        &["images", "-a", "-q", "--no-trunc"],
    ] {
        let listed = pair().ok("hull", flags);
        for m in &marks {
            assert!(!listed.contains(m.as_str()), "{flags:?} lists {m}");
        }
    }
}

#[test]
fn saved_build_loads_into_docker() {
    let _turn = serial();
    let df = format!(
        "FROM {IMAGE}\nRUN echo loud && echo built-by-hull > /msg && rm /bin/ls\nCMD [\"cat\", \"/msg\"]\n"
    );
    let dir = context("save", &[("Dockerfile", df.as_str())]);
    let p = pair();
    let iid = p.dir.join("bt-save.iid");
    let o = build(
        "hull",
        &[
            "-q",
            "--iidfile",
            iid.to_str().unwrap(),
            "-t",
            "bt-save:1",
            dir.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // -q: the id alone, no step lines and no RUN output; --iidfile: the same id.
    assert_eq!(stdout(&o), image_id("hull", "bt-save:1"));
    assert_eq!(std::fs::read_to_string(&iid).unwrap(), stdout(&o));
    let tar = p.dir.join("bt-save.tar");
    let o = p.run("hull", &["save", "-o", tar.to_str().unwrap(), "bt-save:1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = p.run("docker", &["load", "-i", tar.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::remove_file(&tar).unwrap();
    let o = p.run("docker", &["run", "--rm", "bt-save:1"]);
    assert_eq!(stdout(&o), "built-by-hull", "{}", stderr(&o));
    let o = p.run("docker", &["run", "--rm", "bt-save:1", "ls", "/"]);
    assert_eq!(
        o.status.code(),
        Some(127),
        "the whiteout hides /bin/ls in docker too"
    );
}

#[test]
fn bad_input_fails_with_one_line_and_leaves_nothing() {
    let _turn = serial();
    let p = pair();
    let cases: [(&str, String, &str); 5] = [
        (
            "syntax",
            format!("FROM {IMAGE}\n\nFOO bar\n"),
            "Dockerfile:3: FOO: unknown instruction: FOO",
        ),
        (
            "missing",
            format!("FROM {IMAGE}\nCOPY nope.txt /\n"),
            "nope.txt",
        ),
        (
            "outside",
            format!("FROM {IMAGE}\nCOPY ../secret /\n"),
            "forbidden path outside the build context: ../secret",
        ),
        (
            "escape",
            format!("FROM {IMAGE}\nCOPY link /\n"),
            "forbidden path outside the build context: link",
        ),
        (
            "failing",
            format!("FROM {IMAGE}\nRUN echo partial > /p && exit 7\n"),
            "The command '/bin/sh -c echo partial > /p && exit 7' returned a non-zero code: 7",
        ),
    ];
    std::fs::write(p.dir.join("ctx-secret"), "outside\n").unwrap();
    for (name, df, want) in cases {
        let dir = context(&format!("bad-{name}"), &[("Dockerfile", df.as_str())]);
        std::os::unix::fs::symlink(p.dir.join("ctx-secret"), dir.join("link")).unwrap();
        let tag = format!("bt-bad-{name}:1");
        let [od, oh] = ["docker", "hull"].map(|e| build(e, &["-t", &tag, dir.to_str().unwrap()]));
        let want_code = if name == "failing" { 7 } else { 1 };
        assert_eq!(
            oh.status.code(),
            Some(want_code),
            "{name}: hull's exit code"
        );
        assert_eq!(
            od.status.code(),
            oh.status.code(),
            "{name}: docker's exit code: {}",
            stderr(&od)
        );
        let err = stderr(&oh);
        assert_eq!(err.lines().count(), 1, "{name}: one line: {err}");
        assert!(err.contains(want), "{name}: {err:?} should say {want:?}");
        let o = p.run("hull", &["image", "inspect", &tag]);
        assert!(!o.status.success(), "{name}: no image {tag}");
        let o = p.run("hull", &["ps", "-aq"]);
        assert_eq!(stdout(&o), "", "{name}: no container left");
    }
    let left: Vec<_> = std::fs::read_dir(p.dir.join("hull-root/tmp"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "temp files left: {left:?}");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let here = p.dir.join("hull-r").display().to_string();
    assert!(
        !mounts.lines().any(|l| l.contains(&here)),
        "a mount left under {here}"
    );
}
