//! The systemd cgroup driver, as runc's: `linux.cgroupsPath` "slice:prefix:name" becomes a
//! transient unit ("prefix-name.scope" in the slice) that systemd creates over D-Bus with the
//! container's init in it and `Delegate=yes`; the limits go both to the unit's properties
//! (those systemd knows) and, as with the cgroupfs driver, to the cgroup's files. Everything
//! else (freeze, stats, pids, OOM count) reads and writes the cgroup systemd made, through
//! the cgroupfs manager of its version.

use std::cell::{Cell, OnceCell, RefCell};
use std::path::Path;

use oci_spec::runtime::LinuxResources;

use crate::{CgroupVersion, Manager, Result, Stats};

mod dbus;
pub mod props;
mod unit;
mod wire;

pub use unit::{expand_slice, Unit};

/// Whether `cgroups_path` is in the systemd driver's form (cgroupfs paths have no ':').
pub fn is_systemd_path(cgroups_path: &str) -> bool {
    cgroups_path.contains(':')
}

/// The cgroupsPath a container gets under the systemd driver: the spec's, checked, or
/// runc's default for root ("system.slice:<runtime>:<id>") when the spec has none.
pub fn cgroups_path(spec_path: Option<&str>, runtime: &str, id: &str) -> Result<String> {
    let p = match spec_path {
        Some(p) if !p.is_empty() => p.to_string(),
        _ => format!("system.slice:{runtime}:{id}"),
    };
    Unit::parse(&p)?;
    Ok(p)
}

/// A manager for the unit `cgroups_path` ("slice:prefix:name") names.
pub fn manager(cgroups_path: &str, id: &str) -> Result<Box<dyn Manager>> {
    let unit = Unit::parse(cgroups_path)?;
    let inner = crate::manager_for(unit.cgroup_path())?;
    Ok(Box::new(SystemdManager {
        description: format!("hullrt container {id}"),
        unit,
        inner,
        bus: OnceCell::new(),
        starting: Cell::new(false),
        pending: RefCell::new(None),
    }))
}

struct SystemdManager {
    unit: Unit,
    description: String,
    /// The cgroupfs manager of the unit's cgroup.
    inner: Box<dyn Manager>,
    bus: OnceCell<dbus::Systemd>,
    /// create() was called for a scope: systemd makes the cgroup when add_task gives it the
    /// first pid, so apply() keeps the resources for then.
    starting: Cell<bool>,
    pending: RefCell<Option<LinuxResources>>,
}

impl SystemdManager {
    fn bus(&self) -> Result<&dbus::Systemd> {
        if let Some(b) = self.bus.get() {
            return Ok(b);
        }
        let b = dbus::Systemd::connect()?;
        Ok(self.bus.get_or_init(|| b))
    }

    /// Starts the unit (with `pid` in it, for a scope), then makes the cgroupfs side agree:
    /// the v1 hierarchies systemd does not manage (cpuset, freezer...) get the same path, and
    /// every resource is written through the files as well.
    fn start(&self, pid: Option<i32>) -> Result<()> {
        let pending = self.pending.borrow_mut().take();
        let props = props::for_start(
            &self.description,
            &self.unit.slice,
            pid.unwrap_or(0).unsigned_abs(),
            pid.is_some(),
            self.inner.version(),
            pending.as_ref(),
        );
        self.bus()?.start_transient(&self.unit.name, &props)?;
        self.inner.create()?;
        if let Some(res) = &pending {
            self.inner.apply(res)?;
        }
        if let Some(pid) = pid {
            self.inner.add_task(pid)?;
        }
        Ok(())
    }
}

impl Manager for SystemdManager {
    fn version(&self) -> CgroupVersion {
        self.inner.version()
    }

    fn path(&self) -> &Path {
        self.inner.path()
    }

    fn create(&self) -> Result<()> {
        if self.unit.is_scope() {
            self.starting.set(true);
            return Ok(());
        }
        self.start(None)
    }

    fn add_task(&self, pid: i32) -> Result<()> {
        if self.starting.replace(false) {
            return self.start(Some(pid));
        }
        self.inner.add_task(pid)
    }

    fn apply(&self, res: &LinuxResources) -> Result<()> {
        if self.starting.get() {
            *self.pending.borrow_mut() = Some(res.clone());
            return Ok(());
        }
        let props = props::resources(self.inner.version(), res);
        if !props.is_empty() {
            self.bus()?.set_properties(&self.unit.name, &props)?;
        }
        self.inner.apply(res)
    }

    fn freeze(&self) -> Result<()> {
        self.inner.freeze()
    }

    fn thaw(&self) -> Result<()> {
        self.inner.thaw()
    }

    fn is_frozen(&self) -> Result<bool> {
        self.inner.is_frozen()
    }

    fn pids(&self) -> Result<Vec<i32>> {
        self.inner.pids()
    }

    fn stats(&self) -> Result<Stats> {
        self.inner.stats()
    }

    fn usage(&self) -> Result<crate::Usage> {
        self.inner.usage()
    }

    fn cpu_ns(&self) -> Result<u64> {
        self.inner.cpu_ns()
    }

    fn oom_kill_count(&self) -> Result<u64> {
        self.inner.oom_kill_count()
    }

    /// Kills what is left and removes the cgroupfs side first (so stopping the unit never
    /// waits for systemd's SIGTERM timeout), then stops the unit and resets it if it failed:
    /// no unit and no cgroup remain.
    fn destroy(&self) -> Result<()> {
        let fs = self.inner.destroy();
        if self.starting.get() {
            // Never started: there is no unit.
            return fs;
        }
        let unit = self.bus().and_then(|b| b.stop(&self.unit.name));
        fs.and(unit)
    }
}
