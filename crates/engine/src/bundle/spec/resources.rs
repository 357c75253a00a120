//! linux.resources: memory, swap, CPU quota and shares, cpuset, pids, and the device cgroup's
//! allow list (docker's defaults; everything with --privileged).

use oci_spec::runtime::{
    LinuxCpu, LinuxDeviceCgroup, LinuxDeviceCgroupBuilder, LinuxDeviceType, LinuxMemory,
    LinuxPidsBuilder, Spec,
};

use super::{invalid, resources_mut, Ctx, Result, SpecError};

/// A device cgroup rule: `typ` None is every type, a number None every number.
pub(crate) fn rule(
    typ: Option<LinuxDeviceType>,
    major: Option<i64>,
    minor: Option<i64>,
    access: &str,
    allow: bool,
) -> LinuxDeviceCgroup {
    let mut r = LinuxDeviceCgroupBuilder::default()
        .allow(allow)
        .access(access)
        .build()
        .expect("every field of a device rule is optional");
    r.set_typ(typ);
    r.set_major(major);
    r.set_minor(minor);
    r
}

/// docker's default device rules: deny all, then mknod of anything and the usual char devices.
fn default_devices() -> Vec<LinuxDeviceCgroup> {
    use LinuxDeviceType::{B, C};
    let c = |major: i64, minor: Option<i64>| rule(Some(C), Some(major), minor, "rwm", true);
    vec![
        rule(None, None, None, "rwm", false),
        rule(Some(C), None, None, "m", true),
        rule(Some(B), None, None, "m", true),
        c(1, Some(3)),    // null
        c(1, Some(5)),    // zero
        c(1, Some(7)),    // full
        c(1, Some(8)),    // random
        c(1, Some(9)),    // urandom
        c(5, Some(0)),    // tty
        c(5, Some(1)),    // console
        c(5, Some(2)),    // ptmx
        c(136, None),     // pts
        c(10, Some(200)), // tun
    ]
}

pub fn apply(ctx: &Ctx<'_>, spec: &mut Spec) -> Result<()> {
    let cfg = &ctx.c.config;
    let r = resources_mut(spec);
    if cfg.memory > 0 || cfg.memory_swap != 0 {
        if cfg.memory <= 0 {
            return Err(SpecError::Invalid(
                "invalid --memory-swap: it needs --memory too".into(),
            ));
        }
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
        let mut mem = LinuxMemory::default();
        mem.set_limit(Some(cfg.memory));
        mem.set_swap(Some(swap));
        r.set_memory(Some(mem));
    }
    let mut cpu = LinuxCpu::default();
    if cfg.nano_cpus > 0 {
        cpu.set_period(Some(100_000));
        cpu.set_quota(Some(cfg.nano_cpus / 10_000));
    }
    if cfg.cpu_shares > 0 {
        cpu.set_shares(Some(cfg.cpu_shares));
    }
    if !cfg.cpuset_cpus.is_empty() {
        cpu.set_cpus(Some(cfg.cpuset_cpus.clone()));
    }
    if cpu != LinuxCpu::default() {
        r.set_cpu(Some(cpu));
    }
    if cfg.pids_limit != 0 {
        let pids = LinuxPidsBuilder::default()
            .limit(cfg.pids_limit)
            .build()
            .map_err(invalid)?;
        r.set_pids(Some(pids));
    }
    let mut devices = if cfg.privileged {
        vec![rule(None, None, None, "rwm", true)]
    } else {
        default_devices()
    };
    for d in &cfg.devices {
        if let Some((typ, major, minor)) = super::security::device_numbers(&d.host) {
            devices.push(rule(
                Some(typ),
                Some(major),
                Some(minor),
                &d.permissions,
                true,
            ));
        }
    }
    r.set_devices(Some(devices));
    Ok(())
}
