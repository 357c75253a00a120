//! `hull info`: the engine's directories, runtime, storage and the host, as `docker info`
//! prints them; `--format` over docker's Info field names.

use std::path::PathBuf;

use hull_engine::{sysinfo, Paths};
use hull_format::human;
use hull_format::template;
use serde_json::{json, Value};

use super::CmdResult;

#[derive(clap::Args)]
pub struct Args {
    /// Go template over docker's Info fields ({{.Containers}}, {{.CgroupVersion}}...), or
    /// "json".
    #[arg(short, long)]
    format: Option<String>,
}

/// The OCI runtime hull drives: --runtime/$HULL_RUNTIME, else `hullrt` beside hull or in
/// PATH (the engine's own rule).
pub fn runtime_path() -> Option<PathBuf> {
    super::runtime_flag()
        .filter(|r| !r.as_os_str().is_empty())
        .or_else(|| hull_engine::engine::find_binary("hullrt").ok())
}

/// docker's Info, with hull's directories beside DockerRootDir.
fn gather(paths: &Paths) -> Result<Value, super::CmdError> {
    // Statuses checked against the kernel when the engine opens (it needs its runtime).
    let mut info = match super::engine(paths) {
        Ok(eng) => eng.info(true)?,
        Err(_) => super::state_engine(paths)?.info(false)?,
    };
    let runtime = runtime_path();
    let runtime_name = runtime
        .as_deref()
        .and_then(|p| p.file_name())
        .map_or("hullrt".into(), |n| n.to_string_lossy().into_owned());
    let runtime_version = runtime.as_deref().and_then(sysinfo::runtime_version);
    let ours = json!({
        "HullRootDir": paths.root.display().to_string(),
        "RunRoot": paths.runroot.display().to_string(),
        "DefaultRuntime": runtime_name,
        "Runtimes": {
            runtime_name.clone(): {
                "path": runtime.as_ref().map(|p| p.display().to_string()),
                "version": runtime_version,
            }
        },
    });
    if let (Some(info), Value::Object(ours)) = (info.as_object_mut(), ours) {
        info.extend(ours);
    }
    Ok(info)
}

pub fn exec(paths: &Paths, args: Args) -> CmdResult {
    let info = gather(paths)?;
    if let Some(f) = &args.format {
        println!("{}", template::render(f, &info)?);
        return Ok(());
    }
    let s = |k: &str| match &info[k] {
        Value::String(s) => s.clone(),
        v => v.to_string(),
    };
    let runtime = &info["Runtimes"][s("DefaultRuntime")];
    println!("Client:");
    println!(" Version:    {}", s("ServerVersion"));
    println!(" Context:    default (daemonless)");
    println!();
    println!("Engine:");
    println!(" Containers: {}", s("Containers"));
    println!("  Running: {}", s("ContainersRunning"));
    println!("  Paused: {}", s("ContainersPaused"));
    println!("  Stopped: {}", s("ContainersStopped"));
    println!(" Images: {}", s("Images"));
    println!(" Volumes: {}", s("Volumes"));
    println!(" Server Version: {}", s("ServerVersion"));
    println!(" Storage Driver: overlay");
    println!(
        "  Backing Filesystem: {}",
        info["DriverStatus"][0][1].as_str().unwrap_or("")
    );
    println!(" Logging Driver: {}", s("LoggingDriver"));
    println!(" Cgroup Driver: {}", s("CgroupDriver"));
    println!(" Cgroup Version: {}", s("CgroupVersion"));
    println!(" Default Runtime: {}", s("DefaultRuntime"));
    println!(
        "  Path: {}",
        runtime["path"].as_str().unwrap_or("(not found)")
    );
    println!(
        "  Version: {}",
        runtime["version"].as_str().unwrap_or("unknown")
    );
    println!(" Security Options:");
    println!("  seccomp");
    println!("   Profile: builtin");
    println!(" Kernel Version: {}", s("KernelVersion"));
    println!(" Operating System: {}", s("OperatingSystem"));
    println!(" OSType: linux");
    println!(" Architecture: {}", s("Architecture"));
    println!(" CPUs: {}", s("NCPU"));
    println!(
        " Total Memory: {}",
        human::bytes_size(info["MemTotal"].as_u64().unwrap_or(0))
    );
    println!(" Name: {}", s("Name"));
    println!(" Hull Root Dir: {}", s("HullRootDir"));
    println!(" Run Root Dir: {}", s("RunRoot"));
    Ok(())
}
