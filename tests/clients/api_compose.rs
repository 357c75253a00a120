//! Debian's `docker-compose` (1.29, on the Python SDK) driving `hull system service`: one
//! multi-service project on one service (tests/support/api_service.rs).
//!
//! `db` writes a file into a named volume and serves it; `web` depends on it, fetches the
//! file from `db` by its service name over the project's network, and serves it on a port
//! published on 127.0.0.1, which the test reads from the host. Then `ps`, `logs`, `exec` and
//! `down -v`, after which no container, network, volume, firewall rule or mount of the
//! project may remain. (No healthcheck: hull's create does not carry one out yet.)

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use hull_e2e::api_service::{ok_output, text, Service};
use hull_e2e::client_support::{on_exit, wait_until};

const COMPOSE: &str = "/usr/bin/docker-compose";

static SERVICE: OnceLock<Service> = OnceLock::new();

fn service() -> &'static Service {
    SERVICE.get_or_init(|| {
        let s = Service::start();
        on_exit(|| SERVICE.get().map(Service::teardown).unwrap_or_default());
        s
    })
}

/// The project's file: `PORT` is the host port.
const PROJECT: &str = r#"version: "3.7"
services:
  db:
    image: busybox
    command: ["sh", "-c", "echo db-data > /data/x; echo db-ready; exec httpd -f -p 8080 -h /data"]
    volumes:
      - data:/data
    healthcheck:
      test: ["CMD-SHELL", "test -f /data/x"]
      interval: 1s
      retries: 3
  web:
    image: busybox
    command: ["sh", "-c", "mkdir -p /w; until wget -q -O /w/index.html http://db:8080/x; do sleep 0.2; done; echo web-fetched; exec httpd -f -p 80 -h /w"]
    depends_on:
      - db
    ports:
      - "127.0.0.1:PORT:80"
volumes:
  data:
"#;

/// The body of `GET /index.html` on the host's port, if it answers.
fn http_get(port: u16) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET /index.html HTTP/1.0\r\nHost: x\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.split_once("\r\n\r\n").map(|(_, b)| b.to_string())
}

#[test]
fn a_project_comes_up_talks_by_name_publishes_and_goes_without_a_trace() {
    assert!(Path::new(COMPOSE).exists(), "{COMPOSE} is not installed");
    let s = service();
    // busybox is seeded into the store by its first run.
    ok_output(s.client("/usr/bin/docker", &["run", "--rm", "busybox", "true"]));
    let project = hull_e2e::unique_id("apibc").replace('-', "");
    let port = hull_e2e::registry::free_port();
    let dir = s.dir.path().join("project");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("docker-compose.yml"),
        PROJECT.replace("PORT", &port.to_string()),
    )
    .unwrap();
    let file = dir.join("docker-compose.yml");
    let compose = |args: &[&str]| {
        let mut all = vec!["-f", file.to_str().unwrap(), "-p", &project];
        all.extend_from_slice(args);
        let mut c = s.client(COMPOSE, &all);
        c.env("COMPOSE_INTERACTIVE_NO_CLI", "1");
        c
    };

    ok_output(compose(&["up", "-d"]));
    // web fetched db's file by the name `db`, and serves it on the host's port.
    let mut body = None;
    wait_until("web's published port", Duration::from_secs(60), || {
        body = http_get(port).filter(|b| b == "db-data\n");
        body.is_some()
    });

    let ps = ok_output(compose(&["ps"]));
    for svc in ["db", "web"] {
        let row = ps
            .lines()
            .find(|l| l.starts_with(&format!("{project}_{svc}_1")))
            .unwrap_or_else(|| panic!("no {svc} in ps:\n{ps}"));
        assert!(row.contains(" Up"), "{row}");
    }
    assert!(ps.contains(&format!("127.0.0.1:{port}->80/tcp")), "{ps}");
    // db's healthcheck (the service's `healthcheck:`, sent as Config.Healthcheck) runs
    // while no client asks: hull's monitor runs it and docker's inspect reads it.
    let db = format!("{project}_db_1");
    wait_until("db healthy", Duration::from_secs(60), || {
        let o = s
            .client(
                "/usr/bin/docker",
                &["inspect", "-f", "{{.State.Health.Status}}", &db],
            )
            .output()
            .unwrap();
        text(&o.stdout).trim() == "healthy"
    });
    let ps = ok_output(compose(&["ps"]));
    assert!(ps.contains("(healthy)"), "{ps}");
    let logs = ok_output(compose(&["logs", "--no-color"]));
    assert!(logs.contains("db-ready"), "{logs}");
    assert!(logs.contains("web-fetched"), "{logs}");
    let inside = ok_output(compose(&["exec", "-T", "db", "cat", "/data/x"]));
    assert_eq!(inside, "db-data\n");

    // What down -v must take away, seen before it does.
    let docker = |args: &[&str]| ok_output(s.client("/usr/bin/docker", args));
    let net_id = docker(&[
        "network",
        "inspect",
        "-f",
        "{{.Id}}",
        &format!("{project}_default"),
    ]);
    let bridge = format!("br-{}", &net_id.trim()[..12]);
    let volume_dir = docker(&[
        "volume",
        "inspect",
        "-f",
        "{{.Mountpoint}}",
        &format!("{project}_data"),
    ]);
    assert!(
        nft_ruleset().contains(&bridge),
        "no firewall rules for {bridge}"
    );

    let down = compose(&["down", "-v"]).output().unwrap();
    assert!(down.status.success(), "{}", text(&down.stderr));
    let label = format!("label=com.docker.compose.project={project}");
    assert_eq!(docker(&["ps", "-aq", "-f", &label]), "");
    let nets = docker(&["network", "ls", "--format", "{{.Name}}"]);
    assert!(!nets.contains(&project), "{nets}");
    let vols = docker(&["volume", "ls", "-q"]);
    assert!(!vols.contains(&project), "{vols}");
    assert!(!Path::new(volume_dir.trim()).exists(), "{volume_dir}");
    let rules = nft_ruleset();
    assert!(
        !rules.contains(&bridge),
        "rules for {bridge} remain:\n{rules}"
    );
    assert!(
        !rules.contains(&format!("dport {port} ")),
        "a rule for port {port} remains"
    );
    assert!(http_get(port).is_none(), "port {port} still answers");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let root = s.root().to_string_lossy().into_owned();
    let left: Vec<_> = mounts.lines().filter(|l| l.contains(&root)).collect();
    assert!(left.is_empty(), "mounts remain: {left:?}");
}

fn nft_ruleset() -> String {
    let o = std::process::Command::new("nft")
        .args(["list", "ruleset"])
        .output()
        .unwrap();
    text(&o.stdout)
}
