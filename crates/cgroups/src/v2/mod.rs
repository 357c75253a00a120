//! cgroup v2: one directory under the unified mount.

use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;

use crate::error::{Error, Result};
use crate::{fs, CgroupVersion, Manager, Stats};

mod resources;
mod stats;
#[cfg(test)]
mod tests;

pub(crate) struct V2Manager {
    root: PathBuf,
    path: PathBuf,
    dir: PathBuf,
}

impl V2Manager {
    pub fn new(root: PathBuf, path: PathBuf) -> Self {
        let dir = root.join(&path);
        V2Manager { root, path, dir }
    }

    /// Enable in `dir`'s subtree_control every controller `dir` itself has, so children get
    /// them. All at once first (one write, the common case); if the kernel refuses the set
    /// (e.g. a controller that cannot be enabled here), one by one, keeping what works: a
    /// controller that stays off makes apply() fail later naming the field that needed it.
    fn enable_controllers(&self, dir: &Path) -> Result<()> {
        let Some(avail) = fs::read_opt(&dir.join("cgroup.controllers"))? else {
            return Ok(());
        };
        let ctl = dir.join("cgroup.subtree_control");
        let enabled = fs::read_opt(&ctl)?.unwrap_or_default();
        let want: Vec<String> = avail
            .split_whitespace()
            .filter(|c| !enabled.split_whitespace().any(|e| e == *c))
            .map(|c| format!("+{c}"))
            .collect();
        if want.is_empty() {
            return Ok(());
        }
        if fs::write(&ctl, &want.join(" ")).is_err() {
            for w in &want {
                let _ = fs::write(&ctl, w);
            }
        }
        Ok(())
    }

    fn events(&self) -> Result<std::collections::BTreeMap<String, u64>> {
        fs::read_flat_keyed(&self.dir.join("cgroup.events"))
    }

    fn set_frozen(&self, frozen: bool) -> Result<()> {
        let file = self.dir.join("cgroup.freeze");
        if !file.exists() {
            return Err(Error::NoController {
                controller: "freezer",
                path: self.dir.clone(),
            });
        }
        fs::write(&file, if frozen { "1" } else { "0" })?;
        let want = u64::from(frozen);
        let what = if frozen { "freeze" } else { "thaw" };
        fs::poll(&self.dir.join("cgroup.events"), what, || {
            Ok(self.events()?.get("frozen") == Some(&want))
        })
    }

    fn kill_all(&self) -> Result<()> {
        let kill = self.dir.join("cgroup.kill");
        if kill.exists() {
            // Kernel 5.14+: one write kills the whole subtree, racing no fork.
            return fs::write(&kill, "1");
        }
        fs::pids_recursive(&self.dir).and_then(|p| fs::kill_all(&self.dir, &p))
    }
}

impl Manager for V2Manager {
    fn version(&self) -> CgroupVersion {
        CgroupVersion::V2
    }

    fn path(&self) -> &Path {
        &self.path
    }

    fn create(&self) -> Result<()> {
        let mut cur = self.root.clone();
        for comp in self.path.components() {
            // Controllers must be on in the parent's subtree_control before the child can
            // use them; the leaf itself gets none (no internal processes rule).
            self.enable_controllers(&cur)?;
            cur.push(comp);
            fs::mkdir(&cur)?;
        }
        Ok(())
    }

    fn add_task(&self, pid: i32) -> Result<()> {
        fs::write(&self.dir.join("cgroup.procs"), &pid.to_string())
    }

    fn apply(&self, res: &LinuxResources) -> Result<()> {
        resources::apply(&self.dir, res)
    }

    fn freeze(&self) -> Result<()> {
        self.set_frozen(true)
    }

    fn thaw(&self) -> Result<()> {
        self.set_frozen(false)
    }

    fn is_frozen(&self) -> Result<bool> {
        Ok(self.events()?.get("frozen") == Some(&1))
    }

    fn pids(&self) -> Result<Vec<i32>> {
        fs::pids_recursive(&self.dir)
    }

    fn stats(&self) -> Result<Stats> {
        stats::stats(&self.dir)
    }

    fn usage(&self) -> Result<crate::Usage> {
        stats::usage(&self.dir)
    }

    fn cpu_ns(&self) -> Result<u64> {
        stats::cpu_ns(&self.dir)
    }

    fn oom_kill_count(&self) -> Result<u64> {
        let events = fs::read_flat_keyed(&self.dir.join("memory.events"))?;
        Ok(events.get("oom_kill").copied().unwrap_or(0))
    }

    fn destroy(&self) -> Result<()> {
        if !self.dir.exists() {
            return Ok(());
        }
        let mut errors = Vec::new();
        if self.dir.join("cgroup.kill").exists() {
            // cgroup.kill delivers SIGKILL even to frozen tasks; thaw anyway so nothing is
            // left frozen if the kill write fails.
            if let Err(e) = self.kill_all() {
                errors.push(e);
            }
            if self.is_frozen().unwrap_or(false) {
                let _ = self.thaw();
            }
        } else {
            // Freeze so nothing forks between listing and killing, then thaw so the
            // signals are delivered.
            let frozen = self.freeze().is_ok();
            if let Err(e) = self.kill_all() {
                errors.push(e);
            }
            if frozen {
                if let Err(e) = self.thaw() {
                    errors.push(e);
                }
            }
        }
        if let Err(e) = fs::remove_cgroup(&self.dir, || self.kill_all()) {
            errors.push(e);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Destroy {
                path: self.path.clone(),
                errors,
            })
        }
    }
}
