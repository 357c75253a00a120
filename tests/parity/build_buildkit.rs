//! `hull build` beside BuildKit (`DOCKER_BUILDKIT=1` on the private dockerd of
//! tests/support/docker_pair.rs: Debian's docker.io 20.10 with its built-in Dockerfile
//! frontend; RUN steps with `--network none`: that dockerd has no bridge) on the cases where BuildKit differs from the classic builder (the classic one
//! is compared in build_docker.rs): `RUN --mount` of each type and what its mount points
//! leave in the image, `COPY --chmod`, the platform args BuildKit predefines, ARG/ENV
//! expansion edge cases. Compared: the root filesystems and the configs
//! (hull_e2e::build_compare).
//!
//! Heredocs, `COPY --link` and a `# syntax=` line need a newer frontend than the built-in
//! one, which BuildKit pulls as an image: offline it cannot, so those cases are skipped
//! (with the reason printed) when docker's side fails, and only hull's side is checked.

use hull_e2e::build_compare::{build, context, rootfs, same_build};
use hull_e2e::docker_pair::{stderr, IMAGE};

#[test]
fn run_mounts_and_buildkit_rules_build_the_same_as_buildkit() {
    let dockerfile = format!(
        r#"FROM {IMAGE} AS tools
RUN mkdir /tools && echo tool > /tools/t
FROM {IMAGE} AS unused
RUN exit 3
FROM {IMAGE}
ARG TARGETARCH
ARG TARGETPLATFORM
ARG BUILDPLATFORM
ARG TARGETOS
RUN echo "$TARGETARCH $TARGETPLATFORM $BUILDPLATFORM $TARGETOS" > /platform
RUN --mount=type=cache,target=/cache sh -c 'echo run >> /cache/log; cp /cache/log /cache-log'
RUN --mount=type=cache,id=c2,target=/var/cache/deep/thing,uid=1000,mode=0700 stat -c '%u %a' /var/cache/deep/thing > /cache-owner
RUN --mount=type=bind,target=/ctx cat /ctx/src.txt > /from-ctx
RUN --mount=type=bind,from=tools,source=/tools,target=/mnt/tools cat /mnt/tools/t > /from-stage
RUN --mount=type=bind,source=src.txt,target=/etc/one-file,rw sh -c 'cat /etc/one-file > /one-file && echo more >> /etc/one-file'
RUN --mount=type=tmpfs,target=/scratch sh -c 'echo x > /scratch/x && mkdir -p /tmp/kept'
RUN --mount=type=secret,id=tok sh -c 'wc -c < /run/secrets/tok > /secret-len && stat -c %a /run/secrets/tok > /secret-mode'
RUN --mount=type=secret,id=tok,target=/etc/tok cat /etc/tok > /dev/null
RUN --mount=type=secret,id=absent true
COPY --chmod=0600 src.txt /chmod.txt
COPY --chmod=755 dir/ /chmod-dir/
ENV A=1 B=${{A:-x}}_2
ARG C
ENV D=${{C:+set}}${{C:-unset}} E="$A $B"
ARG F=f-default
ENV G=$F
"#
    );
    let dir = context(
        "bk-mounts",
        &[
            ("Dockerfile", dockerfile.as_str()),
            ("src.txt", "from the context\n"),
            ("dir/a", "a\n"),
            ("dir/sub/b", "b\n"),
            ("tok", "s3cret"),
        ],
    );
    let secret = format!("id=tok,src={}", dir.join("tok").display());
    let mut fails = same_build(
        "1",
        "bk-mounts:1",
        &dir,
        &["--network", "none", "--secret", &secret],
    );
    // A build arg reaches a declared ARG in both.
    fails.extend(same_build(
        "1",
        "bk-mounts:2",
        &dir,
        &[
            "--network",
            "none",
            "--secret",
            &secret,
            "--build-arg",
            "C=c",
            "--build-arg",
            "F=f",
        ],
    ));
    assert!(
        fails.is_empty(),
        "differences from BuildKit:\n{}",
        fails.join("\n")
    );
}

/// Forms the built-in frontend of docker 20.10 lacks: BuildKit would pull
/// docker/dockerfile:1.4 or later for them, which a test cannot do offline.
#[test]
fn newer_frontend_forms_are_compared_when_buildkit_can_build_them() {
    let cases = [
        (
            "heredoc",
            format!(
                "FROM {IMAGE}\nRUN <<EOF\necho one > /one\necho two >> /one\nEOF\nCOPY <<EOF /etc/inline\nhello $HOSTNAME\nEOF\n"
            ),
        ),
        (
            "link",
            format!("FROM {IMAGE}\nCOPY --link src.txt /linked/\n"),
        ),
        (
            "syntax",
            format!("# syntax=docker/dockerfile:1\nFROM {IMAGE}\nCOPY src.txt /s\n"),
        ),
    ];
    for (name, df) in cases {
        let dir = context(
            &format!("bk-{name}"),
            &[("Dockerfile", df.as_str()), ("src.txt", "src\n")],
        );
        let tag = format!("bk-{name}:1");
        let d = dir.to_str().unwrap();
        let od = build("1", "docker", &["--network", "none", "-t", &tag, d]);
        if od.status.success() {
            let fails = same_build("1", &tag, &dir, &["--network", "none"]);
            assert!(fails.is_empty(), "{name}:\n{}", fails.join("\n"));
            continue;
        }
        let why = stderr(&od);
        eprintln!(
            "skipped {name}: BuildKit cannot build it offline: {}",
            why.lines().last().unwrap_or("")
        );
        // hull's side alone: it builds, and the image holds what the Dockerfile wrote.
        let oh = build("1", "hull", &["--network", "none", "-t", &tag, d]);
        assert!(oh.status.success(), "hull {name}: {}", stderr(&oh));
        let fs = rootfs("hull", &tag);
        let want = match name {
            "heredoc" => "one",
            "link" => "linked/src.txt",
            _ => "s",
        };
        assert!(
            fs.contains_key(want),
            "{name}: /{want} missing in hull's image"
        );
    }
}
