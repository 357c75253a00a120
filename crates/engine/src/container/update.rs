//! `update`: new resource limits, applied at once to a live container through the runtime's
//! `update --resources -` and stored for its next start; a new restart policy; a new fake
//! clock for a container started with one.

use serde_json::{json, Value};

use crate::container::config::{RestartPolicy, RunConfig};
use crate::container::{self, clock};
use crate::engine::Engine;
use crate::error::{Error, Result};

/// What to change; None leaves a setting as it is. Values are parsed (the CLI's flags).
#[derive(Debug, Default, Clone)]
pub struct UpdateRequest {
    /// Memory limit in bytes.
    pub memory: Option<i64>,
    /// Memory plus swap in bytes; -1 unlimited swap, 0 twice the memory.
    pub memory_swap: Option<i64>,
    /// CPUs in billionths.
    pub nano_cpus: Option<i64>,
    pub cpu_shares: Option<u64>,
    /// A cpuset list (0-3, 0,1).
    pub cpuset_cpus: Option<String>,
    /// Maximum number of processes; 0 or less: unlimited.
    pub pids_limit: Option<i64>,
    pub restart: Option<RestartPolicy>,
    /// A fake clock in `--faketime`'s syntax.
    pub faketime: Option<String>,
}

impl UpdateRequest {
    /// True when the request changes nothing.
    pub fn is_empty(&self) -> bool {
        self.memory.is_none()
            && self.memory_swap.is_none()
            && self.nano_cpus.is_none()
            && self.cpu_shares.is_none()
            && self.cpuset_cpus.is_none()
            && self.pids_limit.is_none()
            && self.restart.is_none()
            && self.faketime.is_none()
    }

    /// `cfg` with the request's changes, and the OCI `linux.resources` for them.
    fn apply(&self, cfg: &mut RunConfig) -> Result<Value> {
        let mut res = json!({});
        if let Some(m) = self.memory {
            cfg.memory = m;
        }
        if let Some(s) = self.memory_swap {
            cfg.memory_swap = s;
        }
        if self.memory.is_some() || self.memory_swap.is_some() {
            if cfg.memory <= 0 {
                return Err(Error::InvalidArgument(
                    "invalid --memory-swap: it needs a memory limit (--memory)".into(),
                ));
            }
            // docker: swap defaults to twice the memory.
            let swap = match cfg.memory_swap {
                0 => cfg.memory * 2,
                s => s,
            };
            if swap != -1 && swap < cfg.memory {
                return Err(Error::InvalidArgument(format!(
                    "invalid --memory-swap {swap}: must be at least --memory ({})",
                    cfg.memory
                )));
            }
            res["memory"] = json!({"limit": cfg.memory, "swap": swap});
        }
        let mut cpu = json!({});
        if let Some(n) = self.nano_cpus {
            cfg.nano_cpus = n;
            cpu["period"] = json!(100_000u64);
            cpu["quota"] = json!(cfg.nano_cpus / 10_000);
        }
        if let Some(s) = self.cpu_shares {
            cfg.cpu_shares = s;
            cpu["shares"] = json!(s);
        }
        if let Some(set) = &self.cpuset_cpus {
            cfg.cpuset_cpus = set.clone();
            cpu["cpus"] = json!(cfg.cpuset_cpus);
        }
        if cpu.as_object().is_some_and(|o| !o.is_empty()) {
            res["cpu"] = cpu;
        }
        if let Some(p) = self.pids_limit {
            cfg.pids_limit = p;
            res["pids"] = json!({"limit": if p <= 0 { -1 } else { p }});
        }
        if let Some(r) = &self.restart {
            cfg.restart = r.clone();
        }
        Ok(res)
    }
}

impl Engine {
    /// Applies `req` to the container `key`: the clock first (stored in the config too), then
    /// the limits, live through the runtime when it runs, and the stored run config.
    pub fn update(&self, key: &str, req: &UpdateRequest) -> Result<()> {
        if let Some(spec) = &req.faketime {
            let c = self.lookup(key)?;
            clock::update_faketime(self, &c, spec)?;
        }
        // Looked up (again) after the clock's change, which is stored in the config too.
        let c = self.lookup(key)?;
        let mut cfg = c.config.clone();
        let resources = req.apply(&mut cfg)?;
        let empty = resources.as_object().is_some_and(|o| o.is_empty());
        if c.status.is_live() && !empty {
            self.oci.update(&c.id, &resources).map_err(|e| {
                Error::Internal(format!("updating container {}: {}", c.name, e.msg))
            })?;
        }
        container::set_config(&self.conn, &c.id, &cfg)?;
        crate::events::container(&self.paths, &c, "update", &[]);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swap_defaults_to_twice_the_memory_and_is_checked() {
        let mut cfg = RunConfig::default();
        let req = UpdateRequest {
            memory: Some(64 << 20),
            ..Default::default()
        };
        let res = req.apply(&mut cfg).unwrap();
        assert_eq!(res["memory"]["swap"], json!(128i64 << 20));
        assert_eq!(cfg.memory, 64 << 20);

        let req = UpdateRequest {
            memory_swap: Some(32 << 20),
            ..Default::default()
        };
        let e = req.apply(&mut cfg).unwrap_err();
        assert!(matches!(e, Error::InvalidArgument(_)));
        assert_eq!(
            e.to_string(),
            format!(
                "invalid --memory-swap {}: must be at least --memory ({})",
                32 << 20,
                64 << 20
            )
        );

        let e = UpdateRequest {
            memory_swap: Some(-1),
            ..Default::default()
        }
        .apply(&mut RunConfig::default())
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid --memory-swap: it needs a memory limit (--memory)"
        );
    }

    #[test]
    fn limits_become_oci_resources() {
        let mut cfg = RunConfig::default();
        let req = UpdateRequest {
            nano_cpus: Some(1_500_000_000),
            cpu_shares: Some(512),
            pids_limit: Some(0),
            ..Default::default()
        };
        let res = req.apply(&mut cfg).unwrap();
        assert_eq!(
            res["cpu"],
            json!({"period": 100_000, "quota": 150_000, "shares": 512})
        );
        assert_eq!(res["pids"], json!({"limit": -1}));
        assert!(res.get("memory").is_none());
        assert!(UpdateRequest::default().is_empty());
    }
}
