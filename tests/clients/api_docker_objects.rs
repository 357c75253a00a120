//! `hull system service`'s image, build, network and volume endpoints driven by the real
//! docker CLIs: docker 28 (`/usr/local/bin/docker`) and Debian's 20.10 (`/usr/bin/docker`,
//! API 1.41), both against one service for the whole file (tests/support/api_service.rs).
//!
//! What is checked is what a container sees: an image pushed to a private registry and
//! pulled back runs; a built image's RUN, COPY and ARG show in what it prints; a container
//! on a network has an address in its subnet and reaches another by an alias given at
//! connect; a file written into a volume is read by the next container.

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use hull_e2e::api_service::{ok_output, text, Service};
use hull_e2e::client_support::on_exit;
use hull_e2e::registry::Registry;

static SERVICE: OnceLock<Service> = OnceLock::new();

fn service() -> &'static Service {
    SERVICE.get_or_init(|| {
        let s = Service::start();
        on_exit(|| SERVICE.get().map(Service::teardown).unwrap_or_default());
        // busybox is seeded into the store by its first run.
        ok_output(s.client(DOCKER28, &["run", "--rm", "busybox", "true"]));
        s
    })
}

const DOCKER28: &str = "/usr/local/bin/docker";
const DOCKER20: &str = "/usr/bin/docker";

/// The clients installed here (docker 28 is not a Debian package: it may be missing).
fn clients() -> Vec<&'static str> {
    let found: Vec<_> = [DOCKER28, DOCKER20]
        .into_iter()
        .filter(|b| Path::new(b).exists())
        .collect();
    assert!(!found.is_empty(), "no docker CLI installed");
    found
}

fn docker(bin: &str, args: &[&str]) -> Command {
    service().client(bin, args)
}

fn ok(bin: &str, args: &[&str]) -> String {
    ok_output(docker(bin, args))
}

/// A command that must fail with docker's exit code 1; its stderr.
fn fails(bin: &str, args: &[&str]) -> String {
    let o = docker(bin, args).output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{bin} {args:?} should fail: {}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    text(&o.stderr)
}

fn short(bin: &str) -> &'static str {
    if bin == DOCKER28 {
        "d28"
    } else {
        "d20"
    }
}

#[test]
fn images_go_through_a_registry_an_archive_and_back_and_run() {
    let s = service();
    let reg = Registry::start(s.dir.path(), "");
    let busybox_id = ok(DOCKER28, &["image", "inspect", "-f", "{{.Id}}", "busybox"]);
    for bin in clients() {
        let name = reg.name(&format!("apib-{}", short(bin)));
        let tagged = format!("{name}:1");
        ok(bin, &["tag", "busybox", &tagged]);
        let listed = ok(
            bin,
            &["images", "--format", "{{.Repository}}:{{.Tag}}", &name],
        );
        assert_eq!(listed.trim(), tagged, "images REF filters by reference");
        let pushed = ok(bin, &["push", &tagged]);
        assert!(pushed.contains("1: digest: sha256:"), "{pushed}");
        let untagged = ok(bin, &["rmi", &tagged]);
        assert_eq!(untagged.trim(), format!("Untagged: {tagged}"));
        fails(bin, &["image", "inspect", &tagged]);

        let pulled = ok(bin, &["pull", &tagged]);
        assert!(pulled.contains("Digest: sha256:"), "{pulled}");
        assert!(pulled.contains(&format!("for {tagged}")), "{pulled}");
        let id = ok(bin, &["image", "inspect", "-f", "{{.Id}}", &tagged]);
        assert_eq!(id, busybox_id, "the pulled image is the pushed one");
        let said = ok(bin, &["run", "--rm", &tagged, "echo", "from-the-registry"]);
        assert_eq!(said, "from-the-registry\n");
        let history = ok(bin, &["history", "--format", "{{.ID}}", &tagged]);
        assert!(!history.trim().is_empty());

        // save, rmi, load: the archive holds the image and its name.
        let archive = s.dir.path().join(format!("{}.tar", short(bin)));
        ok(bin, &["save", "-o", &archive.to_string_lossy(), &tagged]);
        ok(bin, &["rmi", &tagged]);
        let loaded = ok(bin, &["load", "-i", &archive.to_string_lossy()]);
        assert!(
            loaded.contains(&format!("Loaded image: {tagged}")),
            "{loaded}"
        );
        let said = ok(bin, &["run", "--rm", &tagged, "echo", "from-the-archive"]);
        assert_eq!(said, "from-the-archive\n");
        ok(bin, &["rmi", &tagged]);
        std::fs::remove_file(&archive).unwrap();

        // docker's answers for what is not there.
        let e = fails(bin, &["rmi", &format!("{name}:missing")]);
        assert!(e.contains("No such image"), "{e}");
        let e = fails(bin, &["pull", &format!("{name}:missing")]);
        assert!(e.contains("missing"), "{e}");
    }
}

/// A tar of `files` (name, content).
fn tar_of(files: &[(&str, &str)]) -> Vec<u8> {
    let entries: Vec<_> = files
        .iter()
        .map(|(n, d)| hull_e2e::image::file(n, d.as_bytes()))
        .collect();
    hull_e2e::image::raw_tar(&entries)
}

fn build(bin: &str, args: &[&str], context: &[u8]) -> std::process::Output {
    let mut c = docker(bin, args);
    c.env("DOCKER_BUILDKIT", "0");
    hull_e2e::client_support::output_with_stdin(&mut c, context)
}

#[test]
fn build_takes_a_tar_context_args_target_and_labels() {
    let context = tar_of(&[
        (
            "build/Dockerfile.test",
            "FROM busybox AS base\nARG WHO=nobody\nCOPY greeting /greeting\n\
             RUN echo \"built for $WHO\" > /who\n\
             FROM base AS final\nCMD cat /greeting /who\n\
             FROM final AS unused\nRUN exit 9\n",
        ),
        ("greeting", "hello from the context\n"),
    ]);
    for bin in clients() {
        let tag = format!("apib-built-{}:1", short(bin));
        let o = build(
            bin,
            &[
                "build",
                "-t",
                &tag,
                "-f",
                "build/Dockerfile.test",
                "--build-arg",
                "WHO=the-test",
                "--target",
                "final",
                "--label",
                "made.by=apib",
                "-",
            ],
            &context,
        );
        assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
        assert!(
            text(&o.stdout).contains(&format!("Successfully tagged {tag}")),
            "{}",
            text(&o.stdout)
        );
        let said = ok(bin, &["run", "--rm", &tag]);
        assert_eq!(said, "hello from the context\nbuilt for the-test\n");
        let label = ok(bin, &["image", "inspect", "-f", "{{.Config.Labels}}", &tag]);
        assert_eq!(label.trim(), "map[made.by:apib]");

        // A failing RUN: its own exit code, docker's line, no image.
        let bad = tar_of(&[("Dockerfile", "FROM busybox\nRUN exit 3\n")]);
        let o = build(bin, &["build", "-t", "apib-bad:1", "-"], &bad);
        assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
        assert!(
            text(&o.stderr).contains("returned a non-zero code: 3"),
            "{}",
            text(&o.stderr)
        );
        fails(bin, &["image", "inspect", "apib-bad:1"]);
        ok(bin, &["rmi", &tag]);
    }
}

/// A client that goes away mid-build cancels it, as dockerd's build ends with its request:
/// the `RUN` under way is killed and its container removed, and no later step runs.
#[test]
fn a_build_whose_client_hangs_up_is_cancelled() {
    let s = service();
    let context = tar_of(&[("Dockerfile", "FROM busybox\nRUN sleep 47\nRUN echo never\n")]);
    let mut c = docker(clients()[0], &["build", "-t", "apib-cancel:1", "-"]);
    c.env("DOCKER_BUILDKIT", "0")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut client = c.spawn().unwrap();
    {
        use std::io::Write;
        let mut i = client.stdin.take().unwrap();
        i.write_all(&context).unwrap();
    }
    // The RUN's container, by its command.
    let run_ids = || -> Vec<String> {
        let o = s.hull(&["ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Command}}"]);
        text(&o.stdout)
            .lines()
            .filter(|l| l.contains("sleep 47"))
            .map(|l| l.split(' ').next().unwrap_or("").to_string())
            .collect()
    };
    let mut ids = Vec::new();
    hull_e2e::client_support::wait_until(
        "the build's RUN to start",
        std::time::Duration::from_secs(60),
        || {
            ids = run_ids();
            !ids.is_empty()
        },
    );
    let pid = text(
        &s.hull(&["inspect", "--format", "{{.State.Pid}}", &ids[0]])
            .stdout,
    )
    .trim()
    .to_string();
    client.kill().unwrap();
    client.wait().unwrap();
    // Well before the 47 s the command would take: killed, removed, nothing built.
    hull_e2e::client_support::wait_until(
        "the RUN's container to go",
        std::time::Duration::from_secs(15),
        || run_ids().is_empty(),
    );
    assert!(
        pid.parse::<u32>()
            .is_ok_and(|p| !Path::new(&format!("/proc/{p}")).exists()),
        "the RUN's process {pid:?} still runs"
    );
    let o = s.hull(&["ps", "-a", "--no-trunc", "--format", "{{.Command}}"]);
    assert!(
        !text(&o.stdout).contains("echo never"),
        "{}",
        text(&o.stdout)
    );
    let o = s.hull(&["image", "inspect", "apib-cancel:1"]);
    assert!(!o.status.success(), "the cancelled build tagged its image");
}

/// The IPv4 addresses `ip -4 -o addr` printed, without the loopback.
fn addresses(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.split_whitespace().nth(3))
        .filter(|a| !a.starts_with("127."))
        .map(|a| a.split('/').next().unwrap().to_string())
        .collect()
}

/// Whether `ip` is in `cidr` (a.b.c.d/n).
fn in_subnet(ip: &str, cidr: &str) -> bool {
    let (net, bits) = cidr.split_once('/').unwrap();
    let bits: u32 = bits.parse().unwrap();
    let a: std::net::Ipv4Addr = ip.parse().unwrap();
    let n: std::net::Ipv4Addr = net.parse().unwrap();
    let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
    u32::from(a) & mask == u32::from(n) & mask
}

#[test]
fn networks_create_connect_resolve_aliases_and_go() {
    for bin in clients() {
        let net = hull_e2e::unique_id(&format!("apib-net-{}", short(bin)));
        let c = hull_e2e::unique_id(&format!("apib-c-{}", short(bin)));
        ok(bin, &["network", "create", "--label", "k=v", &net]);
        let ls = ok(
            bin,
            &["network", "ls", "--format", "{{.Name}}", "-f", "label=k=v"],
        );
        assert!(ls.lines().any(|l| l == net), "{ls}");
        let subnet = ok(
            bin,
            &[
                "network",
                "inspect",
                "-f",
                "{{range .IPAM.Config}}{{.Subnet}}{{end}}",
                &net,
            ],
        );
        let subnet = subnet.trim();

        // Created on the default network, connected before its start with an alias:
        // it starts on both, and another container finds it by the alias.
        ok(
            bin,
            &[
                "create",
                "--name",
                &c,
                "busybox",
                "sh",
                "-c",
                "ip -4 -o addr; sleep 60",
            ],
        );
        ok(
            bin,
            &["network", "connect", "--alias", "the-alias", &net, &c],
        );
        ok(bin, &["start", &c]);
        let mut seen = String::new();
        hull_e2e::client_support::wait_until(
            "the container's addresses",
            std::time::Duration::from_secs(20),
            || {
                seen = ok(bin, &["logs", &c]);
                addresses(&seen).len() == 2
            },
        );
        let addrs = addresses(&seen);
        let on_net: Vec<_> = addrs.iter().filter(|a| in_subnet(a, subnet)).collect();
        assert_eq!(on_net.len(), 1, "{seen} against {subnet}");
        let looked_up = ok(
            bin,
            &[
                "run",
                "--rm",
                "--network",
                &net,
                "busybox",
                "nslookup",
                "the-alias",
            ],
        );
        assert!(
            looked_up.contains(on_net[0].as_str()),
            "the-alias should be {}: {looked_up}",
            on_net[0]
        );

        // A network in use is not removed; disconnected, it is.
        ok(bin, &["network", "disconnect", &net, &c]);
        let inspected = ok(
            bin,
            &["network", "inspect", "-f", "{{len .Containers}}", &net],
        );
        assert_eq!(inspected.trim(), "0");
        ok(bin, &["rm", "-f", &c]);
        ok(bin, &["network", "rm", &net]);
        fails(bin, &["network", "inspect", &net]);
    }
    // prune removes an unused network.
    let net = hull_e2e::unique_id("apib-prune");
    ok(DOCKER20, &["network", "create", &net]);
    let pruned = ok(DOCKER20, &["network", "prune", "-f"]);
    assert!(pruned.contains(&net), "{pruned}");
}

#[test]
fn volumes_keep_data_between_containers_and_go_when_unused() {
    for bin in clients() {
        let v = hull_e2e::unique_id(&format!("apib-vol-{}", short(bin)));
        let c = hull_e2e::unique_id(&format!("apib-vc-{}", short(bin)));
        assert_eq!(
            ok(bin, &["volume", "create", "--label", "t=apib", &v]).trim(),
            v
        );
        let ls = ok(
            bin,
            &[
                "volume",
                "ls",
                "-q",
                "-f",
                "label=t=apib",
                "-f",
                &format!("name={v}"),
            ],
        );
        assert_eq!(ls.trim(), v);
        let mountpoint = ok(bin, &["volume", "inspect", "-f", "{{.Mountpoint}}", &v]);
        let dest = format!("{v}:/data");
        ok(
            bin,
            &[
                "run",
                "--name",
                &c,
                "-v",
                &dest,
                "busybox",
                "sh",
                "-c",
                "echo kept > /data/f",
            ],
        );
        assert_eq!(
            std::fs::read_to_string(Path::new(mountpoint.trim()).join("f")).unwrap(),
            "kept\n"
        );
        let said = ok(
            bin,
            &["run", "--rm", "-v", &dest, "busybox", "cat", "/data/f"],
        );
        assert_eq!(said, "kept\n");
        let e = fails(bin, &["volume", "rm", &v]);
        assert!(e.contains("in use"), "{e}");
        ok(bin, &["rm", &c]);
        // docker 28 (API 1.50) prunes named volumes with --all; 20.10 (API 1.41) always.
        let pruned = match bin {
            DOCKER28 => ok(bin, &["volume", "prune", "-a", "-f"]),
            _ => ok(bin, &["volume", "prune", "-f"]),
        };
        assert!(pruned.contains(&v), "{pruned}");
        fails(bin, &["volume", "inspect", &v]);
        assert!(!Path::new(mountpoint.trim()).exists());
    }
}

/// The docker CLI at `bin` on `engine`: the pair's private dockerd, or this file's service.
fn on(engine: &str, bin: &str, args: &[&str]) -> Command {
    match engine {
        "docker" => {
            let p = hull_e2e::docker_pair::pair();
            let mut c = Command::new(bin);
            c.env("DOCKER_CONFIG", p.dir.join("client"))
                .arg("-H")
                .arg(format!("unix://{}", p.dir.join("d.sock").display()))
                .args(args)
                .stdin(std::process::Stdio::null());
            c
        }
        _ => docker(bin, args),
    }
}

/// Serves `body` to every GET on 127.0.0.1 (a thread for the test binary's life); its URL.
fn serve_on_loopback(body: Vec<u8>, name: &str) -> String {
    use std::io::{BufRead, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/{name}", l.local_addr().unwrap());
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let mut r = std::io::BufReader::new(s);
            let mut line = String::new();
            while r.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let mut s = r.into_inner();
            let head = format!(
                "HTTP/1.0 200 OK\r\nContent-Type: application/x-tar\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(&body);
        }
    });
    url
}

/// `docker import` through the service beside the same import into a private dockerd, by
/// each client: from stdin with `--change` and `--message`, from a URL on loopback, and a
/// bad change. What is compared: the id line shape, the inspect's Config, comment and
/// platform, the history, what a container of the image finds in its files, the exit code of a refusal.
#[test]
fn import_from_stdin_and_a_url_matches_dockerd() {
    service();
    let work = tempfile::tempdir_in("/var/tmp").unwrap();
    let root = hull_e2e::image::rootfs(work.path());
    std::fs::create_dir_all(root.join("data/sub")).unwrap();
    std::fs::write(root.join("data/sub/imported"), "from-the-tarball\n").unwrap();
    std::os::unix::fs::symlink("sub/imported", root.join("data/link")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        root.join("data/sub/imported"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    let tar = work.path().join("rootfs.tar");
    hull_e2e::image::tar_dir(&root, &tar);
    let body = std::fs::read(&tar).unwrap();
    let url = serve_on_loopback(body.clone(), "rootfs.tar");
    let look = "find /data | sort | while read f; do stat -c '%n %a %u %g %s %F' \"$f\"; done";
    for bin in clients() {
        let mut seen: Vec<[String; 3]> = Vec::new();
        for engine in hull_e2e::docker_pair::ENGINES {
            let name = format!("apii-{}:1", short(bin));
            let mut c = on(
                engine,
                bin,
                &[
                    "import",
                    "-c",
                    "CMD [\"cat\", \"/data/link\"]",
                    "-c",
                    "ENV A=b",
                    "-c",
                    "WORKDIR /data",
                    "-m",
                    "the message",
                    "-",
                    &name,
                ],
            );
            let o = hull_e2e::client_support::output_with_stdin(&mut c, &body);
            assert!(o.status.success(), "{engine} import: {}", text(&o.stderr));
            let id = text(&o.stdout);
            assert!(
                id.trim().starts_with("sha256:") && id.trim().len() == 71,
                "{engine}: {id}"
            );
            let said = ok_output(on(engine, bin, &["run", "--rm", &name]));
            assert_eq!(said, "from-the-tarball\n", "{engine}");
            let files = ok_output(on(engine, bin, &["run", "--rm", &name, "sh", "-c", look]));
            let inspect = ok_output(on(engine, bin, &["image", "inspect", &name]));
            let v: serde_json::Value = serde_json::from_str(&inspect).unwrap();
            let v = &v[0];
            // The image's config, its null members left out (Go's omitempty leaves some
            // out on dockerd's side; the rest of image inspect's shape is not import's).
            let mut config = v["Config"].as_object().cloned().unwrap_or_default();
            config.retain(|_, v| !v.is_null());
            let keys = serde_json::Value::Object(config).to_string();
            let config = format!(
                "Cmd={} Env={} WorkingDir={} Comment={} Os={} Architecture={} Layers={}",
                v["Config"]["Cmd"],
                v["Config"]["Env"],
                v["Config"]["WorkingDir"],
                v["Comment"],
                v["Os"],
                v["Architecture"],
                v["RootFS"]["Layers"].as_array().map_or(0, Vec::len),
            );
            let history = ok_output(on(
                engine,
                bin,
                &[
                    "history",
                    "--no-trunc",
                    "--format",
                    "{{.CreatedBy}}|{{.Comment}}",
                    &name,
                ],
            ));
            seen.push([keys, format!("{config}\n{history}"), files]);

            // From a URL: dockerd fetches it itself; the history names it.
            let from_url = format!("apii-url-{}:1", short(bin));
            ok_output(on(engine, bin, &["import", &url, &from_url]));
            let said = ok_output(on(
                engine,
                bin,
                &["run", "--rm", &from_url, "cat", "/data/link"],
            ));
            assert_eq!(said, "from-the-tarball\n", "{engine}");
            let comment = ok_output(on(
                engine,
                bin,
                &[
                    "history",
                    "--no-trunc",
                    "--format",
                    "{{.Comment}}",
                    &from_url,
                ],
            ));
            assert_eq!(comment.trim(), format!("Imported from {url}"), "{engine}");

            // A change docker does not take: refused, nothing named.
            let bad = format!("apii-bad-{}:1", short(bin));
            let mut c = on(engine, bin, &["import", "-c", "FROB x", "-", &bad]);
            let o = hull_e2e::client_support::output_with_stdin(&mut c, &body);
            assert_eq!(o.status.code(), Some(1), "{engine}: {}", text(&o.stderr));
            assert!(!on(engine, bin, &["image", "inspect", &bad])
                .output()
                .unwrap()
                .status
                .success());
            for n in [&name, &from_url] {
                ok_output(on(engine, bin, &["rmi", n]));
            }
        }
        let [d, h] = [&seen[0], &seen[1]];
        assert_eq!(
            h[0], d[0],
            "{bin}: image inspect's key paths (hull, docker)"
        );
        assert_eq!(h[1], d[1], "{bin}: config and history (hull, docker)");
        assert_eq!(h[2], d[2], "{bin}: the files (hull, docker)");
    }
}

/// The global IPv6 addresses (ADDR/N) `ip -6 -o addr` printed for each interface, as
/// "IFACE ADDR/N", the subnet's prefix written as `SUBNET` so that runs on two subnets compare.
fn global6(out: &str, prefix: &str) -> Vec<String> {
    let mut v: Vec<String> = out
        .lines()
        .filter(|l| l.contains("scope global"))
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            Some(format!(
                "{} {}",
                w.get(1)?,
                w.get(3)?.replace(prefix, "SUBNET:")
            ))
        })
        .collect();
    v.sort();
    v
}

/// Containers and networks of an engine, removed when dropped (a failed assertion too).
struct Gone(&'static str, Vec<String>, Vec<String>);

impl Drop for Gone {
    fn drop(&mut self) {
        for c in &self.1 {
            let _ = on(self.0, DOCKER20, &["rm", "-f", c]).output();
        }
        for n in &self.2 {
            let _ = on(self.0, DOCKER20, &["network", "rm", n]).output();
        }
    }
}

/// IPv6 through the API, driven by docker 20.10's CLI on the service and on the pair's
/// private dockerd, one after the other on the same subnets: `network create --ipv6 --subnet`
/// (with and without a gateway), `run --ip6`, `network connect --ip6` of a running container;
/// what the container sees on its interfaces, and the v6 keys of network and container
/// inspect, compared. A v6 address outside the subnet is refused by both.
#[test]
fn ipv6_networks_addresses_and_inspect_match_dockerd() {
    service();
    if std::fs::read_to_string("/proc/sys/net/ipv6/conf/all/disable_ipv6")
        .is_ok_and(|v| v.trim() != "0")
    {
        eprintln!("skipped: IPv6 is disabled on this host");
        return;
    }
    // Subnets of this run only (other engineers' networks are on this host too).
    let tag = std::process::id() & 0xffff;
    let (p1, p2) = (format!("fd6e:{tag:x}:1::"), format!("fd6e:{tag:x}:2::"));
    let mut seen: Vec<Vec<String>> = Vec::new();
    for engine in hull_e2e::docker_pair::ENGINES {
        let image = match engine {
            "docker" => hull_e2e::docker_pair::IMAGE,
            _ => "busybox",
        };
        let d = |args: &[&str]| ok_output(on(engine, DOCKER20, args));
        let (n1, n2) = (
            hull_e2e::unique_id(&format!("api6a-{engine}")),
            hull_e2e::unique_id(&format!("api6b-{engine}")),
        );
        let c = hull_e2e::unique_id(&format!("api6c-{engine}"));
        let mut record = Vec::new();
        // Removed also when an assertion fails: the bridges and their v6 routes are the host's.
        let bad = c.replace("api6c", "api6d");
        let gone = Gone(
            engine,
            vec![c.clone(), bad.clone()],
            vec![n1.clone(), n2.clone()],
        );
        d(&[
            "network",
            "create",
            "--ipv6",
            "--subnet",
            &format!("{p1}/64"),
            &n1,
        ]);
        d(&[
            "network",
            "create",
            "--ipv6",
            "--subnet",
            &format!("{p2}/64"),
            "--gateway",
            &format!("{p2}fe"),
            &n2,
        ]);
        for n in [&n1, &n2] {
            let v: serde_json::Value =
                serde_json::from_str(&d(&["network", "inspect", n])).unwrap();
            let v6: Vec<String> = v[0]["IPAM"]["Config"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| c["Subnet"].as_str().is_some_and(|s| s.contains(':')))
                .map(|c| {
                    format!("{}", c)
                        .replace(&p1, "SUBNET1:")
                        .replace(&p2, "SUBNET2:")
                })
                .collect();
            record.push(format!(
                "network: EnableIPv6={} v6 config={v6:?}",
                v[0]["EnableIPv6"]
            ));
        }
        // What the container sees with --ip6, and with an address from the pool.
        let given = ok_output(on(
            engine,
            DOCKER20,
            &[
                "run",
                "--rm",
                "--network",
                &n1,
                "--ip6",
                &format!("{p1}42"),
                image,
                "ip",
                "-6",
                "-o",
                "addr",
            ],
        ));
        record.push(format!("--ip6 sees: {:?}", global6(&given, &p1)));
        let pooled = ok_output(on(
            engine,
            DOCKER20,
            &[
                "run",
                "--rm",
                "--network",
                &n2,
                image,
                "ip",
                "-6",
                "-o",
                "addr",
            ],
        ));
        record.push(format!("pooled sees: {:?}", global6(&pooled, &p2)));
        // A running container with --ip6, then connected with --ip6 to the second network.
        d(&[
            "run",
            "-d",
            "--name",
            &c,
            "--network",
            &n1,
            "--ip6",
            &format!("{p1}43"),
            image,
            "sleep",
            "1001",
        ]);
        d(&["network", "connect", "--ip6", &format!("{p2}44"), &n2, &c]);
        let sees = ok_output(on(
            engine,
            DOCKER20,
            &["exec", &c, "ip", "-6", "-o", "addr"],
        ));
        let mut sees = global6(&sees.replace(&p2, "SUBNET2:"), &p1);
        sees.iter_mut()
            .for_each(|s| *s = s.replace("SUBNET:", "SUBNET1:"));
        record.push(format!("connected sees: {sees:?}"));
        let v: serde_json::Value = serde_json::from_str(&d(&["inspect", &c])).unwrap();
        let ns = &v[0]["NetworkSettings"];
        let on1 = &ns["Networks"][n1.as_str()];
        let six = |x: &serde_json::Value| {
            format!(
                "IPAMConfig.IPv6Address={} GlobalIPv6Address={} GlobalIPv6PrefixLen={} IPv6Gateway={}",
                x["IPAMConfig"]["IPv6Address"],
                x["GlobalIPv6Address"],
                x["GlobalIPv6PrefixLen"],
                x["IPv6Gateway"]
            )
            .replace(&p1, "SUBNET1:")
            .replace(&p2, "SUBNET2:")
        };
        record.push(format!("inspect, first network: {}", six(on1)));
        let on2 = &ns["Networks"][n2.as_str()];
        record.push(format!(
            "inspect, connected: GlobalIPv6Address={} IPv6Gateway={}",
            on2["GlobalIPv6Address"]
                .to_string()
                .replace(&p2, "SUBNET2:"),
            on2["IPv6Gateway"].to_string().replace(&p2, "SUBNET2:")
        ));
        // NetworkSettings' own address keys: dockerd 20.10 fills them for its default
        // `bridge` network only (empty here); hull's engine shows the first network's, for
        // IPv4 as for IPv6 (README: where hull differs from docker).
        let top = six(ns);
        match engine {
            "docker" => assert_eq!(
                top,
                "IPAMConfig.IPv6Address=null GlobalIPv6Address=\"\" GlobalIPv6PrefixLen=0 IPv6Gateway=\"\""
            ),
            _ => assert_eq!(
                top,
                "IPAMConfig.IPv6Address=null GlobalIPv6Address=\"SUBNET1:43\" GlobalIPv6PrefixLen=64 IPv6Gateway=\"SUBNET1:1\""
            ),
        }
        // An address outside the subnet: refused, nothing left behind.
        let o = on(
            engine,
            DOCKER20,
            &[
                "run",
                "--rm",
                "--name",
                &bad,
                "--network",
                &n1,
                "--ip6",
                "fd6f::1",
                image,
                "true",
            ],
        )
        .output()
        .unwrap();
        record.push(format!("outside the subnet: exit {:?}", o.status.code()));
        let left = ok_output(on(
            engine,
            DOCKER20,
            &["ps", "-aq", "-f", &format!("name={bad}")],
        ));
        assert_eq!(left.trim(), "", "{engine}: a refused run left {bad} behind");
        d(&["rm", "-f", &c]);
        d(&["network", "rm", &n1, &n2]);
        drop(gone);
        seen.push(record);
    }
    assert_eq!(seen[1], seen[0], "(hull, dockerd)");
    assert!(
        seen[1]
            .iter()
            .any(|l| l == "--ip6 sees: [\"eth0 SUBNET:42/64\"]"),
        "{:?}",
        seen[1]
    );
}
