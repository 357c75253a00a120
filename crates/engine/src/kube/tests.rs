use super::*;
use crate::pod::plan::VolumeSource;

/// The form people paste from blog posts.
const BLOG_DEPLOYMENT: &str = include_str!("testdata/blog-deployment.yaml");

#[test]
fn blog_post_deployment() {
    let m = parse("d.yaml", BLOG_DEPLOYMENT).unwrap();
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    let names: Vec<&str> = m.pods.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["sleepers-0", "sleepers-1"]);
    let p = &m.pods[1];
    assert_eq!(p.hostname, "sleepers-1");
    assert_eq!(p.share.names(), "ipc,net,uts");
    assert_eq!(p.restart_policy, "Always");
    assert_eq!(p.labels["app"], "sleepers");
    let one = &p.containers[0];
    assert_eq!(
        one.entrypoint.as_deref(),
        Some(&["/bin/sh".into(), "-c".into()][..])
    );
    assert_eq!(one.cmd.as_deref(), Some(&["sleep 3600".to_string()][..]));
    assert_eq!(one.restart, "always");
    let two = &p.containers[1];
    assert_eq!(two.entrypoint.as_ref().unwrap().len(), 3);
    // A command without args drops the image's CMD.
    assert_eq!(two.cmd.as_deref(), Some(&[][..]));
    assert_eq!(p.container_name(two), "sleepers-1-two");
}

const FULL_POD: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: default
  labels: {tier: front}
spec:
  shareProcessNamespace: true
  hostname: webhost
  restartPolicy: OnFailure
  volumes:
  - name: scratch
    emptyDir: {}
  - name: ram
    emptyDir: {medium: Memory, sizeLimit: 16Mi}
  - name: host
    hostPath: {path: /tmp, type: Directory}
  - name: cfg
    configMap: {name: cfg}
  initContainers:
  - name: init
    image: busybox
    command: [touch, /scratch/ready]
    volumeMounts: [{name: scratch, mountPath: /scratch}]
  containers:
  - name: app
    image: docker.io/library/busybox:latest
    args: [httpd, -f]
    workingDir: /srv
    env:
    - {name: A, value: "1"}
    - {name: N, value: 3}
    - name: FROM
      valueFrom: {fieldRef: {fieldPath: metadata.name}}
    ports:
    - {containerPort: 80, hostPort: 8080}
    - {containerPort: 53, protocol: UDP}
    resources:
      limits: {cpu: 500m, memory: 64Mi, nvidia.com/gpu: 1}
      requests: {cpu: 100m}
    securityContext:
      runAsUser: 1000
      runAsGroup: 100
      capabilities: {add: [NET_ADMIN], drop: [all]}
      readOnlyRootFilesystem: true
      allowPrivilegeEscalation: false
      seLinuxOptions: {level: s0}
    livenessProbe:
      httpGet: {path: /, port: 80}
    volumeMounts:
    - {name: scratch, mountPath: /scratch, readOnly: true}
    - {name: host, mountPath: /host}
"#;

#[test]
fn full_pod_and_warnings() {
    let m = parse("pod.yaml", FULL_POD).unwrap();
    let w = m.warnings.join("\n");
    for want in [
        "pod.yaml: metadata.namespace: not supported, ignored",
        "pod.yaml: spec.volumes[3].configMap: not supported, ignored",
        "pod.yaml: spec.volumes[3]: no supported source",
        "pod.yaml: spec.containers[0].livenessProbe: not supported, ignored",
        "pod.yaml: spec.containers[0].resources.requests: not supported, ignored",
        "pod.yaml: spec.containers[0].resources.limits.nvidia.com/gpu: not supported, ignored",
        "pod.yaml: spec.containers[0].securityContext.seLinuxOptions: not supported, ignored",
        "pod.yaml: spec.containers[0].env[2].valueFrom: not supported, FROM is left unset",
    ] {
        assert!(w.contains(want), "missing {want:?} in\n{w}");
    }
    assert_eq!(m.warnings.len(), 8, "{w}");
    let p = &m.pods[0];
    assert_eq!((p.name.as_str(), p.hostname.as_str()), ("web", "webhost"));
    assert!(p.share.pid && p.share.net);
    assert_eq!(p.ports.len(), 1);
    assert_eq!(
        (p.ports[0].host_port, p.ports[0].container_port),
        (8080, 80)
    );
    assert_eq!(
        p.volumes[1].source,
        VolumeSource::EmptyDir {
            memory: true,
            size_limit: 16 << 20
        }
    );
    let init = &p.init_containers[0];
    assert_eq!(init.restart, "no");
    let c = &p.containers[0];
    assert_eq!(c.restart, "on-failure");
    assert_eq!(c.env, ["A=1", "N=3"]);
    assert_eq!(c.entrypoint, None);
    assert_eq!(c.cmd.as_ref().unwrap()[0], "httpd");
    assert_eq!((c.memory, c.nano_cpus), (64 << 20, 500_000_000));
    assert_eq!(c.user, "1000:100");
    assert_eq!(c.cap_add, ["CAP_NET_ADMIN"]);
    assert_eq!(c.cap_drop, ["ALL"]);
    assert!(c.read_only && c.no_new_privileges && !c.privileged);
    assert_eq!(c.ports[1].protocol, "udp");
    assert_eq!(c.mounts[0].target, "/scratch");
    assert!(c.mounts[0].read_only);
}

fn err(text: &str) -> String {
    parse("pod.yaml", text).unwrap_err().to_string()
}

const TWO: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: a, image: busybox}\n";

#[test]
fn errors_name_the_field() {
    let bad_mem = TWO.replace(
        "image: busybox}",
        "image: busybox}\n  - {name: b, image: busybox, resources: {limits: {memory: 12Q}}}",
    );
    assert_eq!(
        err(&bad_mem),
        "pod.yaml: spec.containers[1].resources.limits.memory: invalid quantity \"12Q\""
    );
    assert_eq!(
        err(&TWO.replace("image: busybox}", "image: busybox}\n  - {name: b}")),
        "pod.yaml: spec.containers[1].image: required"
    );
    assert_eq!(
        err(&TWO.replace("kind: Pod", "kind: Service")),
        "pod.yaml: kind: unsupported kind \"Service\" (Pod, Deployment)"
    );
    assert_eq!(
        err(&TWO.replace("apiVersion: v1", "apiVersion: apps/v1")),
        "pod.yaml: apiVersion: \"apps/v1\": a Pod is \"v1\""
    );
    assert_eq!(
        err(&TWO.replace(
            "image: busybox}",
            "image: busybox, ports: [{containerPort: http}]}"
        )),
        "pod.yaml: spec.containers[0].ports[0].containerPort: invalid type: string \"http\", \
         expected u16"
    );
    assert_eq!(
        err(&TWO.replace("{name: p}", "{name: P_1}")),
        "pod.yaml: metadata.name: invalid name \"P_1\" (lowercase letters, digits, '-' and '.')"
    );
    assert_eq!(
        err(&TWO.replace(
            "image: busybox}",
            "image: busybox, volumeMounts: [{name: x, mountPath: /x}]}"
        )),
        "pod.yaml: spec.containers[0].volumeMounts[0].name: no volume \"x\" in the pod's volumes"
    );
    assert_eq!(
        err(&TWO.replace(
            "containers:\n  - {name: a, image: busybox}",
            "containers: []"
        )),
        "pod.yaml: spec.containers: a pod needs at least one container"
    );
    assert!(err("kind: Pod\n  bad: [").starts_with("pod.yaml: invalid YAML: "));
    assert_eq!(err(""), "pod.yaml: no Kubernetes object in the file");
    let twice = format!("{TWO}---\n{TWO}");
    assert_eq!(
        err(&twice),
        "pod.yaml: document 2: metadata.name: pod \"p\" is defined twice"
    );
    for e in [err(&bad_mem), err(&twice)] {
        assert!(!e.contains('\n'), "{e}");
    }
}

#[test]
fn multi_document_and_replica_ports() {
    let text = format!("{TWO}---\n{}\n---\n", BLOG_DEPLOYMENT);
    let m = parse("all.yaml", &text).unwrap();
    assert_eq!(m.pods.len(), 3);
    let ported = BLOG_DEPLOYMENT.replace(
        "args: [\"sleep 3600\"]",
        "args: [\"sleep 3600\"]\n        ports: [{containerPort: 80, hostPort: 8080}]",
    );
    assert!(parse("d.yaml", &ported)
        .unwrap_err()
        .to_string()
        .contains("hostPort 8080 cannot be published by 2 replicas"));
}

#[test]
fn generate_round_trips() {
    let m = parse("pod.yaml", FULL_POD).unwrap();
    let mut plan = m.pods[0].clone();
    // The unsupported volume became an emptyDir; generate writes it as one.
    let text = pod_manifest(&plan);
    let again = parse("gen.yaml", &text).unwrap();
    assert!(again.warnings.is_empty(), "{:?}\n{text}", again.warnings);
    plan.containers[0].env.retain(|e| !e.starts_with("FROM"));
    assert_eq!(again.pods[0], plan, "{text}");
    let blog = parse("d.yaml", BLOG_DEPLOYMENT).unwrap();
    let text = pod_manifest(&blog.pods[0]);
    assert_eq!(
        parse("g.yaml", &text).unwrap().pods[0],
        blog.pods[0],
        "{text}"
    );
}
