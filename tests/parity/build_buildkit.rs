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
//!
//! Also BuildKit's `--progress plain` output (its steps, their state, the `RUN` output
//! lines, a failing step's error) and what `images -a`, `image prune` and `builder prune`
//! show and do after a build.

use std::collections::BTreeMap;

use hull_e2e::build_compare::{build, context, rootfs, same_build};
use hull_e2e::docker_pair::{pair, stderr, stdout, IMAGE};

static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// One test at a time: `builder prune` empties the cache mounts another test relies on.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn run_mounts_and_buildkit_rules_build_the_same_as_buildkit() {
    let _turn = serial();
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
    let _turn = serial();
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

/// A step of BuildKit's plain progress: how it ended and its output lines (times cut).
#[derive(Debug, PartialEq, Eq)]
struct Step {
    state: String,
    output: Vec<String>,
}

/// Reads `--progress plain` output into its steps by name. Every line must be `#N ...`, a
/// blank line, or part of the `------` box after an error; a step's output lines must be
/// `#N SECONDS.MMM TEXT`.
fn plain_steps(text: &str) -> BTreeMap<String, Step> {
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let mut steps = BTreeMap::new();
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if line == "------" || line.starts_with(" > ") {
            continue;
        }
        let Some((num, rest)) = line.strip_prefix('#').and_then(|l| l.split_once(' ')) else {
            // The error line the client prints last.
            continue;
        };
        assert!(num.parse::<u32>().is_ok(), "not a step line: {line:?}");
        let Some(name) = names.get(num).cloned() else {
            // BuildKit names the one FROM step of two stages with the same base after
            // whichever stage reached it first: compared without its stage and number.
            let rest = match rest.split_once("] FROM ") {
                Some((_, image)) => format!("FROM {image}"),
                None => rest.to_string(),
            };
            let rest = rest.as_str();
            names.insert(num.to_string(), rest.to_string());
            steps.entry(rest.to_string()).or_insert(Step {
                state: String::new(),
                output: Vec::new(),
            });
            continue;
        };
        let step = steps.get_mut(&name).expect("named");
        if rest == name || rest.contains("] FROM ") || rest == "..." {
            // BuildKit prints a step again when it updates it, and `...` where another
            // step's lines cut in.
        } else if rest == "CACHED" {
            step.state = "CACHED".into();
        } else if let Some(t) = rest.strip_prefix("DONE ") {
            assert!(
                t.ends_with('s') && t[..t.len() - 1].parse::<f64>().is_ok(),
                "{line:?}"
            );
            step.state = "DONE".into();
        } else if let Some(e) = rest.strip_prefix("ERROR: ") {
            step.state = format!("ERROR: {e}");
        } else if let Some((t, out)) = rest.split_once(' ').filter(|(t, _)| {
            t.split_once('.').is_some_and(|(a, b)| {
                a.parse::<u32>().is_ok() && b.len() == 3 && b.parse::<u32>().is_ok()
            })
        }) {
            let _ = t;
            step.output.push(out.to_string());
        } else if rest.starts_with("sha256:")
            || rest.starts_with("transferring ")
            || rest.starts_with("exporting layers")
            || rest.starts_with("writing image ")
            || rest.starts_with("naming to ")
            || rest.starts_with("resolve ")
        {
            // Details whose values differ (digests, sizes, ids).
        } else {
            panic!("unexpected line {line:?} in:\n{text}");
        }
    }
    steps
}

/// Compares the steps of docker's and hull's plain output: the same steps, each ending the
/// same way with the same output. `FROM` and the `[internal]` steps may say DONE where the
/// other says CACHED (BuildKit itself says either for a base image already present).
fn same_steps(what: &str, docker: &str, hull: &str) -> Vec<String> {
    let (d, h) = (plain_steps(docker), plain_steps(hull));
    let mut fails = Vec::new();
    if d.keys().collect::<Vec<_>>() != h.keys().collect::<Vec<_>>() {
        fails.push(format!(
            "{what}: steps differ:\ndocker {:?}\nhull   {:?}",
            d.keys().collect::<Vec<_>>(),
            h.keys().collect::<Vec<_>>()
        ));
    }
    for (name, ds) in &d {
        let Some(hs) = h.get(name) else { continue };
        let loose = name.starts_with("FROM ") || name.starts_with("[internal]");
        let state_ok = ds.state == hs.state
            || (loose
                && [&ds.state, &hs.state]
                    .iter()
                    .all(|s| *s == "DONE" || *s == "CACHED"));
        // stdout and stderr lines may come in either order.
        let sorted = |v: &Vec<String>| {
            let mut v = v.clone();
            v.sort();
            v
        };
        if !state_ok || sorted(&ds.output) != sorted(&hs.output) {
            fails.push(format!("{what}: {name}: docker {ds:?}, hull {hs:?}"));
        }
    }
    fails
}

#[test]
fn plain_progress_and_images_are_buildkit_s() {
    let _turn = serial();
    let df = format!(
        "FROM {IMAGE} AS base\nRUN echo one && echo two >&2\nFROM {IMAGE}\nWORKDIR /app\nCOPY f /app/f\nENV X=1\nCOPY --from=base /etc/passwd /p\nRUN cat /app/f; echo err >&2\n"
    );
    let dir = context("bk-plain", &[("Dockerfile", df.as_str()), ("f", "hello\n")]);
    let d = dir.to_str().unwrap();
    let args = [
        "--progress",
        "plain",
        "--network",
        "none",
        "-t",
        "bk-plain:1",
        d,
    ];
    let mut fails = Vec::new();
    // Cold (nothing of it cached yet), then warm (every step cached).
    for round in ["cold", "warm"] {
        let [od, oh] = ["docker", "hull"].map(|e| build("1", e, &args));
        assert!(od.status.success(), "docker: {}", stderr(&od));
        assert!(oh.status.success(), "hull: {}", stderr(&oh));
        assert_eq!(stdout(&oh), "", "plain progress goes to stderr");
        fails.extend(same_steps(round, &stderr(&od), &stderr(&oh)));
        let h = plain_steps(&stderr(&oh));
        let run = &h["[stage-1 5/5] RUN cat /app/f; echo err >&2"];
        let want = if round == "cold" { "DONE" } else { "CACHED" };
        assert_eq!(run.state, want, "{round}:\n{}", stderr(&oh));
    }
    // A failing RUN: BuildKit's ERROR line and box, exit code 1 (not the command's).
    let fail = context(
        "bk-plain-fail",
        &[(
            "Dockerfile",
            &format!("FROM {IMAGE}\nRUN echo before; exit 3\n"),
        )],
    );
    let f = fail.to_str().unwrap();
    let [od, oh] =
        ["docker", "hull"].map(|e| build("1", e, &["--progress", "plain", "--network", "none", f]));
    assert_eq!(od.status.code(), Some(1));
    assert_eq!(oh.status.code(), od.status.code(), "{}", stderr(&oh));
    fails.extend(same_steps("failing", &stderr(&od), &stderr(&oh)));
    let last = |o: &std::process::Output| stderr(o).lines().last().unwrap_or("").to_string();
    assert!(
        last(&oh).ends_with(&last(&od)),
        "the error: docker {:?}, hull {:?}",
        last(&od),
        last(&oh)
    );
    assert!(fails.is_empty(), "{}", fails.join("\n"));

    // Intermediates: BuildKit makes none, so `images -a` shows the base and the result only.
    let p = pair();
    let listed = |e: &str| {
        p.ok(
            e,
            &[
                "images",
                "-a",
                "--format",
                "{{.Repository}}:{{.Tag}}",
                "--filter",
                "reference=bk-plain*",
            ],
        )
    };
    assert_eq!(listed("hull"), listed("docker"));
    let marks = std::fs::read_dir(p.dir.join("hull-root/build-intermediates"))
        .expect("hull stored intermediates")
        .flatten()
        .map(|e| format!("sha256:{}", e.file_name().to_string_lossy()))
        .collect::<Vec<_>>();
    assert!(!marks.is_empty(), "the build stored intermediate images");
    let all = p.ok("hull", &["images", "-a", "-q", "--no-trunc"]);
    for m in &marks {
        assert!(
            !all.contains(m.as_str()),
            "intermediate {m} listed by images -a:\n{all}"
        );
    }
    // image prune leaves the build cache: the next build is cached in both.
    for e in ["docker", "hull"] {
        p.ok(e, &["image", "prune", "-f"]);
    }
    let [od, oh] = ["docker", "hull"].map(|e| build("1", e, &args));
    fails.extend(same_steps("after image prune", &stderr(&od), &stderr(&oh)));
    let h = plain_steps(&stderr(&oh));
    assert_eq!(h["[base 2/2] RUN echo one && echo two >&2"].state, "CACHED");
    // builder prune -a empties it: the RUNs run again in both.
    for e in ["docker", "hull"] {
        p.ok(e, &["builder", "prune", "-af"]);
    }
    let [od, oh] = ["docker", "hull"].map(|e| build("1", e, &args));
    fails.extend(same_steps(
        "after builder prune",
        &stderr(&od),
        &stderr(&oh),
    ));
    let h = plain_steps(&stderr(&oh));
    let run = &h["[base 2/2] RUN echo one && echo two >&2"];
    assert_eq!(run.state, "DONE");
    let mut out = run.output.clone();
    out.sort();
    assert_eq!(out, ["one", "two"]);
    assert_eq!(listed("hull"), listed("docker"));
    assert!(fails.is_empty(), "{}", fails.join("\n"));
}

/// The steps of a `--progress plain` build and how each ended (CACHED, DONE), the
/// `[internal]` ones left out.
fn states(o: &std::process::Output) -> BTreeMap<String, String> {
    plain_steps(&stderr(o))
        .into_iter()
        .filter(|(k, _)| !k.starts_with("[internal]") && !k.starts_with("FROM "))
        .map(|(k, v)| (k, v.state))
        .collect()
}

/// `builder prune`'s output: docker's heading and ids, then `Total reclaimed space: SIZE`.
fn prune_shape(out: &str) -> Result<usize, String> {
    let lines: Vec<&str> = out.lines().collect();
    let last = lines.last().copied().unwrap_or("");
    let size = last
        .strip_prefix("Total reclaimed space: ")
        .ok_or(format!("last line {last:?}"))?;
    let unit = size.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
    if !["B", "kB", "MB", "GB"].contains(&unit) || unit.len() == size.len() {
        return Err(format!("size {size:?}"));
    }
    if lines.len() == 1 {
        return Ok(0);
    }
    let ids = &lines[1..lines.len() - 2];
    if lines[0] != "Deleted build cache objects:" || !lines[lines.len() - 2].is_empty() {
        return Err(format!("heading or blank line: {out:?}"));
    }
    for id in ids {
        if id.len() != 25 || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(format!("id {id:?}"));
        }
    }
    Ok(ids.len())
}

#[test]
fn builder_prune_keeps_what_buildkit_keeps() {
    let _turn = serial();
    let p = pair();
    let a = context(
        "bp-a",
        &[
            (
                "Dockerfile",
                &format!("FROM {IMAGE}\nCOPY a /a\nRUN cat /a > /a2\n"),
            ),
            ("a", "a\n"),
        ],
    );
    let b = context(
        "bp-b",
        &[
            (
                "Dockerfile",
                &format!("FROM {IMAGE}\nCOPY b /b\nRUN cat /b > /b2\n"),
            ),
            ("b", "b one\n"),
        ],
    );
    // A stage only copied from: no image is made of it.
    let m = context(
        "bp-m",
        &[(
            "Dockerfile",
            &format!("FROM {IMAGE} AS s1\nRUN echo s > /s\nFROM {IMAGE}\nCOPY --from=s1 /s /s\nRUN cat /s > /s2\n"),
        )],
    );
    // A cache mount: BuildKit's cache mounts are not shared with images.
    let c = context(
        "bp-c",
        &[(
            "Dockerfile",
            &format!("FROM {IMAGE}\nRUN --mount=type=cache,id=bp,target=/c sh -c 'echo x >> /c/n; cp /c/n /n'\n"),
        )],
    );
    let go = |ctx: &std::path::Path, tag: Option<&str>| {
        let mut args = vec!["--progress", "plain", "--network", "none"];
        if let Some(t) = tag {
            args.extend(["-t", t]);
        }
        args.push(ctx.to_str().unwrap());
        ["docker", "hull"].map(|e| {
            let o = build("1", e, &args);
            assert!(o.status.success(), "{e}: {}", stderr(&o));
            o
        })
    };
    let mut fails = Vec::new();
    let mut compare = |what: &str, [od, oh]: [std::process::Output; 2]| {
        let (d, h) = (states(&od), states(&oh));
        if d != h {
            fails.push(format!("{what}: docker {d:?}\n  hull {h:?}"));
        }
        h
    };
    let b_old =
        |on: bool| std::fs::write(b.join("b"), if on { "b one\n" } else { "b two\n" }).unwrap();
    compare("a", go(&a, Some("bp-a:1")));
    compare("b", go(&b, Some("bp-b:1")));
    // The tag moves to another image: the first one is dangling, still an image.
    b_old(false);
    compare("b moved", go(&b, Some("bp-b:1")));
    compare("m", go(&m, Some("bp-m:1")));
    compare("c", go(&c, Some("bp-c:1")));

    // Without -a: what an image's chain shares stays (the dangling image's too).
    for e in ["docker", "hull"] {
        let out = p.ok(e, &["builder", "prune", "-f"]);
        let n = prune_shape(&out).unwrap_or_else(|err| panic!("{e}: {err}\n{out}"));
        assert!(n > 0, "{e} removed nothing:\n{out}");
    }
    let h = compare("a after prune", go(&a, None));
    assert_eq!(h["[3/3] RUN cat /a > /a2"], "CACHED", "{h:?}");
    compare("b (moved) after prune", go(&b, None));
    b_old(true);
    let h = compare("b (dangling) after prune", go(&b, None));
    assert_eq!(h["[3/3] RUN cat /b > /b2"], "CACHED", "{h:?}");
    let h = compare("m after prune", go(&m, None));
    assert_eq!(h["[s1 2/2] RUN echo s > /s"], "CACHED", "{h:?}");
    compare("c after prune", go(&c, None));
    // The cache mount is gone in both: a rebuild without cache starts it again.
    let [od, oh] = ["docker", "hull"].map(|e| {
        build(
            "1",
            e,
            &[
                "--no-cache",
                "--network",
                "none",
                "-t",
                "bp-c:2",
                c.to_str().unwrap(),
            ],
        )
    });
    assert!(od.status.success() && oh.status.success());
    let n = ["docker", "hull"].map(|e| {
        p.ok(
            e,
            &["run", "--rm", "--network", "none", "bp-c:2", "cat", "/n"],
        )
    });
    assert_eq!(n[1], n[0], "the cache mount after builder prune");
    assert_eq!(n[1].trim(), "x");

    // Once image prune removes the dangling image, its cache is dangling too.
    for e in ["docker", "hull"] {
        p.ok(e, &["image", "prune", "-f"]);
        prune_shape(&p.ok(e, &["builder", "prune", "-f"])).unwrap();
    }
    let h = compare("b (image pruned) after prune", go(&b, None));
    assert_eq!(h["[3/3] RUN cat /b > /b2"], "DONE", "{h:?}");

    // With -a: all of it, the tagged images' too.
    for e in ["docker", "hull"] {
        let out = p.ok(e, &["builder", "prune", "-af"]);
        prune_shape(&out).unwrap_or_else(|err| panic!("{e}: {err}\n{out}"));
    }
    let h = compare("a after prune -a", go(&a, None));
    assert_eq!(h["[3/3] RUN cat /a > /a2"], "DONE", "{h:?}");
    // Nothing left to remove: no ids, 0B.
    for e in ["docker", "hull"] {
        p.ok(e, &["builder", "prune", "-af"]);
        let out = p.ok(e, &["builder", "prune", "-af"]);
        assert_eq!(out.trim(), "Total reclaimed space: 0B", "{e}");
    }
    assert!(
        fails.is_empty(),
        "differences from BuildKit:\n{}",
        fails.join("\n")
    );
}
