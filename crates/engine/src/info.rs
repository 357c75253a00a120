//! `info` (`hull info`, the API's `GET /info`): docker's Info of this engine and host, and
//! what it counts (containers by status, images, volumes).

use crate::container::Status;
use crate::engine::Engine;
use crate::error::Result;
use crate::sysinfo;

/// docker's Info counts (serialized with docker's Info field names).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Counts {
    pub containers: usize,
    /// Running or restarting.
    #[serde(rename = "ContainersRunning")]
    pub running: usize,
    #[serde(rename = "ContainersPaused")]
    pub paused: usize,
    #[serde(rename = "ContainersStopped")]
    pub stopped: usize,
    /// As `images -a` lists them (a build's intermediates are its cache, not images).
    pub images: usize,
    pub volumes: usize,
}

impl Counts {
    /// Adds the counts' fields to `info`, docker's Info object.
    pub fn add_to(&self, info: &mut serde_json::Value) {
        if let (Some(info), Ok(serde_json::Value::Object(fields))) =
            (info.as_object_mut(), serde_json::to_value(self))
        {
            info.extend(fields);
        }
    }
}

impl Engine {
    /// The counts; with `checked`, the containers' statuses are checked against the kernel
    /// (that needs the runtime: a report that must work without it passes false and counts
    /// the statuses as stored).
    pub fn counts(&self, checked: bool) -> Result<Counts> {
        let containers = match checked {
            true => self.list()?,
            false => self.list_stored()?,
        };
        let count = |s: Status| containers.iter().filter(|c| c.status == s).count();
        let running = count(Status::Running) + count(Status::Restarting);
        let paused = count(Status::Paused);
        Ok(Counts {
            containers: containers.len(),
            running,
            paused,
            stopped: containers.len() - running - paused,
            images: self.image_list(&[])?.len(),
            volumes: self.volume_list()?.len(),
        })
    }

    /// docker's Info object: the counts (`checked` as for [`Engine::counts`]), the storage,
    /// cgroup and logging drivers, the host's facts and the root directory. The front ends
    /// add what is theirs: the runtime as they name it (`DefaultRuntime`, `Runtimes`), and
    /// hull's directories (the CLI) or docker's plugins and swarm fields (the API).
    pub fn info(&self, checked: bool) -> Result<serde_json::Value> {
        let mut info = serde_json::json!({
            "ID": "",
            "Driver": "overlay",
            "DriverStatus": [["Backing Filesystem", sysinfo::backing_fs(&self.paths.root)]],
            "LoggingDriver": "json-file",
            "CgroupDriver": self.cgroup_manager().as_str(),
            "CgroupVersion": sysinfo::cgroup_version(),
            "KernelVersion": sysinfo::kernel_version(),
            "OperatingSystem": sysinfo::operating_system(),
            "OSType": "linux",
            "Architecture": sysinfo::machine(),
            "NCPU": sysinfo::ncpu(),
            "MemTotal": sysinfo::mem_total(),
            "Name": sysinfo::hostname(),
            "ServerVersion": env!("CARGO_PKG_VERSION"),
            "DockerRootDir": self.paths.root.display().to_string(),
            "SecurityOptions": ["name=seccomp,profile=builtin"],
            "SystemTime": crate::time::now_rfc3339(),
        });
        self.counts(checked)?.add_to(&mut info);
        Ok(info)
    }
}

#[cfg(test)]
mod tests {
    use super::Counts;

    #[test]
    fn counts_have_dockers_info_names() {
        let mut info = serde_json::json!({ "ID": "" });
        Counts {
            containers: 3,
            running: 1,
            paused: 1,
            stopped: 1,
            images: 2,
            volumes: 4,
        }
        .add_to(&mut info);
        assert_eq!(
            info,
            serde_json::json!({
                "ID": "", "Containers": 3, "ContainersRunning": 1, "ContainersPaused": 1,
                "ContainersStopped": 1, "Images": 2, "Volumes": 4,
            })
        );
    }
}
