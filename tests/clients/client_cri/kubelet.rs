//! The harness of client_cri.rs: the file's containerd with its CRI plugin (config, CNI
//! bridge, images), and the kubelet's side of the CRI API as a blocking client, with a `Pod`
//! that runs one handler's scenario and keeps its transcript.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use hull_e2e::client_support::{
    leftovers, on_exit, out_text, remove_cgroups, require, runtimes, ContainerdDaemon,
};
use hull_e2e::image::{busybox_archive, image_archive};
use hull_e2e::unmount_under;
use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use k8s_cri::v1::{
    AttachRequest, ContainerConfig, ContainerMetadata, CreateContainerRequest, ExecSyncRequest,
    ImageSpec, LinuxContainerConfig, LinuxContainerResources, LinuxContainerSecurityContext,
    LinuxPodSandboxConfig, LinuxSandboxSecurityContext, NamespaceOption, PodSandboxConfig,
    PodSandboxMetadata, PodSandboxStatusRequest, RemoveContainerRequest, RemovePodSandboxRequest,
    RunPodSandboxRequest, StartContainerRequest, StopContainerRequest, StopPodSandboxRequest,
    UpdateContainerResourcesRequest,
};
use tonic::transport::Channel;

pub const IMAGE: &str = "hull.test/busybox:latest";
const PAUSE: &str = "hull.test/pause:1";
/// Namespace modes and mount propagations of the CRI API.
const POD: i32 = 0;
const CONTAINER: i32 = 1;
pub const PROPAGATION: [(&str, i32); 3] = [("private", 0), ("rslave", 1), ("rshared", 2)];
/// ContainerState EXITED.
const EXITED: i32 = 2;

pub struct Cri {
    pub dir: PathBuf,
    daemon: Mutex<Option<ContainerdDaemon>>,
    bridge: String,
    cgroup_parent: String,
}

static CRI: OnceLock<Cri> = OnceLock::new();

pub fn cri() -> &'static Cri {
    CRI.get_or_init(|| {
        let c = Cri::start();
        on_exit(|| CRI.get().map(Cri::teardown).unwrap_or_default());
        c
    })
}

/// A /24 in 10.233.0.0/16 that no route of this host touches yet.
fn free_subnet() -> String {
    let routes = std::process::Command::new("ip")
        .args(["-4", "route", "show"])
        .output()
        .unwrap();
    let routes = String::from_utf8_lossy(&routes.stdout).into_owned();
    let start = std::process::id() % 256;
    (0..256)
        .map(|i| format!("10.233.{}.", (start + i) % 256))
        .find(|p| !routes.contains(p.as_str()))
        .map(|p| format!("{p}0/24"))
        .expect("a free 10.233.x.0/24")
}

impl Cri {
    fn start() -> Cri {
        hull_e2e::require_root();
        require("ctr");
        for plugin in ["bridge", "host-local", "loopback"] {
            assert!(
                Path::new("/usr/lib/cni").join(plugin).exists(),
                "/usr/lib/cni/{plugin} missing: apt-get install containernetworking-plugins"
            );
        }
        let pause = hull_e2e::bin_dir().join("hull-pause");
        assert!(
            pause.exists(),
            "{} missing: cargo build -p hull-pause",
            pause.display()
        );
        let dir = tempfile::Builder::new()
            .prefix("hull-cri-")
            .tempdir_in("/tmp")
            .unwrap()
            .keep();
        let pid = std::process::id();
        let bridge = format!("hcri{pid}");
        let cgroup_parent = format!("hull-cri-{pid}");
        let d = dir.display();
        std::fs::create_dir_all(dir.join("cni")).unwrap();
        let cni = serde_json::json!({
            "cniVersion": "0.4.0", "name": format!("hull-cri-{pid}"),
            "plugins": [{
                "type": "bridge", "bridge": bridge, "isGateway": true, "ipMasq": false,
                "ipam": {"type": "host-local", "ranges": [[{"subnet": free_subnet()}]],
                         "dataDir": format!("{d}/ipam")},
            }],
        });
        std::fs::write(dir.join("cni/10-hull.conflist"), cni.to_string()).unwrap();
        let runtime = |name: &str, bin: &Path| {
            format!(
                "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.{name}]\n\
                 runtime_type = \"io.containerd.runc.v2\"\n\
                 [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.{name}.options]\n\
                 BinaryName = \"{}\"\nSystemdCgroup = false\n",
                bin.display()
            )
        };
        let mut cfg = format!(
            "[plugins.\"io.containerd.internal.v1.opt\"]\npath = \"{d}/opt\"\n\
             [plugins.\"io.containerd.grpc.v1.cri\"]\nsandbox_image = \"{PAUSE}\"\n\
             stream_server_address = \"127.0.0.1\"\nstream_server_port = \"0\"\n\
             netns_mounts_under_state_dir = true\n\
             restrict_oom_score_adj = true\n\
             [plugins.\"io.containerd.grpc.v1.cri\".cni]\nbin_dir = \"/usr/lib/cni\"\n\
             conf_dir = \"{d}/cni\"\nmax_conf_num = 1\n\
             [plugins.\"io.containerd.grpc.v1.cri\".containerd]\n\
             default_runtime_name = \"runc\"\n"
        );
        for (name, bin) in runtimes() {
            cfg.push_str(&runtime(name, &bin));
        }
        let daemon = ContainerdDaemon::start(&dir, Some(&cfg));
        let busybox = busybox_archive(&dir, IMAGE);
        import(&daemon, &busybox);
        let root = dir.join("pause-root");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::copy(&pause, root.join("pause")).unwrap();
        let pause_dir = dir.join("pause-image");
        std::fs::create_dir_all(&pause_dir).unwrap();
        let archive = image_archive(
            &pause_dir,
            PAUSE,
            &root,
            serde_json::json!({"Entrypoint": ["/pause"]}),
        );
        import(&daemon, &archive);
        Cri {
            dir,
            daemon: Mutex::new(Some(daemon)),
            bridge,
            cgroup_parent,
        }
    }

    /// Stops containerd (pods the tests left are the leftovers it reports), deletes the
    /// bridge, and returns what is left: shims, mounts (netns pins are under the state dir),
    /// pod cgroups, veths on the bridge.
    fn teardown(&self) -> Vec<String> {
        let mut left = Vec::new();
        if let Some(mut d) = self.daemon.lock().unwrap().take() {
            for t in d.tasks("k8s.io") {
                left.push(format!("containerd task {t}"));
            }
            d.stop();
        }
        let ports = std::process::Command::new("ip")
            .args(["-br", "link", "show", "master", &self.bridge])
            .output()
            .unwrap();
        for l in String::from_utf8_lossy(&ports.stdout).lines() {
            left.push(format!("veth on {}: {l}", self.bridge));
        }
        let _ = std::process::Command::new("ip")
            .args(["link", "del", &self.bridge])
            .status();
        left.extend(leftovers(&self.dir.to_string_lossy(), None));
        // The pods' own cgroups stay (the kubelet makes and removes those); a container's or
        // sandbox's cgroup in one is a leftover.
        for p in hull_e2e::cgroup_dirs_named(&self.cgroup_parent) {
            for pod in std::fs::read_dir(&p).into_iter().flatten().flatten() {
                for e in std::fs::read_dir(pod.path())
                    .into_iter()
                    .flatten()
                    .flatten()
                {
                    if e.path().is_dir() {
                        left.push(format!("cgroup: {}", e.path().display()));
                    }
                }
            }
        }
        unmount_under(&self.dir);
        remove_cgroups(&self.cgroup_parent);
        let _ = std::fs::remove_dir_all(&self.dir);
        left
    }
}

fn import(d: &ContainerdDaemon, archive: &Path) {
    let o = d.ctr("k8s.io", &["images", "import", archive.to_str().unwrap()]);
    assert!(o.status.success(), "ctr images import: {}", out_text(&o));
}

/// The kubelet's side: a CRI client on the plugin's socket, with a runtime of its own.
struct Kubelet {
    rt: tokio::runtime::Runtime,
    client: RuntimeServiceClient<Channel>,
}

/// How long any CRI call may take before the test calls it hung (a stop's own timeout is
/// 2 s; before the kill fix StopContainer never returned).
const HUNG: Duration = Duration::from_secs(60);

impl Kubelet {
    fn connect() -> Kubelet {
        let sock = cri().dir.join("c.sock");
        let (rt, client) = hull_e2e::cri::connect(sock);
        Kubelet { rt, client }
    }

    /// Runs one call to completion, or fails it as hung after HUNG.
    fn call<T, F>(
        &self,
        what: &str,
        f: impl FnOnce(RuntimeServiceClient<Channel>) -> F,
    ) -> Result<T, String>
    where
        F: std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        let fut = f(self.client.clone());
        self.rt.block_on(async {
            match tokio::time::timeout(HUNG, fut).await {
                Ok(Ok(r)) => Ok(r.into_inner()),
                Ok(Err(e)) => Err(format!("{what}: {} {}", e.code(), e.message())),
                Err(_) => Err(format!("{what}: no answer in {HUNG:?} (hung)")),
            }
        })
    }
}

/// One handler's run of a scenario: its transcript and failed checks, as in client_session.
pub struct Pod {
    k: Kubelet,
    handler: &'static str,
    log: Vec<String>,
    fails: Vec<String>,
    pub sandbox: String,
    config: PodSandboxConfig,
}

impl Pod {
    /// RunPodSandbox for `name`-HANDLER, sharing the pid namespace in the pod when `share_pid`
    /// (shareProcessNamespace).
    pub fn run(handler: &'static str, name: &str, share_pid: bool, privileged: bool) -> Pod {
        let c = cri();
        let name = format!("{name}-{handler}");
        let logs = c.dir.join("logs").join(&name);
        std::fs::create_dir_all(&logs).unwrap();
        let pid = if share_pid { POD } else { CONTAINER };
        let config = PodSandboxConfig {
            metadata: Some(PodSandboxMetadata {
                name: name.clone(),
                uid: format!("uid-{name}"),
                namespace: "hull".into(),
                attempt: 0,
            }),
            hostname: name.clone(),
            log_directory: logs.to_string_lossy().into_owned(),
            linux: Some(LinuxPodSandboxConfig {
                cgroup_parent: format!("/{}/{name}", c.cgroup_parent),
                security_context: Some(LinuxSandboxSecurityContext {
                    namespace_options: Some(NamespaceOption {
                        network: POD,
                        pid,
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
        let mut p = Pod {
            k: Kubelet::connect(),
            handler,
            log: Vec::new(),
            fails: Vec::new(),
            sandbox: String::new(),
            config: config.clone(),
        };
        let req = RunPodSandboxRequest {
            config: Some(config),
            runtime_handler: handler.into(),
        };
        let r = p.k.call("RunPodSandbox", |mut c| async move {
            c.run_pod_sandbox(req).await
        });
        p.sandbox = p
            .record("RunPodSandbox", r.map(|r| r.pod_sandbox_id))
            .unwrap_or_default();
        p
    }

    /// Logs the call's outcome (ok, or its error) and returns its value.
    fn record<T>(&mut self, what: &str, r: Result<T, String>) -> Option<T> {
        match r {
            Ok(v) => {
                self.log.push(format!("{what}: ok"));
                Some(v)
            }
            Err(e) => {
                self.log.push(format!("{what}: error"));
                self.fails.push(e);
                None
            }
        }
    }

    pub fn check<T: PartialEq + std::fmt::Debug>(&mut self, what: &str, got: T, want: T) {
        self.log.push(format!("{what}: {got:?}"));
        if got != want {
            self.fails
                .push(format!("{what}: got {got:?}, expected {want:?}"));
        }
    }

    /// CreateContainer and StartContainer of `name` running `script`; its id.
    pub fn container(
        &mut self,
        name: &str,
        script: &str,
        tune: impl FnOnce(&mut ContainerConfig),
    ) -> String {
        let ns = self
            .config
            .linux
            .as_ref()
            .and_then(|l| l.security_context.as_ref());
        let ns = ns.and_then(|s| s.namespace_options.clone());
        let mut config = ContainerConfig {
            metadata: Some(ContainerMetadata {
                name: name.into(),
                attempt: 0,
            }),
            image: Some(ImageSpec {
                image: IMAGE.into(),
                ..Default::default()
            }),
            command: vec!["sh".into(), "-c".into(), script.into()],
            log_path: format!("{name}.log"),
            linux: Some(LinuxContainerConfig {
                security_context: Some(LinuxContainerSecurityContext {
                    namespace_options: ns,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        tune(&mut config);
        let req = CreateContainerRequest {
            pod_sandbox_id: self.sandbox.clone(),
            config: Some(config),
            sandbox_config: Some(self.config.clone()),
        };
        let r = self.k.call("CreateContainer", |mut c| async move {
            c.create_container(req).await
        });
        let id = self
            .record(
                &format!("CreateContainer {name}"),
                r.map(|r| r.container_id),
            )
            .unwrap_or_default();
        let req = StartContainerRequest {
            container_id: id.clone(),
        };
        let r = self.k.call("StartContainer", |mut c| async move {
            c.start_container(req).await
        });
        self.record(&format!("StartContainer {name}"), r);
        id
    }

    /// ExecSync of `sh -c script` in `id`: exit code and stdout.
    pub fn exec(&mut self, id: &str, script: &str) -> (i32, String) {
        let req = ExecSyncRequest {
            container_id: id.into(),
            cmd: vec!["sh".into(), "-c".into(), script.into()],
            timeout: 30,
        };
        let r = self
            .k
            .call("ExecSync", |mut c| async move { c.exec_sync(req).await });
        match r {
            Ok(r) => (
                r.exit_code,
                String::from_utf8_lossy(&r.stdout).trim().to_string(),
            ),
            Err(e) => {
                self.fails.push(e);
                (-1, String::new())
            }
        }
    }

    /// Attach to `id` with stdin and stdout (and stderr unless `tty`, where the terminal
    /// carries both): the streaming server's URL for it.
    pub fn attach(&mut self, id: &str, tty: bool) -> Option<String> {
        let req = AttachRequest {
            container_id: id.into(),
            stdin: true,
            tty,
            stdout: true,
            stderr: !tty,
        };
        let r = self
            .k
            .call("Attach", |mut c| async move { c.attach(req).await });
        self.record("Attach", r.map(|r| r.url))
    }

    /// ContainerStatus of `id`: state, exit code, reason.
    fn status(&mut self, id: &str) -> (i32, i32, String) {
        let req = k8s_cri::v1::ContainerStatusRequest {
            container_id: id.into(),
            verbose: false,
        };
        let r = self.k.call("ContainerStatus", |mut c| async move {
            c.container_status(req).await
        });
        match r.ok().and_then(|r| r.status) {
            Some(s) => (s.state, s.exit_code, s.reason),
            None => (-1, -1, String::new()),
        }
    }

    /// Polls ContainerStatus until `id` has exited (60 s): its exit code and reason.
    pub fn wait_exit(&mut self, id: &str) -> (i32, String) {
        let mut last = (-1, -1, String::new());
        hull_e2e::wait_for(60, || {
            last = self.status(id);
            last.0 == EXITED
        });
        (last.1, last.2)
    }

    /// The pod's network namespace, as containerd's sandbox info gives it.
    fn netns(&mut self) -> Option<String> {
        let req = PodSandboxStatusRequest {
            pod_sandbox_id: self.sandbox.clone(),
            verbose: true,
        };
        let r = self
            .k
            .call("PodSandboxStatus", |mut c| async move {
                c.pod_sandbox_status(req).await
            })
            .ok()?;
        let info: serde_json::Value = serde_json::from_str(r.info.get("info")?).ok()?;
        info["runtimeSpec"]["linux"]["namespaces"]
            .as_array()?
            .iter()
            .find(|n| n["type"] == "network")?["path"]
            .as_str()
            .map(str::to_string)
    }

    /// UpdateContainerResources of `id` (the kubelet's resize and CPU manager use it).
    pub fn update(&mut self, id: &str, resources: LinuxContainerResources) {
        let req = UpdateContainerResourcesRequest {
            container_id: id.into(),
            linux: Some(resources),
            ..Default::default()
        };
        let r = self.k.call("UpdateContainerResources", |mut c| async move {
            c.update_container_resources(req).await
        });
        self.record("UpdateContainerResources", r);
    }

    /// StopContainer (2 s grace) and RemoveContainer of `id`.
    pub fn remove(&mut self, name: &str, id: &str) {
        let req = StopContainerRequest {
            container_id: id.into(),
            timeout: 2,
        };
        let r = self.k.call("StopContainer", |mut c| async move {
            c.stop_container(req).await
        });
        self.record(&format!("StopContainer {name}"), r);
        let req = RemoveContainerRequest {
            container_id: id.into(),
        };
        let r = self.k.call("RemoveContainer", |mut c| async move {
            c.remove_container(req).await
        });
        self.record(&format!("RemoveContainer {name}"), r);
    }

    /// StopPodSandbox and RemovePodSandbox, then a check that nothing of the pod is left:
    /// the sandbox's and containers' shims, mounts, cgroups, and the network namespace.
    pub fn finish(mut self, ids: &[String]) -> (Vec<String>, Vec<String>) {
        if self.sandbox.is_empty() {
            return (
                self.log,
                self.fails
                    .into_iter()
                    .map(|f| format!("[{}] {f}", self.handler))
                    .collect(),
            );
        }
        let netns = self.netns();
        let id = self.sandbox.clone();
        let req = StopPodSandboxRequest {
            pod_sandbox_id: id.clone(),
        };
        let r = self.k.call("StopPodSandbox", |mut c| async move {
            c.stop_pod_sandbox(req).await
        });
        self.record("StopPodSandbox", r);
        let req = RemovePodSandboxRequest {
            pod_sandbox_id: id.clone(),
        };
        let r = self.k.call("RemovePodSandbox", |mut c| async move {
            c.remove_pod_sandbox(req).await
        });
        self.record("RemovePodSandbox", r);
        for i in ids.iter().chain([&id]).filter(|i| !i.is_empty()) {
            let left = leftovers(i, Some(i));
            if !left.is_empty() {
                self.fails.push(format!("{i} left behind: {left:#?}"));
            }
        }
        match netns {
            Some(ns) if Path::new(&ns).exists() => self.fails.push(format!("netns {ns} left")),
            Some(_) => {}
            None if id.is_empty() => {}
            None => self.fails.push("no netns in the sandbox's spec".into()),
        }
        (
            self.log,
            self.fails
                .into_iter()
                .map(|f| format!("[{}] {f}", self.handler))
                .collect(),
        )
    }
}
