//! hullrt: an OCI runtime with runc's command line. Each verb is a small file in cmd/ over the
//! hull-runtime library.

#![forbid(unsafe_code)]

mod cmd;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "hullrt",
    version,
    about = "An OCI container runtime (runc-compatible)"
)]
pub struct Cli {
    /// Directory for container state ($XDG_RUNTIME_DIR/hullrt when not root)
    #[arg(long, global = true, default_value_os_t = default_root())]
    root: PathBuf,
    /// Also write errors (and with --debug, every step) to this file, as runc does.
    #[arg(long, global = true)]
    log: Option<PathBuf>,
    /// Format of the --log lines: runc's `text` (logrus) or `json` (level, msg, time).
    #[arg(long = "log-format", global = true, default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
    /// Trace each step of the verb (to the --log file, else stderr).
    #[arg(long, global = true)]
    debug: bool,
    /// Manage cgroups through systemd: cgroupsPath is "slice:prefix:name", a transient unit.
    #[arg(long = "systemd-cgroup", global = true)]
    systemd_cgroup: bool,
    /// Rootless mode, as runc's: cgroup errors are tolerated for containers without limits
    /// (`auto`: when not run as root). `spec --rootless` writes a rootless spec.
    #[arg(long, global = true, default_value = "auto", num_args = 0..=1,
          default_missing_value = "true", value_parser = ["true", "false", "auto"])]
    rootless: String,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    Spec(cmd::spec::Args),
    Create(cmd::create::Args),
    Start(cmd::start::Args),
    Run(cmd::run::Args),
    State(cmd::state::Args),
    Kill(cmd::kill::Args),
    Delete(cmd::delete::Args),
    List(cmd::list::Args),
    Update(cmd::update::Args),
    Pause(cmd::pause::Args),
    Resume(cmd::resume::Args),
    Ps(cmd::ps::Args),
    Events(cmd::events::Args),
    Exec(cmd::exec::Args),
    Features(cmd::features::Args),
}

fn main() {
    // exec joins a running container's pid namespace: its processes can see ours. For
    // create and run the runtime decides (see hull_runtime::create::seal_if_visible). The
    // re-exec comes before the command line is parsed, which the sealed copy does anyway:
    // any argument spelled `exec` counts, so an exec is never missed (clap takes no
    // abbreviations or aliases of it), and another verb with such an argument only pays
    // for a re-exec it did not need.
    if std::env::args_os().skip(1).any(|a| a == "exec") {
        sealed_reexec();
    }
    let cli = Cli::parse();
    let format = hull_trace::Format::parse(&cli.log_format).unwrap_or(hull_trace::Format::Text);
    // Nothing is built unless asked: without --debug the trace macros are one load each.
    if cli.debug {
        let level = hull_trace::LevelFilter::DEBUG;
        if let Err(e) = hull_trace::init("hullrt", level, format, cli.log.as_deref()) {
            eprintln!("hullrt: {e}");
        }
    }
    let rootless = match cli.rootless.as_str() {
        "true" => true,
        "false" => false,
        _ => !nix::unistd::geteuid().is_root(),
    };
    // runc's exec exits 255 when it cannot run the process, and says "exec failed: ...".
    let (fail_code, fail_prefix) = match cli.cmd {
        Cmd::Exec(_) => (255, "exec failed: "),
        _ => (1, ""),
    };
    let res = match cli.cmd {
        Cmd::Spec(a) => cmd::spec::exec(a, cli.rootless == "true"),
        Cmd::Create(a) => cmd::create::exec(&cli.root, a, rootless, cli.systemd_cgroup),
        Cmd::Start(a) => cmd::start::exec(&cli.root, a),
        Cmd::Run(a) => cmd::run::exec(&cli.root, a, rootless, cli.systemd_cgroup),
        Cmd::State(a) => cmd::state::exec(&cli.root, a),
        Cmd::Kill(a) => cmd::kill::exec(&cli.root, a),
        Cmd::Delete(a) => cmd::delete::exec(&cli.root, a),
        Cmd::List(a) => cmd::list::exec(&cli.root, a),
        Cmd::Update(a) => cmd::update::exec(&cli.root, a),
        Cmd::Pause(a) => cmd::pause::exec(&cli.root, a),
        Cmd::Resume(a) => cmd::resume::exec(&cli.root, a),
        Cmd::Ps(a) => cmd::ps::exec(&cli.root, a),
        Cmd::Events(a) => cmd::events::exec(&cli.root, a),
        Cmd::Exec(a) => cmd::exec::exec(&cli.root, a),
        Cmd::Features(a) => cmd::features::exec(a),
    };
    match res {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            // stderr gets the message alone (the monitor, docker and podman show it as is);
            // the --log file one line in its format, where containerd's shim looks for it.
            let msg = format!("{fail_prefix}{e}");
            eprintln!("hullrt: {msg}");
            if let Some(path) = &cli.log {
                let _ = hull_trace::append(path, "hullrt", format, tracing::Level::ERROR, &msg);
            }
            std::process::exit(fail_code);
        }
    }
}

/// Re-exec hullrt from a sealed view of itself (a read-only detached mount of the binary, or
/// a sealed memfd copy; see hull_sys::reexec_sealed), so that what /proc/PID/exe of a runtime
/// process shows a container cannot be written (CVE-2019-5736). HULLRT_SEALED marks the
/// re-exec'd process; it never reaches the container (the program gets the spec's
/// environment only).
fn sealed_reexec() {
    const MARK: &str = "HULLRT_SEALED";
    if std::env::var_os(MARK).is_some() {
        return;
    }
    let e = hull_sys::reexec_sealed(MARK);
    eprintln!("hullrt: warning: cannot re-exec from a sealed copy: {e}");
}

/// runc's rule: /run/hullrt for root, the user's runtime directory otherwise (rootless).
fn default_root() -> PathBuf {
    if nix::unistd::geteuid().is_root() {
        return PathBuf::from("/run/hullrt");
    }
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d).join("hullrt"),
        _ => PathBuf::from(format!("/tmp/hullrt-{}", nix::unistd::geteuid())),
    }
}
