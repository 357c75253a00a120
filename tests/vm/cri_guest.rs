//! The kubelet's side of containerd's CRI plugin inside the systemd guest (tests/vm/
//! systemd-cri.sh runs it; built on the host: `cargo build -p hull-e2e --example cri-guest`).
//!
//! `cri-guest images DIR HULL_PAUSE`: writes DIR/busybox/image.tar and DIR/pause/image.tar (docker
//! archives: the host's busybox, and hull-pause as the sandbox image) for `ctr -n k8s.io
//! images import`.
//! `cri-guest pod SOCKET HANDLER`: one pod lifecycle as the kubelet's systemd driver runs it,
//! printing a transcript (ids and the handler replaced, so that runc's and hullrt's compare
//! equal): RunPodSandbox with the host network (no CNI in the guest) under the cgroup parent
//! `kubepods-besteffort-pod<uid>.slice`, CreateContainer and StartContainer with a memory
//! limit, ExecSync, what the host sees of the container's scope, StopContainer,
//! RemoveContainer, StopPodSandbox, RemovePodSandbox, then that the scopes are gone. Exits 1
//! when a call or check failed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hull_e2e::image::{busybox_archive, image_archive};
use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use k8s_cri::v1::{
    ContainerConfig, ContainerMetadata, CreateContainerRequest, ExecSyncRequest, ImageSpec,
    LinuxContainerConfig, LinuxContainerResources, LinuxPodSandboxConfig,
    LinuxSandboxSecurityContext, NamespaceOption, PodSandboxConfig, PodSandboxMetadata,
    RemoveContainerRequest, RemovePodSandboxRequest, RunPodSandboxRequest, StartContainerRequest,
    StopContainerRequest, StopPodSandboxRequest,
};
use tonic::transport::Channel;

const IMAGE: &str = "hull.test/busybox:latest";
const PAUSE: &str = "hull.test/pause:1";
/// NamespaceMode NODE: the host's network, so RunPodSandbox needs no CNI.
const NODE: i32 = 2;
const POD: i32 = 0;

fn images(dir: &Path, pause: &Path) {
    let b = dir.join("busybox");
    std::fs::create_dir_all(&b).unwrap();
    busybox_archive(&b, IMAGE);
    let p = dir.join("pause");
    let root = dir.join("pause-root");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(&p).unwrap();
    std::fs::copy(pause, root.join("pause")).unwrap();
    image_archive(
        &p,
        PAUSE,
        &root,
        serde_json::json!({"Entrypoint": ["/pause"]}),
    );
    std::fs::remove_dir_all(root).unwrap();
}

struct Kubelet {
    rt: tokio::runtime::Runtime,
    client: RuntimeServiceClient<Channel>,
    handler: String,
    fails: usize,
}

impl Kubelet {
    fn connect(sock: PathBuf, handler: String) -> Kubelet {
        let (rt, client) = hull_e2e::cri::connect(sock);
        Kubelet {
            rt,
            client,
            handler,
            fails: 0,
        }
    }

    /// One call (failed as hung after two minutes); prints `what: ok` or the error.
    fn call<T, F>(
        &mut self,
        what: &str,
        f: impl FnOnce(RuntimeServiceClient<Channel>) -> F,
    ) -> Option<T>
    where
        F: std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        let fut = f(self.client.clone());
        let hung = Duration::from_secs(120);
        let r = self.rt.block_on(async {
            match tokio::time::timeout(hung, fut).await {
                Ok(Ok(r)) => Ok(r.into_inner()),
                Ok(Err(e)) => Err(format!("{} {}", e.code(), e.message())),
                Err(_) => Err(format!("no answer in {hung:?} (hung)")),
            }
        });
        match r {
            Ok(v) => {
                println!("{what}: ok");
                Some(v)
            }
            Err(e) => {
                println!("{what}: FAILED: {e}");
                self.fails += 1;
                None
            }
        }
    }

    fn check(&mut self, what: &str, got: String, want: &str) {
        let got = got
            .replace(&self.handler, "RT")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if got == want {
            println!("{what}: {got}");
        } else {
            println!("{what}: FAILED: got '{got}', want '{want}'");
            self.fails += 1;
        }
    }
}

/// The container's scope as systemd names it, under the pod's nested slice.
fn scope_dir(slice: &str, id: &str) -> PathBuf {
    Path::new("/sys/fs/cgroup/kubepods.slice/kubepods-besteffort.slice")
        .join(slice)
        .join(format!("cri-containerd-{id}.scope"))
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| format!("{}: {e}", p.display()))
}

fn pod(sock: &str, handler: &str) -> i32 {
    let mut k = Kubelet::connect(sock.into(), handler.into());
    // The kubelet's systemd driver: the pod's slice, its uid's '-' escaped to '_'.
    let uid = format!("hulltest_{handler}_{}", std::process::id());
    let slice = format!("kubepods-besteffort-pod{uid}.slice");
    let config = PodSandboxConfig {
        metadata: Some(PodSandboxMetadata {
            name: format!("pod-{handler}"),
            uid: uid.clone(),
            namespace: "hull".into(),
            attempt: 0,
        }),
        linux: Some(LinuxPodSandboxConfig {
            cgroup_parent: slice.clone(),
            security_context: Some(LinuxSandboxSecurityContext {
                namespace_options: Some(NamespaceOption {
                    network: NODE,
                    pid: POD,
                    ipc: POD,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let req = RunPodSandboxRequest {
        config: Some(config.clone()),
        runtime_handler: handler.into(),
    };
    let Some(sandbox) = k.call("RunPodSandbox", |mut c| async move {
        c.run_pod_sandbox(req).await
    }) else {
        return 1;
    };
    let sandbox = sandbox.pod_sandbox_id;
    let cc = ContainerConfig {
        metadata: Some(ContainerMetadata {
            name: "one".into(),
            attempt: 0,
        }),
        image: Some(ImageSpec {
            image: IMAGE.into(),
            ..Default::default()
        }),
        command: vec!["sh".into(), "-c".into(), "exec sleep 1000".into()],
        linux: Some(LinuxContainerConfig {
            resources: Some(LinuxContainerResources {
                memory_limit_in_bytes: 64 << 20,
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let req = CreateContainerRequest {
        pod_sandbox_id: sandbox.clone(),
        config: Some(cc),
        sandbox_config: Some(config),
    };
    let id = k
        .call("CreateContainer", |mut c| async move {
            c.create_container(req).await
        })
        .map(|r| r.container_id)
        .unwrap_or_default();
    let req = StartContainerRequest {
        container_id: id.clone(),
    };
    k.call("StartContainer", |mut c| async move {
        c.start_container(req).await
    });
    // From inside: the cgroup (containerd gives a private cgroup namespace on v2) and the
    // limit at its root.
    let req = ExecSyncRequest {
        container_id: id.clone(),
        cmd: [
            "sh",
            "-c",
            "cat /proc/self/cgroup /sys/fs/cgroup/memory.max; exit 3",
        ]
        .map(String::from)
        .to_vec(),
        timeout: 60,
    };
    if let Some(r) = k.call("ExecSync", |mut c| async move { c.exec_sync(req).await }) {
        let out = String::from_utf8_lossy(&r.stdout).replace(&id, "ID");
        k.check("ExecSync exit", r.exit_code.to_string(), "3");
        k.check("ExecSync inside", out, "0::/ 67108864");
    }
    // From the host: the scopes systemd made, in the pod's nested slices.
    let (c_scope, s_scope) = (scope_dir(&slice, &id), scope_dir(&slice, &sandbox));
    k.check(
        "host: container memory.max",
        read(&c_scope.join("memory.max")),
        "67108864",
    );
    k.check(
        "host: container procs",
        read(&c_scope.join("cgroup.procs"))
            .lines()
            .count()
            .to_string(),
        "1",
    );
    k.check(
        "host: sandbox procs",
        read(&s_scope.join("cgroup.procs"))
            .lines()
            .count()
            .to_string(),
        "1",
    );
    let req = StopContainerRequest {
        container_id: id.clone(),
        timeout: 2,
    };
    k.call("StopContainer", |mut c| async move {
        c.stop_container(req).await
    });
    let req = RemoveContainerRequest {
        container_id: id.clone(),
    };
    k.call("RemoveContainer", |mut c| async move {
        c.remove_container(req).await
    });
    let req = StopPodSandboxRequest {
        pod_sandbox_id: sandbox.clone(),
    };
    k.call("StopPodSandbox", |mut c| async move {
        c.stop_pod_sandbox(req).await
    });
    let req = RemovePodSandboxRequest {
        pod_sandbox_id: sandbox.clone(),
    };
    k.call("RemovePodSandbox", |mut c| async move {
        c.remove_pod_sandbox(req).await
    });
    let gone = |p: &Path| if p.exists() { "present" } else { "gone" }.to_string();
    k.check("after: container scope", gone(&c_scope), "gone");
    k.check("after: sandbox scope", gone(&s_scope), "gone");
    i32::from(k.fails > 0)
}

fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    match a[..] {
        ["images", dir, pause] => images(Path::new(dir), Path::new(pause)),
        ["pod", sock, handler] => std::process::exit(pod(sock, handler)),
        _ => {
            eprintln!("usage: cri-guest images DIR HULL_PAUSE | cri-guest pod SOCKET HANDLER");
            std::process::exit(2);
        }
    }
}
