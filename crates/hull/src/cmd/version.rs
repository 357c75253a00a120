//! `hull version`: hull's own version and the OCI runtime's. There is no daemon: the
//! "Server" section docker scripts read (`{{.Server.Version}}`) is hull itself.

use hull_engine::{sysinfo, Paths};
use hull_format::template;
use serde_json::json;

use super::CmdResult;

#[derive(clap::Args)]
pub struct Args {
    /// Go template over {Client, Server, Runtime}, or "json".
    #[arg(short, long)]
    format: Option<String>,
}

pub fn exec(_paths: &Paths, args: Args) -> CmdResult {
    let version = env!("CARGO_PKG_VERSION");
    let arch = super::image::go_arch();
    let runtime = super::info::runtime_path();
    let runtime_version = runtime
        .as_deref()
        .and_then(sysinfo::runtime_version)
        .unwrap_or_else(|| "unknown".into());
    let runtime_name = runtime
        .as_deref()
        .and_then(|p| p.file_name())
        .map_or("hullrt".into(), |n| n.to_string_lossy().into_owned());
    let runtime_path = runtime
        .as_ref()
        .map_or("(not found)".into(), |p| p.display().to_string());
    let data = json!({
        "Client": {
            "Version": version,
            "Os": "linux",
            "Arch": arch,
            "Platform": {"Name": "hull"},
        },
        "Server": {
            "Version": version,
            "Os": "linux",
            "Arch": arch,
            "KernelVersion": sysinfo::kernel_version(),
            "Components": [{"Name": runtime_name, "Version": runtime_version}],
        },
        "Runtime": {"Name": runtime_name, "Path": runtime_path, "Version": runtime_version},
    });
    if let Some(f) = &args.format {
        println!("{}", template::render(f, &data)?);
        return Ok(());
    }
    println!("Client:");
    println!(" Version:        {version}");
    println!(" OS/Arch:        linux/{arch}");
    println!();
    println!("Engine (daemonless):");
    println!(" Version:        {version}");
    println!(" Kernel Version: {}", sysinfo::kernel_version());
    println!(" Runtime:        {runtime_name} {runtime_version} ({runtime_path})");
    Ok(())
}
