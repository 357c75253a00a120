//! `hull update [--memory ...] CONTAINER...`: new resource limits, applied at once to a
//! running container through the runtime's `update --resources -` and stored for its next
//! start; `--restart` changes the policy; `--faketime` the container's fake clock.

use std::io::Write;
use std::process::Stdio;

use hull_engine::{container, container::clock, ocirt::driver, parse, Paths};
use serde_json::{json, Value};

use super::{CmdError, CmdResult};

#[derive(clap::Args)]
pub struct Args {
    /// Memory limit (e.g. 64m, 1g).
    #[arg(short, long)]
    memory: Option<String>,
    /// Memory plus swap limit; -1 for unlimited swap.
    #[arg(long, allow_hyphen_values = true)]
    memory_swap: Option<String>,
    /// CPUs (e.g. 0.5, 2).
    #[arg(long)]
    cpus: Option<String>,
    /// Relative CPU weight.
    #[arg(short = 'c', long)]
    cpu_shares: Option<u64>,
    /// CPUs the container may run on (0-3, 0,1).
    #[arg(long)]
    cpuset_cpus: Option<String>,
    /// Maximum number of processes (-1 or 0: unlimited).
    #[arg(long, allow_hyphen_values = true)]
    pids_limit: Option<i64>,
    /// Restart policy: no, on-failure[:N], always, unless-stopped.
    #[arg(long)]
    restart: Option<String>,
    /// New fake clock for a container started with --faketime (same syntax), applied live.
    #[arg(long, allow_hyphen_values = true)]
    faketime: Option<String>,
    #[arg(required = true)]
    containers: Vec<String>,
}

/// The run config with the command line's changes, and the OCI `linux.resources` for them.
fn apply(args: &Args, cfg: &mut hull_engine::RunConfig) -> Result<Value, CmdError> {
    let mut res = json!({});
    if let Some(m) = &args.memory {
        cfg.memory = parse::bytes("--memory", m)?;
        if cfg.memory < 6 * 1024 * 1024 {
            return Err(CmdError {
                msg: format!("invalid --memory {m:?}: the minimum is 6MB"),
                code: 125,
            });
        }
    }
    if let Some(s) = &args.memory_swap {
        cfg.memory_swap = parse::swap(s)?;
    }
    if args.memory.is_some() || args.memory_swap.is_some() {
        if cfg.memory <= 0 {
            return Err(CmdError {
                msg: "invalid --memory-swap: it needs a memory limit (--memory)".into(),
                code: 125,
            });
        }
        // docker: swap defaults to twice the memory.
        let swap = match cfg.memory_swap {
            0 => cfg.memory * 2,
            s => s,
        };
        if swap != -1 && swap < cfg.memory {
            return Err(CmdError {
                msg: format!(
                    "invalid --memory-swap {swap}: must be at least --memory ({})",
                    cfg.memory
                ),
                code: 125,
            });
        }
        res["memory"] = json!({"limit": cfg.memory, "swap": swap});
    }
    let mut cpu = json!({});
    if let Some(c) = &args.cpus {
        cfg.nano_cpus = parse::nano_cpus(c)?;
        cpu["period"] = json!(100_000u64);
        cpu["quota"] = json!(cfg.nano_cpus / 10_000);
    }
    if let Some(s) = args.cpu_shares {
        cfg.cpu_shares = s;
        cpu["shares"] = json!(s);
    }
    if let Some(set) = &args.cpuset_cpus {
        cfg.cpuset_cpus = parse::cpuset(set)?;
        cpu["cpus"] = json!(cfg.cpuset_cpus);
    }
    if cpu.as_object().is_some_and(|o| !o.is_empty()) {
        res["cpu"] = cpu;
    }
    if let Some(p) = args.pids_limit {
        cfg.pids_limit = p;
        res["pids"] = json!({"limit": if p <= 0 { -1 } else { p }});
    }
    if let Some(r) = &args.restart {
        cfg.restart = parse::restart(r)?;
    }
    Ok(res)
}

pub fn exec(paths: &Paths, args: Args) -> CmdResult {
    if args.memory.is_none()
        && args.memory_swap.is_none()
        && args.cpus.is_none()
        && args.cpu_shares.is_none()
        && args.cpuset_cpus.is_none()
        && args.pids_limit.is_none()
        && args.restart.is_none()
        && args.faketime.is_none()
    {
        return Err(CmdError {
            msg: "update: nothing to change: give --memory, --memory-swap, --cpus, --cpu-shares, --cpuset-cpus, --pids-limit, --restart or --faketime".into(),
            code: 125,
        });
    }
    // Checked before any container is touched.
    if let Some(spec) = &args.faketime {
        hull_clock::FakeTime::parse(spec)?;
    }
    let eng = super::engine(paths)?;
    let mut errors = Vec::new();
    for name in &args.containers {
        let res = (|| -> Result<(), CmdError> {
            if let Some(spec) = &args.faketime {
                let c = eng.lookup(name)?;
                clock::update_faketime(&eng, &c, spec)?;
            }
            // Looked up (again) after the clock's change, which is stored in the config too.
            let c = eng.lookup(name)?;
            let mut cfg = c.config.clone();
            let resources = apply(&args, &mut cfg)?;
            let empty = resources.as_object().is_some_and(|o| o.is_empty());
            if c.status.is_live() && !empty {
                let mut child = driver::command(&eng)
                    .args(["update", "--resources", "-", &c.id])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .map_err(|e| CmdError {
                        msg: format!("{}: {e}", eng.runtime.display()),
                        code: 125,
                    })?;
                if let Some(mut stdin) = child.stdin.take() {
                    let _ = stdin.write_all(resources.to_string().as_bytes());
                }
                let out = child.wait_with_output().map_err(|e| CmdError {
                    msg: format!("{}: {e}", eng.runtime.display()),
                    code: 125,
                })?;
                if !out.status.success() {
                    return Err(CmdError {
                        msg: format!(
                            "updating container {}: {}",
                            c.name,
                            String::from_utf8_lossy(&out.stderr).trim()
                        ),
                        code: 1,
                    });
                }
            }
            container::set_config(&eng.conn, &c.id, &cfg)?;
            Ok(())
        })();
        match res {
            Ok(()) => println!("{name}"),
            Err(e) => errors.push(e.msg),
        }
    }
    super::all_done(errors)
}
