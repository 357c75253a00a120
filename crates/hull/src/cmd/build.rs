//! `hull build [-t NAME:TAG]... [-f Dockerfile] [--build-arg K=V]... [--target STAGE]
//! [--no-cache] [--pull] [--secret id=ID,src=FILE]... [--network none|host|default] [--label K=V]... [--platform linux/amd64] [-q]
//! [--iidfile F] [--progress plain|tty] CONTEXT`: parses the flags, reads the Dockerfile and
//! the context, calls hull-build, prints the id. CONTEXT `-` is a Dockerfile or a tar
//! context on stdin.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use hull_build::context::Context;
use hull_build::parse::Dockerfile;
use hull_build::progress::Style;
use hull_build::Options;
use hull_engine::Paths;

use super::{CmdError, CmdResult};

/// Build an image from a Dockerfile.
#[derive(clap::Args)]
pub struct Args {
    /// Name and optionally a tag (name:tag); may be repeated.
    #[arg(short, long = "tag")]
    tag: Vec<String>,
    /// The Dockerfile (default: CONTEXT/Dockerfile; `-`: stdin).
    #[arg(short, long = "file")]
    file: Option<String>,
    /// A build-time variable: K=V, or K to take its value from the environment.
    #[arg(long = "build-arg")]
    build_arg: Vec<String>,
    /// The stage to build (default: the last).
    #[arg(long)]
    target: Option<String>,
    /// Do not use the layer cache.
    #[arg(long = "no-cache")]
    no_cache: bool,
    /// Pull the FROM images from their registry even when the store has them.
    #[arg(long)]
    pull: bool,
    /// A secret for `RUN --mount=type=secret`: id=ID,src=FILE (or env=VAR); may be repeated.
    #[arg(long)]
    secret: Vec<String>,
    /// The network of RUN steps: none, host or default.
    #[arg(long, default_value = "default")]
    network: String,
    /// A label of the image (K=V); may be repeated.
    #[arg(long)]
    label: Vec<String>,
    /// linux/amd64 only.
    #[arg(long)]
    platform: Option<String>,
    /// Print only the image id.
    #[arg(short, long)]
    quiet: bool,
    /// Write the image id to this file.
    #[arg(long)]
    iidfile: Option<PathBuf>,
    /// auto, plain or tty: plain and tty print BuildKit's progress (on stderr), tty as a
    /// live view when stderr is a terminal; auto is docker's classic step lines on stdout,
    /// or tty/plain as BuildKit's auto when DOCKER_BUILDKIT=1.
    #[arg(long, default_value = "auto")]
    progress: String,
    /// A directory, or `-` for a Dockerfile or a tar context on stdin.
    context: String,
}

fn kv(s: &str, what: &str) -> Result<(String, String), CmdError> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ if what == "--build-arg" && !s.is_empty() => {
            Ok((s.to_string(), std::env::var(s).unwrap_or_default()))
        }
        _ => Err(CmdError {
            msg: format!("invalid argument {s:?} for \"{what}\" flag: expected K=V"),
            code: 125,
        }),
    }
}

fn is_tar(b: &[u8]) -> bool {
    b.starts_with(&[0x1f, 0x8b]) || (b.len() > 262 && &b[257..262] == b"ustar")
}

fn read_file(p: &Path) -> Result<String, CmdError> {
    std::fs::read_to_string(p).map_err(|e| CmdError {
        msg: format!("unable to read Dockerfile {}: {e}", p.display()),
        code: 1,
    })
}

pub fn exec(paths: &Paths, a: Args) -> CmdResult {
    if !matches!(a.progress.as_str(), "auto" | "plain" | "tty") {
        return Err(CmdError::new(format!(
            "--progress {}: plain, tty or auto",
            a.progress
        )));
    }
    let buildkit = std::env::var("DOCKER_BUILDKIT").is_ok_and(|v| v == "1" || v == "true");
    let term = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let style = match (a.progress.as_str(), buildkit, term) {
        ("auto", false, _) => Style::Classic,
        ("plain", _, _) | (_, _, false) => Style::Plain,
        _ => Style::Tty,
    };
    let mut o = Options {
        progress: style,
        tags: a.tag.clone(),
        target: a.target.clone(),
        no_cache: a.no_cache,
        network: a.network.clone(),
        platform: a.platform.clone(),
        quiet: a.quiet,
        pull: a.pull,
        secrets: a
            .secret
            .iter()
            .map(|s| hull_build::mount::secret_arg(s))
            .collect::<Result<_, _>>()
            .map_err(fail)?,
        ..Default::default()
    };
    for b in &a.build_arg {
        o.build_args.push(kv(b, "--build-arg")?);
    }
    for l in &a.label {
        o.labels.push(kv(l, "--label")?);
    }
    for t in &o.tags {
        hull_engine::image::Reference::parse(t)
            .map_err(|e| CmdError::new(format!("invalid tag {t:?}: {e}")))?;
    }
    let eng = super::engine(paths)?;
    let tmp = eng.paths.root.join("tmp");
    let (ctx, name, text) = if a.context == "-" {
        let mut buf = Vec::new();
        std::io::stdin().read_to_end(&mut buf)?;
        if is_tar(&buf) {
            let ctx = Context::tar(&mut buf.as_slice(), &tmp).map_err(fail)?;
            let name = a.file.clone().unwrap_or_else(|| "Dockerfile".into());
            let root = ctx.root().expect("tar context").to_path_buf();
            let text = read_file(&root.join(&name))?;
            (ctx, name, text)
        } else {
            (
                Context::none(),
                "Dockerfile".to_string(),
                String::from_utf8_lossy(&buf).into_owned(),
            )
        }
    } else {
        let dir = PathBuf::from(&a.context);
        let (df_path, text) = match a.file.as_deref() {
            Some("-") => {
                let mut s = String::new();
                std::io::stdin().read_to_string(&mut s)?;
                (None, s)
            }
            Some(f) => {
                let p = PathBuf::from(f);
                let text = read_file(&p)?;
                (Some(p), text)
            }
            None => {
                let p = dir.join("Dockerfile");
                let text = read_file(&p)?;
                (Some(p), text)
            }
        };
        let ctx = Context::dir(&dir, df_path.as_deref()).map_err(fail)?;
        let name = df_path
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "Dockerfile".into());
        (ctx, name, text)
    };
    let df = Dockerfile::parse(&name, &text).map_err(|e| fail(e.into()))?;
    let mut stdout = std::io::stdout();
    let mut stderr = std::io::stderr();
    let mut sink = std::io::sink();
    let out: &mut dyn Write = if a.quiet {
        &mut sink
    } else if style == Style::Classic {
        &mut stdout
    } else {
        // BuildKit's progress goes to stderr (stdout is for -q's id, or --output).
        &mut stderr
    };
    let id = hull_build::build(&eng, &df, &ctx, &o, out).map_err(fail)?;
    if a.quiet {
        println!("{id}");
    }
    if let Some(f) = &a.iidfile {
        std::fs::write(f, &id)
            .map_err(|e| CmdError::new(format!("--iidfile {}: {e}", f.display())))?;
    }
    Ok(())
}

fn fail(e: hull_build::BuildError) -> CmdError {
    CmdError {
        msg: e.msg,
        code: e.code,
    }
}
