//! linux.resources: memory, swap, CPU quota and shares, cpuset, pids, and the device cgroup's
//! allow list (docker's defaults; everything with --privileged).

use serde_json::{json, Value};

use super::{Ctx, Result, SpecError};

/// docker's default device rules: deny all, then mknod of anything and the usual char devices.
fn default_devices() -> Vec<Value> {
    let c = |major: i64, minor: Option<i64>, access: &str| json!({"allow": true, "type": "c", "major": major, "minor": minor, "access": access});
    vec![
        json!({"allow": false, "access": "rwm"}),
        json!({"allow": true, "type": "c", "access": "m"}),
        json!({"allow": true, "type": "b", "access": "m"}),
        c(1, Some(3), "rwm"),    // null
        c(1, Some(5), "rwm"),    // zero
        c(1, Some(7), "rwm"),    // full
        c(1, Some(8), "rwm"),    // random
        c(1, Some(9), "rwm"),    // urandom
        c(5, Some(0), "rwm"),    // tty
        c(5, Some(1), "rwm"),    // console
        c(5, Some(2), "rwm"),    // ptmx
        c(136, None, "rwm"),     // pts
        c(10, Some(200), "rwm"), // tun
    ]
}

pub fn apply(ctx: &Ctx<'_>, spec: &mut Value) -> Result<()> {
    let cfg = &ctx.c.config;
    let r = &mut spec["linux"]["resources"];
    if cfg.memory > 0 || cfg.memory_swap != 0 {
        let mut mem = json!({});
        if cfg.memory > 0 {
            mem["limit"] = json!(cfg.memory);
            // docker: swap defaults to twice the memory limit.
            let swap = match cfg.memory_swap {
                0 => cfg.memory.saturating_mul(2),
                s => s,
            };
            if swap != -1 && swap < cfg.memory {
                return Err(SpecError::Invalid(format!(
                    "invalid --memory-swap {swap}: must be at least --memory ({})",
                    cfg.memory
                )));
            }
            mem["swap"] = json!(swap);
        } else {
            return Err(SpecError::Invalid(
                "invalid --memory-swap: it needs --memory too".into(),
            ));
        }
        r["memory"] = mem;
    }
    let mut cpu = json!({});
    if cfg.nano_cpus > 0 {
        cpu["period"] = json!(100_000u64);
        cpu["quota"] = json!(cfg.nano_cpus / 10_000);
    }
    if cfg.cpu_shares > 0 {
        cpu["shares"] = json!(cfg.cpu_shares);
    }
    if !cfg.cpuset_cpus.is_empty() {
        cpu["cpus"] = json!(cfg.cpuset_cpus);
    }
    if cpu.as_object().is_some_and(|o| !o.is_empty()) {
        r["cpu"] = cpu;
    }
    if cfg.pids_limit != 0 {
        r["pids"] = json!({ "limit": cfg.pids_limit });
    }
    let mut devices = if cfg.privileged {
        vec![json!({"allow": true, "access": "rwm"})]
    } else {
        default_devices()
    };
    for d in &cfg.devices {
        if let Some((kind, major, minor)) = super::security::device_numbers(&d.host) {
            devices.push(
                json!({"allow": true, "type": kind, "major": major, "minor": minor,
                                "access": d.permissions}),
            );
        }
    }
    r["devices"] = Value::Array(devices);
    Ok(())
}
