//! `hull volume create|ls|inspect|rm|prune`: named volumes of the local driver.

use std::collections::BTreeMap;

use clap::Subcommand;
use hull_engine::volume::verbs::VolumeCreate;
use hull_engine::volume::Volume;
use hull_engine::{Engine, Paths};
use hull_format::human;
use hull_format::parse;
use hull_format::template;

use super::{CmdError, CmdResult};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    cmd: VolumeCmd,
}

#[derive(Subcommand)]
enum VolumeCmd {
    /// Create a volume (a random name when none is given).
    Create {
        /// Volume driver (only "local").
        #[arg(short, long, default_value = "local")]
        driver: String,
        /// Set a label: KEY=VALUE.
        #[arg(long = "label", short = 'l', value_name = "KEY=VALUE")]
        labels: Vec<String>,
        /// Driver options, as docker's local driver: type=, device=, o= (mounted while in use).
        #[arg(long = "opt", short = 'o', value_name = "KEY=VALUE")]
        opts: Vec<String>,
        name: Option<String>,
    },
    /// List volumes.
    #[command(visible_alias = "list")]
    Ls {
        /// Only the names.
        #[arg(short, long)]
        quiet: bool,
        /// Go template, "table TEMPLATE" or "json".
        #[arg(long)]
        format: Option<String>,
        /// dangling=true|false, name=SUBSTRING, label=KEY[=VALUE], driver=local.
        #[arg(short, long = "filter")]
        filter: Vec<String>,
    },
    /// Show volumes as JSON.
    Inspect {
        /// Go template applied to each volume.
        #[arg(short, long)]
        format: Option<String>,
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Remove volumes.
    #[command(visible_alias = "remove")]
    Rm {
        /// No error for volumes that do not exist.
        #[arg(short, long)]
        force: bool,
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Remove the volumes no container uses (anonymous ones; all with -a).
    Prune {
        /// No prompt.
        #[arg(short, long)]
        force: bool,
        /// Named volumes too, not only anonymous ones.
        #[arg(short, long)]
        all: bool,
        /// label=KEY[=VALUE] or label!=KEY[=VALUE].
        #[arg(long = "filter")]
        filter: Vec<String>,
    },
}

pub fn exec(paths: &Paths, args: Args) -> CmdResult {
    let eng = super::state_engine(paths)?;
    match args.cmd {
        VolumeCmd::Create {
            driver,
            labels,
            opts,
            name,
        } => {
            let mut map = BTreeMap::new();
            for l in &labels {
                let (k, v) = parse::label(l)?;
                map.insert(k, v);
            }
            let mut options = BTreeMap::new();
            for o in &opts {
                let Some((k, v)) = o.split_once('=') else {
                    return Err(CmdError {
                        msg: format!("invalid volume option {o:?}: expected KEY=VALUE"),
                        code: 125,
                    });
                };
                options.insert(k.to_string(), v.to_string());
            }
            let req = VolumeCreate {
                name,
                driver,
                labels: map,
                options,
            };
            let v = eng.volume_create(&req)?;
            // docker returns an existing volume of that name as it is, silently; hull says so
            // on stderr when the options or labels asked for are not the ones it has.
            if v.options != req.options || v.labels != req.labels {
                eprintln!(
                    "hull: volume {} already exists with other options or labels: kept as it is",
                    v.name
                );
            }
            println!("{}", v.name);
            Ok(())
        }
        VolumeCmd::Ls {
            quiet,
            format,
            filter,
        } => ls(&eng, quiet, format.as_deref(), &filter),
        VolumeCmd::Inspect { format, names } => inspect(&eng, format.as_deref(), &names),
        VolumeCmd::Rm { force, names } => rm(&eng, force, &names),
        VolumeCmd::Prune { force, all, filter } => prune(&eng, force, all, &filter),
    }
}

/// A `--filter` of `volume ls`.
enum Filter {
    Dangling(bool),
    Name(String),
    Label(String, Option<String>),
    NotLabel(String, Option<String>),
    Driver(String),
}

fn bad_filter(f: &str) -> CmdError {
    CmdError {
        msg: format!("invalid filter {f:?}: want dangling=true|false, name=, label=, driver="),
        code: 125,
    }
}

fn parse_filter(f: &str) -> Result<Filter, CmdError> {
    let label = |kv: &str| match kv.split_once('=') {
        Some((k, v)) => (k.to_string(), Some(v.to_string())),
        None => (kv.to_string(), None),
    };
    if let Some(kv) = f.strip_prefix("label!=") {
        let (k, v) = label(kv);
        return Ok(Filter::NotLabel(k, v));
    }
    let (key, value) = f.split_once('=').ok_or_else(|| bad_filter(f))?;
    Ok(match key {
        "dangling" => Filter::Dangling(match value {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => return Err(bad_filter(f)),
        }),
        "name" => Filter::Name(value.to_string()),
        "label" => {
            let (k, v) = label(value);
            Filter::Label(k, v)
        }
        "driver" => Filter::Driver(value.to_string()),
        _ => return Err(bad_filter(f)),
    })
}

fn has_label(v: &Volume, k: &str, want: &Option<String>) -> bool {
    match (v.labels.get(k), want) {
        (Some(have), Some(want)) => have == want,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

fn matches(eng: &Engine, v: &Volume, filters: &[Filter]) -> Result<bool, CmdError> {
    for f in filters {
        let ok = match f {
            Filter::Dangling(d) => eng.volume_users(&v.name)?.is_empty() == *d,
            Filter::Name(n) => v.name.contains(n.as_str()),
            Filter::Label(k, val) => has_label(v, k, val),
            Filter::NotLabel(k, val) => !has_label(v, k, val),
            Filter::Driver(d) => &v.driver == d,
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

fn ls(eng: &Engine, quiet: bool, format: Option<&str>, filter: &[String]) -> CmdResult {
    let filters = filter
        .iter()
        .map(|f| parse_filter(f))
        .collect::<Result<Vec<_>, _>>()?;
    let mut rows = Vec::new();
    for v in eng.volume_list()? {
        if matches(eng, &v, &filters)? {
            rows.push(v);
        }
    }
    if quiet {
        for v in rows {
            println!("{}", v.name);
        }
        return Ok(());
    }
    let json: Vec<_> = rows.iter().map(Volume::list_json).collect();
    let out = template::render_rows(
        format,
        "table {{.Driver}}\t{{.Name}}",
        &json,
        &[("Name", "VOLUME NAME")],
    )?;
    print!("{out}");
    Ok(())
}

fn inspect(eng: &Engine, format: Option<&str>, names: &[String]) -> CmdResult {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for n in names {
        match eng.volume_get(n)? {
            Some(v) => found.push(v.inspect_json()),
            None => missing.push(n.as_str()),
        }
    }
    print!("{}", template::inspect_output(format, &found)?);
    if missing.is_empty() {
        Ok(())
    } else {
        Err(CmdError {
            msg: format!("no such volume: {}", missing.join(", ")),
            code: 1,
        })
    }
}

fn rm(eng: &Engine, force: bool, names: &[String]) -> CmdResult {
    let mut errors = Vec::new();
    for n in names {
        match eng.volume_remove(n) {
            Ok(()) => println!("{n}"),
            Err(hull_engine::Error::NotFound(_)) if force => {}
            Err(e) => errors.push(e.to_string()),
        }
    }
    super::all_done(errors)
}

/// Asks on the terminal; true when the answer is y or yes.
pub fn confirm(warning: &str) -> bool {
    use std::io::Write;
    print!("{warning}\nAre you sure you want to continue? [y/N] ");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    if std::io::stdin().read_line(&mut line).is_err() {
        return false;
    }
    matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

fn prune(eng: &Engine, force: bool, all: bool, filter: &[String]) -> CmdResult {
    let mut filters = Vec::new();
    for f in filter {
        match parse_filter(f)? {
            l @ (Filter::Label(..) | Filter::NotLabel(..)) => filters.push(l),
            _ => return Err(bad_filter(f)),
        }
    }
    let what = if all { "all local" } else { "anonymous local" };
    if !force
        && !confirm(&format!(
            "WARNING! This will remove {what} volumes not used by at least one container."
        ))
    {
        return Ok(());
    }
    let keep = |v: &Volume| {
        !filters.iter().all(|f| match f {
            Filter::Label(k, val) => has_label(v, k, val),
            Filter::NotLabel(k, val) => !has_label(v, k, val),
            _ => true,
        })
    };
    let pruned = eng.volume_prune(all, &keep)?;
    print_pruned("Deleted Volumes:", &pruned.names, pruned.bytes);
    Ok(())
}

/// docker's prune report: the removed names under a heading, then the space reclaimed.
pub fn print_pruned(heading: &str, names: &[String], bytes: u64) {
    if !names.is_empty() {
        println!("{heading}");
        for n in names {
            println!("{n}");
        }
        println!();
    }
    println!("Total reclaimed space: {}", human::human_size(bytes));
}
