//! `hull kube play|down|generate`: manifests as people write them, run and checked from
//! inside the containers; warnings for what hull ignores; bad manifests leave nothing.

use std::time::{Duration, Instant};

use hull_e2e::hull::{poll_exec, Hull};

fn write(t: &Hull, name: &str, text: &str) -> String {
    let p = t.dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// The form people paste from blog posts (the engine's kube unit tests parse it too).
const BLOG: &str = include_str!("../../crates/engine/src/kube/testdata/blog-deployment.yaml");

#[test]
fn blog_post_deployment_plays_as_in_a_cluster_and_goes_down() {
    let t = Hull::new();
    let f = write(&t, "deploy.yaml", BLOG);
    let o = t.run(&["kube", "play", &f]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.is_empty(), "no warnings expected: {}", o.stderr);
    let pods = t.ok(&["pod", "ps"]);
    for pod in ["sleepers-0", "sleepers-1"] {
        assert!(pods.contains(pod), "{pods}");
        let st: serde_json::Value = serde_json::from_str(&t.ok(&["pod", "inspect", pod])).unwrap();
        assert_eq!(st["State"], "Running", "{st}");
        assert_eq!(st["Labels"]["app"], "sleepers");
        let mut uts = Vec::new();
        for c in ["one", "two"] {
            let name = format!("{pod}-{c}");
            // Kubernetes: the hostname is the pod's name, shared by its containers.
            assert_eq!(t.ok(&["exec", &name, "hostname"]), format!("{pod}\n"));
            uts.push(t.ok(&["exec", &name, "readlink", "/proc/self/ns/uts"]));
            // Its own pid namespace, whose PID 1 is the manifest's command (busybox's sh
            // execs the sleep in place of itself).
            let ps = poll_exec(&t, &name, "ps -o pid,args", "sleep 3600");
            assert!(
                ps.lines()
                    .any(|l| l.trim_start().starts_with("1 ") && l.contains("sleep 3600")),
                "{ps}"
            );
            assert!(!ps.contains("hull-pause"), "{ps}");
        }
        assert_eq!(uts[0], uts[1]);
    }
    let o = t.run(&["kube", "down", &f]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("sleepers-0") && o.stdout.contains("sleepers-1"));
    assert!(t.ok(&["pod", "ps", "-q"]).trim().is_empty());
    t.assert_empty();
}

const VOLUMES: &str = r#"apiVersion: v1
kind: Pod
metadata:
  name: shared-files
spec:
  volumes:
  - name: data
    emptyDir: {}
  - name: ram
    emptyDir:
      medium: Memory
  initContainers:
  - name: prepare
    image: busybox
    command: ["sh", "-c", "echo from-init > /data/init.txt"]
    volumeMounts:
    - {name: data, mountPath: /data}
  containers:
  - name: writer
    image: busybox
    command: ["sh", "-c", "echo hello > /data/msg && echo fast > /ram/f && sleep 3600"]
    env:
    - name: GREETING
      value: hi there
    workingDir: /data
    resources:
      limits: {memory: 40Mi}
    volumeMounts:
    - {name: data, mountPath: /data}
    - {name: ram, mountPath: /ram}
    livenessProbe:
      exec: {command: ["true"]}
  - name: reader
    image: busybox
    args: ["sleep", "3600"]
    securityContext:
      readOnlyRootFilesystem: true
      runAsUser: 1000
    volumeMounts:
    - {name: data, mountPath: /in, readOnly: true}
    - {name: ram, mountPath: /ram}
"#;

#[test]
fn empty_dirs_are_shared_init_runs_first_and_fields_apply() {
    let t = Hull::new();
    let f = write(&t, "pod.yaml", VOLUMES);
    let o = t.run(&["kube", "play", &f]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(
        o.stderr.trim(),
        format!("hull: warning: {f}: spec.containers[0].livenessProbe: not supported, ignored")
    );
    poll_exec(&t, "shared-files-reader", "cat /in/msg", "hello");
    assert_eq!(
        t.ok(&[
            "exec",
            "shared-files-reader",
            "cat",
            "/in/init.txt",
            "/ram/f"
        ]),
        "from-init\nfast\n"
    );
    assert_eq!(t.ok(&["exec", "shared-files-reader", "id", "-u"]), "1000\n");
    let o = t.run(&[
        "exec",
        "shared-files-reader",
        "sh",
        "-c",
        "touch /in/x || touch /y",
    ]);
    assert_ne!(o.code, 0, "read-only mount and rootfs");
    assert_eq!(
        t.ok(&[
            "exec",
            "shared-files-writer",
            "sh",
            "-c",
            "echo $GREETING; pwd"
        ]),
        "hi there\n/data\n"
    );
    let limit = t.ok(&[
        "exec",
        "shared-files-writer",
        "cat",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    ]);
    assert_eq!(limit.trim(), (40u64 << 20).to_string());
    // generate writes a manifest that plays again the same way.
    let gen = t.ok(&["kube", "generate", "shared-files"]);
    assert!(
        gen.contains("kind: Pod") && gen.contains("emptyDir"),
        "{gen}"
    );
    assert!(gen.contains("initContainers"), "{gen}");
    t.ok(&["kube", "down", &f]);
    t.assert_empty();
    let g = write(&t, "gen.yaml", &gen);
    let o = t.run(&["kube", "play", &g]);
    assert_eq!(o.code, 0, "{}\n{gen}", o.stderr);
    poll_exec(&t, "shared-files-reader", "cat /in/msg", "hello");
    t.ok(&["kube", "down", &g]);
    t.assert_empty();
}

#[test]
fn share_process_namespace_and_ports() {
    let t = Hull::new();
    let port = 30000 + (std::process::id() % 20000) as u16;
    let text = format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: pidshare
spec:
  shareProcessNamespace: true
  containers:
  - name: web
    image: busybox
    command: ["sh", "-c", "mkdir /w && echo ok > /w/index.html && httpd -f -p 80 -h /w"]
    ports:
    - containerPort: 80
      hostPort: {port}
  - name: peek
    image: busybox
    command: ["sleep", "3600"]
"#
    );
    let f = write(&t, "pid.yaml", &text);
    t.ok(&["kube", "play", &f]);
    let ps = poll_exec(&t, "pidshare-peek", "ps -o pid,args", "httpd");
    assert!(ps.contains("hull-pause"), "{ps}");
    poll_exec(&t, "pidshare-peek", "wget -qO- http://127.0.0.1:80/", "ok");
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        use std::io::{Read, Write};
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.write_all(b"GET / HTTP/1.0\r\n\r\n");
            let mut b = String::new();
            let _ = s.read_to_string(&mut b);
            if b.contains("ok") {
                break;
            }
        }
        assert!(Instant::now() < end, "hostPort {port} never answered");
        std::thread::sleep(Duration::from_millis(200));
    }
    t.ok(&["kube", "down", &f]);
    t.assert_empty();
}

#[test]
fn bad_manifests_give_one_line_and_leave_nothing() {
    let t = Hull::new();
    let pod = |extra: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: bad}}\nspec:\n  containers:\n  \
             - {{name: a, image: busybox, command: [sleep, '60']}}\n{extra}"
        )
    };
    let cases = [
        (
            pod("  - {name: b, image: busybox, resources: {limits: {memory: 12Q}}}\n"),
            "spec.containers[1].resources.limits.memory: invalid quantity \"12Q\"",
        ),
        (pod("  - {name: b}\n"), "spec.containers[1].image: required"),
        (
            "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n".to_string(),
            "kind: unsupported kind \"Service\"",
        ),
        ("kind: Pod\n  spec: [\n".to_string(), "invalid YAML"),
        (
            pod("  - {name: b, image: no-such-image-here}\n"),
            "no-such-image-here",
        ),
        (
            format!(
                "{}  initContainers:\n  - {{name: i, image: busybox, command: [sh, -c, 'exit 3']}}\n",
                pod("")
            ),
            "container i: init container exited with 3",
        ),
        (
            pod("  - {name: b, image: busybox, volumeMounts: [{name: nope, mountPath: /x}]}\n"),
            "volumeMounts[0].name: no volume \"nope\"",
        ),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let f = write(&t, &format!("bad{i}.yaml"), text);
        let o = t.run(&["kube", "play", &f]);
        assert_ne!(o.code, 0, "case {i}");
        assert!(o.stderr.contains(want), "case {i}: {}", o.stderr);
        assert!(
            o.stderr.contains(&f),
            "case {i} names the file: {}",
            o.stderr
        );
        assert_eq!(o.stderr.trim().lines().count(), 1, "case {i}: {}", o.stderr);
        assert!(t.ok(&["pod", "ps", "-q"]).trim().is_empty(), "case {i}");
        t.assert_empty();
    }
    let o = t.run(&["kube", "play", "/no/such/file.yaml"]);
    assert!(o.stderr.contains("/no/such/file.yaml"), "{}", o.stderr);
}

#[test]
fn host_network_uses_the_hosts_namespace() {
    let t = Hull::new();
    let f = write(
        &t,
        "hostnet.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: hostnet}\nspec:\n  hostNetwork: true\n  \
         containers:\n  - {name: a, image: busybox, command: [sleep, '600']}\n",
    );
    t.ok(&["kube", "play", &f]);
    let inside = t.ok(&["exec", "hostnet-a", "readlink", "/proc/self/ns/net"]);
    assert_eq!(inside.trim(), hull_e2e::ns_of("self", "net"));
    let gen = t.ok(&["kube", "generate", "hostnet"]);
    assert!(gen.contains("hostNetwork: true"), "{gen}");
    t.ok(&["kube", "down", &f]);
    t.assert_empty();
}
