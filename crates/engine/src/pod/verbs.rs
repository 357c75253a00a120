//! The pod verbs: create, list, inspect, start, stop, restart, kill, pause/unpause, rm, top,
//! the members (for `pod logs`/`pod stats`), and the `--pod` of `run`/`create`. Each looks
//! the pod up and runs `pod::ops` (the lifecycle: members, then the infra, in order).

use serde_json::Value;

use super::plan::PodPlan;
use super::{hooks, ops, store};
use crate::container::create::Request;
use crate::container::Container;
use crate::engine::Engine;
use crate::error::{Error, Result};

impl Engine {
    /// `run --pod` / `create --pod`: the request joins the pod `key` (its infra started if
    /// the pod is stopped; refused if degraded).
    pub fn pod_join(&self, key: &str, req: &mut Request) -> Result<()> {
        let p = ops::lookup(self, key)?;
        ops::ensure_infra(self, &p)?;
        hooks::join(&p, &mut req.config).map_err(Error::InvalidArgument)
    }

    /// Every pod, as `pod ps` and `pod inspect` show one (docker-style JSON rows).
    pub fn pod_list(&self) -> Result<Vec<(store::Pod, Value)>> {
        let mut rows = Vec::new();
        for p in store::list(&self.conn)? {
            let v = ops::inspect(self, &p)?;
            rows.push((p, v));
        }
        Ok(rows)
    }

    /// `pod create`: the pod (row, cgroup parent, volumes, network) with its infra started.
    pub fn pod_create(&mut self, plan: PodPlan) -> Result<store::Pod> {
        Ok(ops::create(self, plan, "")?)
    }

    /// `pod inspect`: the pod `key` as docker-style JSON.
    pub fn pod_inspect(&self, key: &str) -> Result<Value> {
        let p = ops::lookup(self, key)?;
        Ok(ops::inspect(self, &p)?)
    }

    /// The pod `key`'s containers (the infra is not one), oldest first.
    pub fn pod_members(&self, key: &str) -> Result<Vec<Container>> {
        let p = ops::lookup(self, key)?;
        Ok(ops::members(self, &p)?)
    }

    /// `pod start`: the infra, then every container not running (init containers, which
    /// ran to completion, are left). The pod.
    pub fn pod_start(&self, key: &str) -> Result<store::Pod> {
        let p = ops::lookup(self, key)?;
        ops::start(self, &p)?;
        Ok(p)
    }

    /// `pod stop`: every container (`timeout` seconds before SIGKILL), then the infra.
    pub fn pod_stop(&self, key: &str, timeout: Option<u32>) -> Result<store::Pod> {
        let p = ops::lookup(self, key)?;
        ops::stop(self, &p, timeout)?;
        Ok(p)
    }

    /// `pod restart`: stop, then start.
    pub fn pod_restart(&self, key: &str) -> Result<store::Pod> {
        let p = ops::lookup(self, key)?;
        ops::stop(self, &p, None)?;
        ops::start(self, &p)?;
        Ok(p)
    }

    /// `pod kill`: `signal` to every running container.
    pub fn pod_kill(&self, key: &str, signal: i32) -> Result<store::Pod> {
        let p = ops::lookup(self, key)?;
        ops::kill(self, &p, signal)?;
        Ok(p)
    }

    /// `pod pause` (`on`) or `pod unpause`: every container frozen or thawed.
    pub fn pod_pause(&self, key: &str, on: bool) -> Result<store::Pod> {
        let p = ops::lookup(self, key)?;
        ops::pause(self, &p, on)?;
        Ok(p)
    }

    /// `pod rm`: its containers (running ones only with `force`), the infra, network,
    /// cgroup parent, volumes and row.
    pub fn pod_remove(&mut self, key: &str, force: bool) -> Result<store::Pod> {
        let p = ops::lookup(self, key)?;
        ops::remove(self, &p, force)?;
        Ok(p)
    }

    /// `pod stats`: one reading of the counters of each of the pod `key`'s running
    /// containers, oldest first (the container `stats` verb's reading, taken of all at once).
    /// CPU % is the change between two readings (`container::stats::cpu_percent`).
    pub fn pod_stats(
        &self,
        key: &str,
    ) -> Result<Vec<(Container, crate::container::stats::Sample)>> {
        let live: Vec<Container> = self
            .pod_members(key)?
            .into_iter()
            .filter(|c| c.status.is_live())
            .collect();
        let mut read = crate::container::stats::sample_all(&live);
        Ok(live
            .into_iter()
            .filter_map(|c| read.remove(&c.id).map(|s| (c, s)))
            .collect())
    }

    /// `pod top`: every process of every member, as (container name, pid, command line).
    pub fn pod_top(&self, key: &str) -> Result<Vec<(String, i32, String)>> {
        let mut rows = Vec::new();
        for c in self.pod_members(key)? {
            for pid in crate::container::stats::pids(&c).unwrap_or_default() {
                let cmd = std::fs::read(format!("/proc/{pid}/cmdline"))
                    .map(|b| {
                        String::from_utf8_lossy(&b)
                            .split('\0')
                            .filter(|s| !s.is_empty())
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .unwrap_or_default();
                rows.push((c.name.clone(), pid, cmd));
            }
        }
        Ok(rows)
    }
}
