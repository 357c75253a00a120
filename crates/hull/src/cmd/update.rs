//! `hull update [--memory ...] CONTAINER...`: new resource limits, applied at once to a
//! running container through the runtime's `update --resources -` and stored for its next
//! start; `--restart` changes the policy; `--faketime` the container's fake clock.

use hull_engine::container::update::UpdateRequest;
use hull_engine::Paths;
use hull_format::parse;

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

/// The engine's request from the command line (values parsed, the memory minimum checked).
fn request(args: &Args) -> Result<UpdateRequest, CmdError> {
    let memory = match &args.memory {
        Some(m) => {
            let b = parse::bytes("--memory", m)?;
            if b < 6 * 1024 * 1024 {
                return Err(CmdError {
                    msg: format!("invalid --memory {m:?}: the minimum is 6MB"),
                    code: 125,
                });
            }
            Some(b)
        }
        None => None,
    };
    Ok(UpdateRequest {
        memory,
        memory_swap: args.memory_swap.as_deref().map(parse::swap).transpose()?,
        nano_cpus: args.cpus.as_deref().map(parse::nano_cpus).transpose()?,
        cpu_shares: args.cpu_shares,
        cpuset_cpus: args.cpuset_cpus.as_deref().map(parse::cpuset).transpose()?,
        pids_limit: args.pids_limit,
        restart: args.restart.as_deref().map(parse::restart).transpose()?,
        faketime: args.faketime.clone(),
    })
}

pub fn exec(paths: &Paths, args: Args) -> CmdResult {
    let req = request(&args)?;
    if req.is_empty() {
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
        match eng.update(name, &req) {
            Ok(()) => println!("{name}"),
            Err(e) => errors.push(e.to_string()),
        }
    }
    super::all_done(errors)
}
