//! The verbs docker users script, run against a private dockerd and hull side by side (see
//! docker_pair/mod.rs): commit, diff, export, history, system df, the management-command
//! forms (`container ...`, `image ...`), `logs --since/--until/--details`, `ps -n/-l/-s` and
//! `ps --no-trunc`. Each step compares what a script reads: exit codes, `--format` output,
//! diff lines, an exported tar's file list, history columns, a committed image's config.

use std::collections::BTreeSet;

use hull_e2e::docker_pair::{stdout, Parity, ENGINES, IMAGE};

/// What docker's hidden init layer adds to an exported container (daemon/initlayer); hull
/// has no init layer, so these are the only names the two exports may differ by.
const INIT_LAYER: &[&str] = &[
    ".dockerenv",
    "dev/console",
    "dev/pts/",
    "dev/shm/",
    "etc/hostname",
    "etc/hosts",
    "etc/mtab",
    "etc/resolv.conf",
];

/// The names in a tar file, as `tar tf` lists them.
fn tar_names(path: &str) -> BTreeSet<String> {
    let o = std::process::Command::new("tar")
        .args(["tf", path])
        .output()
        .unwrap();
    assert!(o.status.success(), "tar tf {path}");
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(String::from)
        .collect()
}

/// One test: the steps read the engines' latest containers (`ps -l`) and their image and
/// container counts (`system df`), which a test running beside them would change.
#[test]
fn verbs_match_docker() {
    let mut t = Parity::new();
    verbs(&mut t);
    logs(&mut t);
    events(&mut t);
    more_events(&mut t);
    login(&mut t);
    t.done();
}

fn verbs(t: &mut Parity) {
    let run = [
        "run",
        "--name",
        "v-c",
        IMAGE,
        "sh",
        "-c",
        "echo hi > /root/x; mkdir /srv; rm /bin/ls; echo a; echo b >&2",
    ];
    t.same(&run);

    // diff: docker's A/C/D lines, in its order.
    // docker's order varies from run to run (its change tree is a Go map): compared sorted.
    let sorted = |s: &str| s.lines().map(String::from).collect::<BTreeSet<_>>();
    let [dd, hd] = t.ok(&["diff", "v-c"]);
    t.check("diff lines", sorted(&hd), sorted(&dd));
    t.check(
        "diff lines",
        sorted(&hd),
        sorted("C /bin\nD /bin/ls\nC /root\nA /root/x\nA /srv"),
    );
    let [dd, hd] = t.ok(&["container", "diff", "v-c"]);
    t.check("container diff lines", sorted(&hd), sorted(&dd));
    t.same_code(&["diff", "v-missing"]);

    // export: the same files, but for docker's init layer.
    t.ok(&["export", "-o", "{dir}/{e}.tar", "v-c"]);
    let [d, h] = ENGINES.map(|e| tar_names(&format!("{}/{e}.tar", t.p.dir.display())));
    let only_docker: Vec<&String> = d
        .difference(&h)
        .filter(|n| !INIT_LAYER.contains(&n.as_str()))
        .collect();
    let only_hull: Vec<&String> = h.difference(&d).collect();
    t.check(
        "export: names only one has",
        (only_hull, only_docker),
        (vec![], vec![]),
    );
    t.check("export has the new file", h.contains("root/x"), true);
    t.check("export lacks the removed one", h.contains("bin/ls"), false);

    // commit with changes, author and message: the new image runs its new CMD and has the
    // container's config with the changes applied.
    t.ok(&[
        "commit",
        "-c",
        r#"CMD ["cat", "/root/x"]"#,
        "-c",
        "ENV A=1",
        "-c",
        "WORKDIR /srv",
        "-c",
        "EXPOSE 8080",
        "-m",
        "msg",
        "-a",
        "me",
        "v-c",
        "vimg:1",
    ]);
    t.same(&["run", "--rm", "vimg:1"]);
    t.same(&["run", "--rm", "vimg:1", "pwd"]);
    t.same(&[
        "image",
        "inspect",
        "--format",
        "{{json .Config.Cmd}} {{json .Config.Env}} {{.Config.WorkingDir}} {{json .Config.ExposedPorts}} {{json .Config.Entrypoint}} {{.Author}} {{len .RootFS.Layers}} {{.Os}}",
        "vimg:1",
    ]);
    // A commit with no changes adds no layer (docker's empty_layer).
    t.same(&["run", "--name", "v-same", "vimg:1", "true"]);
    t.ok(&["commit", "v-same", "vimg:2"]);
    t.same(&[
        "image",
        "inspect",
        "--format",
        "{{len .RootFS.Layers}}",
        "vimg:2",
    ]);
    t.same(&["rm", "v-same"]);

    // history: the columns a script reads, truncated and not; the parent is known.
    for args in [
        vec![
            "history",
            "--format",
            "{{.CreatedBy}}|{{.Size}}|{{.Comment}}",
            "vimg:1",
        ],
        vec![
            "image",
            "history",
            "--no-trunc",
            "--format",
            "{{.CreatedBy}}|{{.Comment}}",
            "vimg:2",
        ],
        vec!["history", "-q", "vimg:2"],
        vec!["history", "--format", "{{.ID}}", "vimg:1"],
    ] {
        t.same(&args);
    }
    let [dh, hh] = t.ok(&["history", "vimg:1"]);
    let head = |s: &str| {
        s.lines()
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    t.check("history header", head(&hh), head(&dh));
    t.same_code(&["history", "v-nosuch:1"]);
    t.same_code(&["commit", "v-missing"]);

    // ps: -n, -l, -s, --no-trunc's whole command, the management form.
    t.same(&["run", "-d", "--name", "v-up", IMAGE, "sleep", "1000"]);
    t.same(&["ps", "-n", "1", "--format", "{{.Names}}"]);
    t.same(&["ps", "-l", "--format", "{{.Names}} {{.Command}}"]);
    t.same(&["ps", "-n", "2", "--format", "{{.Names}}"]);
    t.same(&[
        "ps",
        "-a",
        "--no-trunc",
        "--filter",
        "name=v-c",
        "--format",
        "{{.Command}}",
    ]);
    t.same(&[
        "ps",
        "-a",
        "--filter",
        "name=v-c",
        "--format",
        "{{.Command}}",
    ]);
    t.same(&[
        "ps",
        "-s",
        "-a",
        "--filter",
        "name=v-c",
        "--format",
        "{{.Size}}",
    ]);
    let [dp, hp] = t.ok(&["ps", "-s", "-n", "1"]);
    t.check("ps -s header", head(&hp), head(&dp));
    t.same(&[
        "container",
        "ls",
        "-a",
        "--filter",
        "name=v-c",
        "--format",
        "{{.Names}} {{.State}} {{.Image}}",
    ]);
    t.same(&[
        "container",
        "inspect",
        "--format",
        "{{.State.Status}}",
        "v-up",
    ]);
    t.same(&[
        "image",
        "ls",
        "--format",
        "{{.Repository}}:{{.Tag}}",
        "vimg",
    ]);

    // system df: the columns, and what each engine counts of the same objects.
    let [dd, hd] = t.ok(&["system", "df"]);
    t.check("system df header", head(&hd), head(&dd));
    t.same(&[
        "system",
        "df",
        "--format",
        "{{.Type}} {{.TotalCount}} {{.Active}}",
    ]);
    let [dv, hv] = t.ok(&["system", "df", "-v"]);
    let titles = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| l.ends_with(':') || l.starts_with("Build cache"))
            .map(String::from)
            .collect()
    };
    t.check("system df -v sections", titles(&hv), titles(&dv));

    t.same(&["container", "stop", "-t", "0", "v-up"]);
    t.same(&["container", "rm", "v-up", "v-c"]);
    t.ok(&["image", "rm", "vimg:2", "vimg:1"]);
}

/// `logs --since/--until` by each engine's own entry times (from `logs -t`), `--details`,
/// and the time forms docker accepts and refuses.
fn logs(t: &mut Parity) {
    let script = "for i in 1 2 3 4 5 6; do echo line$i; done";
    t.same(&["run", "--name", "v-l", IMAGE, "sh", "-c", script]);
    t.same(&["logs", "--details", "v-l"]);
    t.same(&["logs", "--since", "1h", "v-l"]);
    t.same(&["logs", "--until", "2000-01-01T00:00:00Z", "v-l"]);
    t.same(&[
        "logs",
        "--since",
        "2000-01-01",
        "--until",
        "2100-01-01T00:00:00Z",
        "v-l",
    ]);
    t.same(&["logs", "--since", "946684800.5", "--tail", "2", "v-l"]);
    t.same_code(&["logs", "--since", "yesterday", "v-l"]);
    for e in ENGINES {
        let stamped = stdout(&t.p.run(e, &["logs", "-t", "v-l"]));
        let entries: Vec<(&str, &str)> =
            stamped.lines().filter_map(|l| l.split_once(' ')).collect();
        t.check(&format!("{e}: six entries"), entries.len(), 6);
        if entries.len() != 6 {
            continue;
        }
        // Entries at or after the third's time; at or before the fourth's.
        let (since, until) = (entries[2].0, entries[3].0);
        let want_since: Vec<&str> = entries
            .iter()
            .filter(|x| x.0 >= since)
            .map(|x| x.1)
            .collect();
        let want_until: Vec<&str> = entries
            .iter()
            .filter(|x| x.0 <= until)
            .map(|x| x.1)
            .collect();
        let got = stdout(&t.p.run(e, &["logs", "--since", since, "v-l"]));
        t.check(
            &format!("{e}: logs --since {since}"),
            got.lines().collect::<Vec<_>>(),
            want_since,
        );
        let got = stdout(&t.p.run(e, &["logs", "--until", until, "v-l"]));
        t.check(
            &format!("{e}: logs --until {until}"),
            got.lines().collect::<Vec<_>>(),
            want_until,
        );
    }
    t.same(&["container", "logs", "--tail", "1", "v-l"]);
    t.same(&["rm", "v-l"]);
}

/// The events a run, a stop, a removal and a tag write, from each engine's own window (from
/// the first container's creation to now); filters by type, event, container and label.
fn events(t: &mut Parity) {
    t.same(&[
        "run", "--name", "v-ev", "-l", "a=b", IMAGE, "sh", "-c", "exit 3",
    ]);
    let since =
        ENGINES.map(|e| stdout(&t.p.run(e, &["inspect", "--format", "{{.Created}}", "v-ev"])));
    t.same(&["run", "-d", "--name", "v-ev2", IMAGE, "sleep", "1000"]);
    t.same(&["stop", "-t", "1", "v-ev2"]);
    // One at a time: docker's client removes several at once, in any order.
    t.same(&["rm", "v-ev"]);
    t.same(&["rm", "v-ev2"]);
    t.same(&["tag", IMAGE, "v-tagged:1"]);
    t.ok(&["rmi", "v-tagged:1"]);
    // The window ends where a marker container was made: a time, not a duration (docker's
    // `--until 0s` is the current whole second, which would cut by timing).
    t.same(&["create", "--name", "v-mark", IMAGE]);
    let until =
        ENGINES.map(|e| stdout(&t.p.run(e, &["inspect", "--format", "{{.Created}}", "v-mark"])));
    t.same(&["rm", "v-mark"]);
    // docker's foreground run also attaches, and its networks connect: not compared here.
    let mut window: Vec<String> = Vec::new();
    for a in ["create", "start", "kill", "die", "stop", "destroy", "tag"] {
        window.extend(["--filter".into(), format!("event={a}")]);
    }
    let mut got = ENGINES
        .iter()
        .zip(since.iter().zip(&until))
        .map(|(e, (since, until))| {
            let query = |extra: &[&str], fmt: &str| {
                let mut v: Vec<&str> = vec!["events", "--since", since, "--until", until];
                v.extend(window.iter().map(String::as_str));
                v.extend(extra);
                v.extend(["--format", fmt]);
                stdout(&t.p.run(e, &v))
            };
            [
                query(&[], "{{.Type}} {{.Action}} {{json .Actor.Attributes}}"),
                query(&["--filter", "container=v-ev"], "{{.Action}}"),
                query(
                    &["--filter", "label=a=b", "--filter", "type=container"],
                    "{{.Action}}",
                ),
                query(
                    &["--filter", "type=image"],
                    "{{.Action}} {{.Actor.Attributes.name}}",
                ),
            ]
        });
    let (docker, hull) = (got.next().unwrap(), got.next().unwrap());
    t.check("events: queries", hull, docker);
    t.same_code(&["events", "--since", "yesterday"]);
    t.same_code(&["events", "--filter", "nosuchkey=1", "--until", "2000-01-01"]);
}

/// The events of the other verbs that write one: top, update, rename, restart, cp both
/// ways, export, commit (container); untag, delete, save, load, import (image); network
/// create and destroy. Each event is compared by type, action and attributes, image ids
/// (which differ between the engines) read as `ID`.
fn more_events(t: &mut Parity) {
    t.same(&["create", "--name", "v-ev3", IMAGE, "sleep", "1000"]);
    let since =
        ENGINES.map(|e| stdout(&t.p.run(e, &["inspect", "--format", "{{.Created}}", "v-ev3"])));
    t.same(&["start", "v-ev3"]);
    t.ok(&["top", "v-ev3"]);
    t.ok(&["update", "--cpu-shares", "512", "v-ev3"]);
    t.same(&["rename", "v-ev3", "v-ev4"]);
    t.same(&["restart", "-t", "1", "v-ev4"]);
    t.same(&["cp", "v-ev4:/etc/passwd", "{dir}/{e}-passwd"]);
    t.same(&["cp", "{dir}/{e}-passwd", "v-ev4:/tmp/"]);
    t.same(&["export", "-o", "{dir}/{e}-ev.tar", "v-ev4"]);
    t.ok(&["commit", "-m", "a note", "v-ev4", "v-committed:1"]);
    t.same(&["rm", "-f", "v-ev4"]);
    t.same(&["tag", IMAGE, "v-t2:1"]);
    t.ok(&["rmi", "v-t2:1"]);
    t.ok(&["rmi", "v-committed:1"]);
    t.same(&["save", "-o", "{dir}/{e}-save.tar", IMAGE]);
    t.ok(&["load", "-i", "{dir}/{e}-save.tar"]);
    t.ok(&["import", "{dir}/{e}-ev.tar", "v-imp:1"]);
    t.ok(&["rmi", "v-imp:1"]);
    t.ok(&["network", "create", "v-evnet"]);
    t.ok(&["network", "rm", "v-evnet"]);
    t.same(&["create", "--name", "v-mark2", IMAGE]);
    let until =
        ENGINES.map(|e| stdout(&t.p.run(e, &["inspect", "--format", "{{.Created}}", "v-mark2"])));
    t.same(&["rm", "v-mark2"]);

    let queries: [(&str, &[&str]); 3] = [
        (
            "container",
            &[
                "top",
                "update",
                "rename",
                "restart",
                "archive-path",
                "extract-to-dir",
                "export",
                "commit",
            ],
        ),
        ("image", &["untag", "delete", "save", "load", "import"]),
        ("network", &["create", "destroy"]),
    ];
    // An event's type, action and attributes, with image ids as `ID`.
    let shape = |line: &str| -> String {
        let (head, attrs) = line.split_once(' ').unwrap_or((line, ""));
        let (action, attrs) = attrs.split_once(' ').unwrap_or((attrs, "{}"));
        let attrs: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(attrs).unwrap_or_default();
        let attrs: Vec<String> = attrs
            .iter()
            .map(|(k, v)| {
                let v = v.as_str().unwrap_or_default();
                let v = if v.starts_with("sha256:") { "ID" } else { v };
                format!("{k}={v}")
            })
            .collect();
        format!("{head} {action} {}", attrs.join(","))
    };
    for (typ, actions) in queries {
        let got = ENGINES
            .iter()
            .zip(since.iter().zip(&until))
            .map(|(e, (since, until))| {
                let mut v: Vec<&str> = vec!["events", "--since", since, "--until", until];
                let typ_filter = format!("type={typ}");
                let filters: Vec<String> = actions.iter().map(|a| format!("event={a}")).collect();
                v.extend(["--filter", &typ_filter]);
                for f in &filters {
                    v.extend(["--filter", f]);
                }
                v.extend([
                    "--format",
                    "{{.Type}} {{.Action}} {{json .Actor.Attributes}}",
                ]);
                stdout(&t.p.run(e, &v))
                    .lines()
                    .map(shape)
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<_>>();
        t.check(&format!("events of type {typ}"), &got[1], &got[0]);
    }
}

/// `login`/`logout` against a registry with htpasswd auth; docker and hull share one
/// DOCKER_CONFIG here, so each pulls with the credentials the other stored.
fn login(t: &mut Parity) {
    let dir = t.p.dir.join("registry");
    std::fs::create_dir_all(&dir).unwrap();
    let hash = std::process::Command::new("python3")
        .args(["-W", "ignore", "-c"])
        .arg("import crypt; print(crypt.crypt('secret', crypt.mksalt(crypt.METHOD_BLOWFISH)))")
        .output()
        .unwrap();
    let htpasswd = dir.join("htpasswd");
    std::fs::write(
        &htpasswd,
        format!("pusher:{}", String::from_utf8_lossy(&hash.stdout)),
    )
    .unwrap();
    let auth = format!(
        "auth:\n  htpasswd:\n    realm: hull\n    path: {}\n",
        htpasswd.display()
    );
    let reg = hull_e2e::registry::Registry::start(&dir, &auth);
    let host = format!("127.0.0.1:{}", reg.port);
    let name = reg.name("verbs/app:1");
    t.same_code(&["login", "-u", "pusher", "-p", "wrong", &host]);
    t.same(&["logout", &host]);
    // docker logs in and pushes; hull pulls with what docker stored.
    let docker = |args: &[&str]| t.p.run("docker", args);
    for args in [
        vec!["login", "-u", "pusher", "-p", "secret", &host],
        vec!["tag", IMAGE, &name],
        vec!["push", &name],
    ] {
        let o = docker(&args);
        assert!(
            o.status.success(),
            "docker {args:?}: {}",
            hull_e2e::client_support::out_text(&o)
        );
    }
    let pulled = t.p.run("hull", &["pull", &name]);
    t.check(
        "hull pull with docker's login",
        pulled.status.code(),
        Some(0),
    );
    t.same(&["logout", &host]);
    let refused = t.p.run("hull", &["pull", &name]);
    t.check(
        "hull pull after logout refused",
        refused.status.success(),
        false,
    );
    // hull logs in; docker pulls with what hull stored, in docker's format.
    t.ok(&["rmi", &name]);
    let o =
        t.p.run("hull", &["login", "-u", "pusher", "-p", "secret", &host]);
    t.check("hull login", stdout(&o), "Login Succeeded".to_string());
    let cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(t.p.dir.join("client/config.json")).unwrap())
            .unwrap();
    t.check(
        "config.json auth",
        cfg["auths"][&host]["auth"].as_str(),
        Some("cHVzaGVyOnNlY3JldA=="),
    );
    t.check(
        "docker pull with hull's login",
        docker(&["pull", "-q", &name]).status.code(),
        Some(0),
    );
    // hull pushes a committed image (a layer of its own on the loaded one); docker pulls
    // and runs it.
    let pushed = reg.name("verbs/pushed:1");
    let ran = t.p.run(
        "hull",
        &[
            "run",
            "--name",
            "v-push",
            IMAGE,
            "sh",
            "-c",
            "echo pushed > /p",
        ],
    );
    t.check("hull run", ran.status.code(), Some(0));
    let o = t.p.run("hull", &["commit", "v-push", &pushed]);
    t.check("hull commit", o.status.code(), Some(0));
    let o = t.p.run("hull", &["push", &pushed]);
    t.check(
        "hull push",
        (o.status.code(), stdout(&o).lines().count()),
        (Some(0), 4),
    );
    let o = t.p.run("hull", &["push", &pushed]);
    t.check(
        "hull push again: layers exist",
        stdout(&o).matches("Layer already exists").count(),
        2,
    );
    let o = docker(&["run", "--rm", &pushed, "cat", "/p"]);
    t.check(
        "docker runs hull's push",
        (o.status.code(), stdout(&o)),
        (Some(0), "pushed".into()),
    );
    let _ = t.p.run("hull", &["rm", "v-push"]);
    let _ = t.p.run("hull", &["rmi", &pushed]);
    let _ = docker(&["rmi", &pushed]);
    t.same(&["logout", &host]);
    t.same(&["logout", &host]);
    let o = docker(&["rmi", &name]);
    t.check("docker rmi", o.status.code(), Some(0));
}
