//! `hull run`: create, start, and (unless -d) attach until the container exits, with its exit
//! code as ours. A run that cannot start leaves nothing behind.

use hull_engine::container::start::Attach;
use hull_engine::{container::remove, Paths};
use hull_monitor::proto;
use hull_term::attach;

use super::flags::CreateFlags;
use super::{CmdError, CmdResult};

/// Create and run a new container from an image.
#[derive(clap::Args)]
#[command(disable_help_flag = true)]
pub struct Args {
    #[arg(long, action = clap::ArgAction::Help)]
    help: Option<bool>,
    /// Run container in background and print container ID.
    #[arg(short, long)]
    detach: bool,
    /// Attach to STDIN, STDOUT or STDERR (default: stdout and stderr, and stdin with -i).
    #[arg(short, long = "attach")]
    attach: Vec<String>,
    /// Proxy received signals to the process.
    #[arg(long = "sig-proxy", default_value_t = true, action = clap::ArgAction::Set)]
    sig_proxy: bool,
    #[command(flatten)]
    detach_keys: super::flags::DetachKeys,
    #[command(flatten)]
    flags: CreateFlags,
    /// --pull, -q, --cidfile: cmd/runopts.rs.
    #[command(flatten)]
    opts: super::runopts::RunOpts,
    /// The image: a word before it that starts with '-' is a flag (an unknown one is a
    /// usage error naming it, not an image name).
    image: String,
    /// [COMMAND] [ARG...]: everything after the image, flags included.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

pub fn exec(paths: &Paths, a: Args) -> CmdResult {
    let keys = a.detach_keys.parse()?;
    let eng = super::engine(paths)?;
    let (image, args) = (a.image, a.args);
    let streams = streams(&a.attach, a.detach)?;
    let (tty, stdin) = (
        a.flags.tty,
        a.flags.interactive && streams & proto::WANT_STDIN != 0,
    );
    let pod = a.flags.pod.clone();
    let mut req = a.flags.request(image, args)?;
    // After the flags are checked: a bad value is reported before any pull.
    a.opts.before(paths, &req.image)?;
    if let Some(p) = pod {
        eng.pod_join(&p, &mut req)?;
    }
    let created = eng.create(req)?;
    let c = &created.container;
    if let Err(e) = a.opts.created(&c.id) {
        remove::remove_all(&eng, c, true);
        return Err(e);
    }
    let at = if a.detach {
        Attach::default()
    } else {
        // The foreground run records the exit itself unless a restart policy may follow.
        let hook = if c.config.restart.is_none() {
            proto::WANT_HOOK
        } else {
            0
        };
        // WANT_STDIN only says the starter attaches stdin (the engine records `attach` for
        // any stream); the monitor takes stdin frames from any client.
        Attach {
            want: streams | hook,
            size: if tty { attach::terminal_size() } else { None },
        }
    };
    let started = match eng.start_created(&created, at) {
        Ok(s) => s,
        Err(e) => {
            remove::remove_all(&eng, c, true);
            return Err(CmdError {
                msg: e.to_string(),
                code: e.exit_code(),
            });
        }
    };
    if a.detach {
        println!("{}", c.id);
        return Ok(());
    }
    let id = c.id.clone();
    let record = |code: i32| eng.record_exited(&id, code);
    match attach::attach_with_hook(started.sock, stdin, tty, a.sig_proxy, &keys, Some(&record)) {
        Some(0) => Ok(()),
        Some(code) => Err(CmdError::exit(code)),
        None => Err(CmdError::new(format!(
            "container {}: lost the monitor",
            c.name
        ))),
    }
}

/// `-a/--attach`: the streams to relay (all three when none is named), docker's checks.
fn streams(names: &[String], detach: bool) -> Result<u8, CmdError> {
    if names.is_empty() {
        return Ok(proto::WANT_STDIN | proto::WANT_STDOUT | proto::WANT_STDERR);
    }
    if detach {
        // docker's client says it with exit status 1.
        return Err(CmdError {
            msg: "Conflicting options: -a and -d".into(),
            code: 1,
        });
    }
    let mut bits = 0;
    for n in names {
        bits |= match n.to_ascii_lowercase().as_str() {
            "stdin" => proto::WANT_STDIN,
            "stdout" => proto::WANT_STDOUT,
            "stderr" => proto::WANT_STDERR,
            _ => {
                return Err(CmdError::new(format!(
                    "invalid argument {n:?} for \"-a, --attach\" flag: valid streams are STDIN, STDOUT and STDERR"
                )))
            }
        };
    }
    Ok(bits)
}
