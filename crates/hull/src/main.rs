//! hull: a daemonless container engine with docker's command line. Each verb is a small file
//! in cmd/ over the hull-engine library.

#![forbid(unsafe_code)]

mod cmd;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use hull_engine::Paths;

#[derive(Parser)]
#[command(
    name = "hull",
    version,
    about = "A daemonless container engine (docker-compatible)"
)]
pub struct Cli {
    /// Persistent state: database, images, volumes.
    #[arg(
        long,
        global = true,
        env = "HULL_ROOT",
        default_value = "/var/lib/hull"
    )]
    root: PathBuf,
    /// Runtime state: bundles, monitors, the OCI runtime's state.
    #[arg(long, global = true, env = "HULL_RUNROOT", default_value = "/run/hull")]
    runroot: PathBuf,
    /// The OCI runtime binary (runc's command line); default: hullrt next to hull, or in PATH.
    #[arg(long, global = true, env = "HULL_RUNTIME")]
    runtime: Option<PathBuf>,
    /// The cgroup manager of new containers and pods: systemd or cgroupfs; default systemd
    /// where systemd is PID 1 on a cgroup v2 host, else cgroupfs.
    #[arg(long = "cgroup-manager", global = true, env = "HULL_CGROUP_MANAGER",
          value_parser = hull_engine::container::cgroup::CgroupManager::parse)]
    cgroup_manager: Option<hull_engine::container::cgroup::CgroupManager>,
    /// Trace each step on stderr, through the monitor, the OCI runtime and the exit hook:
    /// debug, info, warn or error (docker's and podman's flag). Default: no tracing.
    #[arg(long = "log-level", global = true, value_name = "LEVEL",
          value_parser = parse_log_level)]
    log_level: Option<hull_trace::LevelFilter>,
    /// (internal) With --log-level: append the lines to FILE instead of stderr (runc's
    /// --log), as the hooks and the DNS responder hull starts are told to.
    #[arg(long = "log", global = true, hide = true, value_name = "FILE")]
    log: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Show hull's and the OCI runtime's versions.
    Version(cmd::version::Args),
    /// Manage volumes.
    Volume(cmd::volume::Args),
    /// Manage images.
    Image(cmd::image::Args),
    /// List images.
    Images(cmd::images::Args),
    /// Remove images.
    Rmi(cmd::rmi::Args),
    /// Give an image another name.
    Tag(cmd::tag::Args),
    /// Make an image from a rootfs tarball.
    Import(cmd::import::Args),
    /// Load images from a docker-archive or oci-archive.
    Load(cmd::load::Args),
    /// Save images to a docker-archive.
    Save(cmd::save::Args),
    /// Pull an image from a registry.
    Pull(cmd::pull::Args),
    /// Show the engine's directories, runtime, storage and the host.
    Info(cmd::info::Args),
    Create(cmd::create::Args),
    Run(cmd::run::Args),
    Start(cmd::start::Args),
    Stop(cmd::stop::Args),
    Restart(cmd::restart::Args),
    Kill(cmd::kill::Args),
    Rm(cmd::rm::Args),
    Wait(cmd::wait::Args),
    Logs(cmd::logs::Args),
    Exec(cmd::exec::Args),
    Attach(cmd::attach::Args),
    Ps(cmd::ps::Args),
    Inspect(cmd::inspect::Args),
    /// Change a container's resource limits, restart policy or fake clock.
    Update(cmd::update::Args),
    /// Show a container's processes.
    Top(cmd::top::Args),
    /// Show containers' resource usage.
    Stats(cmd::stats::Args),
    /// Copy files between a container and the host.
    Cp(cmd::cp::Args),
    /// Rename a container.
    Rename(cmd::rename::Args),
    /// List a container's published ports.
    Port(cmd::port::Args),
    /// Freeze a container's processes.
    Pause(cmd::pause::Args),
    /// Thaw a paused container.
    Unpause(cmd::unpause::Args),
    /// System-wide: prune, info.
    System(cmd::system::Args),
    #[command(name = "internal-hook", hide = true)]
    InternalHook(cmd::hook::Args),
    /// The clock supervisor of a --faketime container (`hook DIR`, `serve DIR PID`).
    #[command(name = "internal-clock", hide = true)]
    InternalClock(cmd::clock::InternalArgs),
    /// Reads stdin to its end: holds a detached `exec -it` session's terminal.
    #[command(name = "internal-drain", hide = true)]
    InternalDrain,
    /// Manage networks.
    Network(cmd::network::Args),
    /// Manage pods.
    Pod(cmd::pod::Args),
    /// Play Kubernetes manifests.
    Kube(cmd::kube::Args),
    /// Manage containers (docker's `container` management command).
    Container(cmd::container::Args),
    /// Make an image of a container's changes.
    Commit(cmd::commit::Args),
    /// Build an image from a Dockerfile.
    Build(cmd::build::Args),
    /// Manage the build cache.
    Builder(cmd::builder::Args),
    /// Show a container's changes to its image.
    Diff(cmd::diff::Args),
    /// Write a container's filesystem as a tar.
    Export(cmd::export::Args),
    /// Show an image's history.
    History(cmd::history::Args),
    /// Show the events hull's verbs recorded, and follow them.
    Events(cmd::events::Args),
    /// Log in to a registry (credentials kept as docker keeps them).
    Login(cmd::login::Args),
    /// Log out from a registry.
    Logout(cmd::login::LogoutArgs),
    /// Upload an image to a registry.
    Push(cmd::push::Args),
}

/// Output into a closed pipe (`hull ps | head -1`) ends hull quietly with 141, the shell's
/// code for a death by SIGPIPE, as docker's Go client ends there. Rust ignores SIGPIPE, so
/// the write fails with EPIPE and `println!` panics; SIGPIPE itself stays ignored, since hull
/// relays streams to containers through pipes that may close first.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let p = info.payload();
        let msg = p
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| p.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.starts_with("failed printing to std") && msg.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}

fn main() {
    quiet_on_closed_stdout();
    let cli = Cli::try_parse().unwrap_or_else(|e| usage_error(e));
    // Nothing is built unless asked: untraced, each trace macro is one load.
    if let Some(level) = cli.log_level {
        stderr_appends();
        let _ = hull_trace::init("hull", level, hull_trace::Format::Text, cli.log.as_deref());
        tracing::debug!(args = ?std::env::args().skip(1).collect::<Vec<_>>(), "hull invoked");
    }
    let paths = Paths::new(cli.root, cli.runroot);
    cmd::set_runtime(cli.runtime);
    cmd::set_cgroup_manager(cli.cgroup_manager);
    let res = match cli.cmd {
        Cmd::Version(a) => cmd::version::exec(&paths, a),
        Cmd::Volume(a) => cmd::volume::exec(&paths, a),
        Cmd::Image(a) => cmd::image::exec(&paths, a),
        Cmd::Images(a) => cmd::images::exec(&paths, a),
        Cmd::Rmi(a) => cmd::rmi::exec(&paths, a),
        Cmd::Tag(a) => cmd::tag::exec(&paths, a),
        Cmd::Import(a) => cmd::import::exec(&paths, a),
        Cmd::Load(a) => cmd::load::exec(&paths, a),
        Cmd::Save(a) => cmd::save::exec(&paths, a),
        Cmd::Pull(a) => cmd::pull::exec(&paths, a),
        Cmd::Info(a) => cmd::info::exec(&paths, a),
        Cmd::Create(a) => cmd::create::exec(&paths, a),
        Cmd::Run(a) => cmd::run::exec(&paths, a),
        Cmd::Start(a) => cmd::start::exec(&paths, a),
        Cmd::Stop(a) => cmd::stop::exec(&paths, a),
        Cmd::Restart(a) => cmd::restart::exec(&paths, a),
        Cmd::Kill(a) => cmd::kill::exec(&paths, a),
        Cmd::Rm(a) => cmd::rm::exec(&paths, a),
        Cmd::Wait(a) => cmd::wait::exec(&paths, a),
        Cmd::Logs(a) => cmd::logs::exec(&paths, a),
        Cmd::Exec(a) => cmd::exec::exec(&paths, a),
        Cmd::Attach(a) => cmd::attach::exec(&paths, a),
        Cmd::Ps(a) => cmd::ps::exec(&paths, a),
        Cmd::Inspect(a) => cmd::inspect::exec(&paths, a),
        Cmd::Update(a) => cmd::update::exec(&paths, a),
        Cmd::Top(a) => cmd::top::exec(&paths, a),
        Cmd::Stats(a) => cmd::stats::exec(&paths, a),
        Cmd::Cp(a) => cmd::cp::exec(&paths, a),
        Cmd::Rename(a) => cmd::rename::exec(&paths, a),
        Cmd::Port(a) => cmd::port::exec(&paths, a),
        Cmd::Pause(a) => cmd::pause::exec(&paths, a),
        Cmd::Unpause(a) => cmd::unpause::exec(&paths, a),
        Cmd::System(a) => cmd::system::exec(&paths, a),
        Cmd::InternalHook(a) => cmd::hook::exec(&paths, a),
        Cmd::InternalClock(a) => cmd::clock::internal(a),
        Cmd::InternalDrain => {
            hull_engine::container::exec::drain_stdin();
            Ok(())
        }
        Cmd::Network(a) => cmd::network::exec(&paths, a),
        Cmd::Pod(a) => cmd::pod::exec(&paths, a),
        Cmd::Kube(a) => cmd::kube::exec(&paths, a),
        Cmd::Container(a) => cmd::container::exec(&paths, a),
        Cmd::Commit(a) => cmd::commit::exec(&paths, a),
        Cmd::Build(a) => cmd::build::exec(&paths, a),
        Cmd::Builder(a) => cmd::builder::exec(&paths, a),
        Cmd::Diff(a) => cmd::diff::exec(&paths, a),
        Cmd::Export(a) => cmd::export::exec(&paths, a),
        Cmd::History(a) => cmd::history::exec(&paths, a),
        Cmd::Events(a) => cmd::events::exec(&paths, a),
        Cmd::Login(a) => cmd::login::exec(&paths, a),
        Cmd::Logout(a) => cmd::login::logout(&paths, a),
        Cmd::Push(a) => cmd::push::exec(&paths, a),
    };
    if let Err(e) = res {
        if !e.msg.is_empty() {
            eprintln!("hull: {e}");
        }
        std::process::exit(e.exit_code());
    }
}

/// Traced, our stderr also takes the lines of the monitor, the runtime and the exit hook,
/// which open it by path (/proc/PID/fd/2) and append. A regular file opened without O_APPEND
/// (`2>file`) would have our writes land at our own offset, over theirs: so it appends too.
fn stderr_appends() {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    let err = std::io::stderr();
    if let Ok(flags) = fcntl(&err, FcntlArg::F_GETFL) {
        let flags = OFlag::from_bits_truncate(flags) | OFlag::O_APPEND;
        let _ = fcntl(&err, FcntlArg::F_SETFL(flags));
    }
}

fn parse_log_level(s: &str) -> Result<hull_trace::LevelFilter, String> {
    hull_trace::parse_level(s)
        .ok_or_else(|| format!("not a log level: {s:?} (debug, info, warn or error)"))
}

/// A command line clap refused: help and version are printed (exit 0); anything else is a
/// usage error, exit 125 as docker's, an unknown flag named in docker's words.
fn usage_error(e: clap::Error) -> ! {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        e.exit();
    }
    let arg = match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(a)) => Some(a.clone()),
        _ => None,
    };
    match (e.kind(), arg) {
        (ErrorKind::UnknownArgument, Some(a)) if a.starts_with('-') => {
            let verb: Vec<String> = std::env::args()
                .skip(1)
                .take_while(|w| w != &a)
                .filter(|w| !w.starts_with('-') && !w.contains('/'))
                .take(2)
                .collect();
            eprintln!(
                "hull: unknown flag: {a}\nSee 'hull {} --help'.",
                verb.join(" ")
            );
        }
        _ => eprint!("{}", e.render()),
    }
    std::process::exit(125)
}
