//! Capture only, for tests/testdata/corpus/ (scripts/capture-corpus.sh runs it with
//! `--ignored`): containerd 1.6's CRI plugin, driven as the kubelet drives it, hands the
//! recording wrapper (runtime handler `rec`, its `BinaryName`) the config.json of a pod
//! sandbox and of containers with the settings pods commonly have. The wrapper is
//! `CAPTURE_REC`; it copies the bundle's config to the case named in the file `CAPTURE_CASE`.
//!
//! A private containerd (its own root, state, socket, netns pins under its state dir), a CNI
//! bridge of its own without an address (no host route, nothing masqueraded), images made
//! here: nothing is pulled, and all of it is removed at the end.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hull_e2e::client_support::{out_text, remove_cgroups, ContainerdDaemon};
use hull_e2e::image::{busybox_archive, image_archive};
use hull_e2e::unmount_under;
use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use k8s_cri::v1::{
    Capability, ContainerConfig, ContainerMetadata, CreateContainerRequest, ImageSpec, Int64Value,
    LinuxContainerConfig, LinuxContainerResources, LinuxContainerSecurityContext,
    LinuxPodSandboxConfig, LinuxSandboxSecurityContext, Mount, NamespaceOption, PodSandboxConfig,
    PodSandboxMetadata, RemoveContainerRequest, RemovePodSandboxRequest, RunPodSandboxRequest,
    StartContainerRequest, StopContainerRequest, StopPodSandboxRequest,
};
use tonic::transport::Channel;

const IMAGE: &str = "hull.test/busybox:latest";
const PAUSE: &str = "hull.test/pause:1";
/// NamespaceMode POD and CONTAINER; MountPropagation private, rslave (host to container),
/// rshared (both ways).
const POD: i32 = 0;
const CONTAINER: i32 = 1;
const PROPAGATION: [(&str, i32); 3] = [("private", 0), ("rslave", 1), ("rshared", 2)];

struct Kubelet {
    rt: tokio::runtime::Runtime,
    client: RuntimeServiceClient<Channel>,
    case_file: PathBuf,
}

impl Kubelet {
    fn connect(sock: PathBuf, case_file: PathBuf) -> Kubelet {
        let (rt, client) = hull_e2e::cri::connect(sock);
        Kubelet {
            rt,
            client,
            case_file,
        }
    }

    /// The name the wrapper gives the next config it sees created.
    fn case(&self, name: &str) {
        std::fs::write(&self.case_file, format!("{name}\n")).unwrap();
    }

    fn call<T, F>(&self, f: impl FnOnce(RuntimeServiceClient<Channel>) -> F) -> Result<T, String>
    where
        F: std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        let fut = f(self.client.clone());
        self.rt.block_on(async {
            match tokio::time::timeout(Duration::from_secs(60), fut).await {
                Ok(Ok(r)) => Ok(r.into_inner()),
                Ok(Err(e)) => Err(format!("{} {}", e.code(), e.message())),
                Err(_) => Err("no answer in 60 s".into()),
            }
        })
    }

    /// RunPodSandbox, its config captured as `case`; the sandbox id and config.
    fn pod(&self, case: &str, cgroup_parent: &str, privileged: bool) -> (String, PodSandboxConfig) {
        let config = PodSandboxConfig {
            metadata: Some(PodSandboxMetadata {
                name: case.into(),
                uid: format!("uid-{case}"),
                namespace: "capture".into(),
                attempt: 0,
            }),
            hostname: case.into(),
            linux: Some(LinuxPodSandboxConfig {
                cgroup_parent: format!("/{cgroup_parent}/{case}"),
                security_context: Some(LinuxSandboxSecurityContext {
                    namespace_options: Some(NamespaceOption {
                        network: POD,
                        pid: if privileged { POD } else { CONTAINER },
                        ipc: POD,
                        ..Default::default()
                    }),
                    privileged,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        self.case(case);
        let req = RunPodSandboxRequest {
            config: Some(config.clone()),
            runtime_handler: "rec".into(),
        };
        let id = self
            .call(|mut c| async move { c.run_pod_sandbox(req).await })
            .unwrap_or_else(|e| panic!("RunPodSandbox {case}: {e}"))
            .pod_sandbox_id;
        (id, config)
    }

    /// CreateContainer and StartContainer (the runtime's create), captured as `case`, then
    /// stopped and removed.
    fn container(
        &self,
        pod: &(String, PodSandboxConfig),
        case: &str,
        tune: impl FnOnce(&mut ContainerConfig),
    ) {
        let ns = pod
            .1
            .linux
            .as_ref()
            .and_then(|l| l.security_context.as_ref());
        let mut config = ContainerConfig {
            metadata: Some(ContainerMetadata {
                name: case.into(),
                attempt: 0,
            }),
            image: Some(ImageSpec {
                image: IMAGE.into(),
                ..Default::default()
            }),
            command: vec!["sleep".into(), "1000".into()],
            linux: Some(LinuxContainerConfig {
                security_context: Some(LinuxContainerSecurityContext {
                    namespace_options: ns.and_then(|s| s.namespace_options.clone()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        tune(&mut config);
        let req = CreateContainerRequest {
            pod_sandbox_id: pod.0.clone(),
            config: Some(config),
            sandbox_config: Some(pod.1.clone()),
        };
        let id = self
            .call(|mut c| async move { c.create_container(req).await })
            .unwrap_or_else(|e| panic!("CreateContainer {case}: {e}"))
            .container_id;
        self.case(case);
        let container_id = id.clone();
        // It may fail under runc where the capture machine lacks what the config asks for
        // (a capability outside the bounding set): the config is captured all the same.
        if let Err(e) = self.call(|mut c| async move {
            c.start_container(StartContainerRequest { container_id })
                .await
        }) {
            eprintln!("StartContainer {case}: {e} (its config is captured)");
        }
        let container_id = id.clone();
        let _ = self.call(|mut c| async move {
            c.stop_container(StopContainerRequest {
                container_id,
                timeout: 0,
            })
            .await
        });
        let _ = self.call(|mut c| async move {
            c.remove_container(RemoveContainerRequest { container_id: id })
                .await
        });
    }

    fn remove_pod(&self, pod: &(String, PodSandboxConfig)) {
        let pod_sandbox_id = pod.0.clone();
        let _ = self.call(|mut c| async move {
            c.stop_pod_sandbox(StopPodSandboxRequest { pod_sandbox_id })
                .await
        });
        let pod_sandbox_id = pod.0.clone();
        let _ = self.call(|mut c| async move {
            c.remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id })
                .await
        });
    }
}

fn env_path(name: &str) -> PathBuf {
    PathBuf::from(std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: scripts/capture-corpus.sh cri runs this capture")
    }))
}

fn sh(args: &[&str]) {
    let o = std::process::Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap();
    assert!(o.status.success(), "{args:?}: {}", out_text(&o));
}

#[test]
#[ignore = "captures the corpus: run by scripts/capture-corpus.sh cri"]
fn capture_cri_configs() {
    let rec = env_path("CAPTURE_REC");
    let case_file = env_path("CAPTURE_CASE");
    let dir = env_path("CAPTURE_DIR");
    let pid = std::process::id();
    let bridge = format!("hcap{pid}");
    let cgroup_parent = format!("hull-capture-{pid}");
    let d = dir.display();
    std::fs::create_dir_all(dir.join("cni")).unwrap();
    let cni = serde_json::json!({
        "cniVersion": "0.4.0", "name": format!("hull-capture-{pid}"),
        "plugins": [{
            "type": "bridge", "bridge": bridge, "isGateway": false, "ipMasq": false,
            "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.254.254.0/24"}]],
                     "dataDir": format!("{d}/ipam")},
        }],
    });
    std::fs::write(dir.join("cni/10-capture.conflist"), cni.to_string()).unwrap();
    let cfg = format!(
        "[plugins.\"io.containerd.internal.v1.opt\"]\npath = \"{d}/opt\"\n\
         [plugins.\"io.containerd.grpc.v1.cri\"]\nsandbox_image = \"{PAUSE}\"\n\
         stream_server_address = \"127.0.0.1\"\nstream_server_port = \"0\"\n\
         netns_mounts_under_state_dir = true\n\
         restrict_oom_score_adj = true\n\
         [plugins.\"io.containerd.grpc.v1.cri\".cni]\nbin_dir = \"/usr/lib/cni\"\n\
         conf_dir = \"{d}/cni\"\nmax_conf_num = 1\n\
         [plugins.\"io.containerd.grpc.v1.cri\".containerd]\ndefault_runtime_name = \"rec\"\n\
         [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.rec]\n\
         runtime_type = \"io.containerd.runc.v2\"\n\
         [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.rec.options]\n\
         BinaryName = \"{}\"\nSystemdCgroup = false\n",
        rec.display()
    );
    // Whatever happens below, the bridge, mounts and cgroups go when this does (after the
    // daemon, declared later, has stopped).
    let _cleanup = Cleanup {
        dir: dir.clone(),
        bridge: bridge.clone(),
        cgroup_parent: cgroup_parent.clone(),
    };
    let daemon = ContainerdDaemon::start(&dir, Some(&cfg));
    let import = |archive: &Path| {
        let o = daemon.ctr("k8s.io", &["images", "import", archive.to_str().unwrap()]);
        assert!(o.status.success(), "ctr images import: {}", out_text(&o));
    };
    import(&busybox_archive(&dir, IMAGE));
    let pause_root = dir.join("pause-root");
    std::fs::create_dir_all(&pause_root).unwrap();
    std::fs::copy(
        hull_e2e::bin_dir().join("hull-pause"),
        pause_root.join("pause"),
    )
    .expect("hull-pause: cargo build -p hull-pause");
    let pause_dir = dir.join("pause-image");
    std::fs::create_dir_all(&pause_dir).unwrap();
    import(&image_archive(
        &pause_dir,
        PAUSE,
        &pause_root,
        serde_json::json!({"Entrypoint": ["/pause"]}),
    ));
    // A host directory for volumes, on a shared mount of its own (rshared and rslave need one).
    let vol = dir.join("vol");
    std::fs::create_dir_all(&vol).unwrap();
    let v = vol.to_str().unwrap();
    sh(&["mount", "--bind", v, v]);
    sh(&["mount", "--make-shared", v]);

    let k = Kubelet::connect(daemon.sock.clone(), case_file);
    let pod = k.pod("cri-sandbox", &cgroup_parent, false);
    k.container(&pod, "cri-default", |_| {});
    for (name, propagation) in PROPAGATION {
        k.container(&pod, &format!("cri-mount-{name}"), |c| {
            c.mounts.push(Mount {
                container_path: "/data".into(),
                host_path: v.into(),
                propagation,
                ..Default::default()
            });
        });
    }
    k.container(&pod, "cri-security", |c| {
        let s = c.linux.as_mut().unwrap().security_context.as_mut().unwrap();
        s.run_as_user = Some(Int64Value { value: 1000 });
        s.run_as_group = Some(Int64Value { value: 1000 });
        s.supplemental_groups = vec![10];
        s.readonly_rootfs = true;
        s.no_new_privs = true;
        s.capabilities = Some(Capability {
            add_capabilities: vec!["NET_ADMIN".into()],
            drop_capabilities: vec!["CHOWN".into(), "KILL".into()],
            ..Default::default()
        });
        c.mounts.push(Mount {
            container_path: "/ro".into(),
            host_path: v.into(),
            readonly: true,
            ..Default::default()
        });
    });
    k.container(&pod, "cri-resources", |c| {
        c.envs.push(k8s_cri::v1::KeyValue {
            key: "FOO".into(),
            value: "bar".into(),
        });
        c.working_dir = "/tmp".into();
        c.linux.as_mut().unwrap().resources = Some(LinuxContainerResources {
            memory_limit_in_bytes: 64 << 20,
            cpu_period: 100_000,
            cpu_quota: 50_000,
            cpu_shares: 512,
            oom_score_adj: 500,
            ..Default::default()
        });
    });
    k.remove_pod(&pod);
    let privileged = k.pod("cri-sandbox-privileged", &cgroup_parent, true);
    k.container(&privileged, "cri-privileged", |c| {
        c.linux
            .as_mut()
            .unwrap()
            .security_context
            .as_mut()
            .unwrap()
            .privileged = true;
    });
    k.remove_pod(&privileged);
}

struct Cleanup {
    dir: PathBuf,
    bridge: String,
    cgroup_parent: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["link", "del", &self.bridge])
            .status();
        unmount_under(&self.dir);
        remove_cgroups(&self.cgroup_parent);
    }
}
