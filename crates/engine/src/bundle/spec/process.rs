//! The process: args (entrypoint + cmd, behind /dev/init with --init), env with docker's
//! defaults, working dir, user (names resolved in the image's /etc/passwd and /etc/group),
//! terminal, rlimits, hostname.

use std::io::Read;
use std::os::fd::AsFd;
use std::path::Path;

use oci_spec::runtime::{
    PosixRlimit, PosixRlimitBuilder, PosixRlimitType, ProcessBuilder, Spec, UserBuilder,
};

use super::{invalid, Ctx, Result, SpecError};

const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A file of the container's rootfs, read without following links out of it.
fn read_in_root(rootfs: &Path, path: &str) -> Option<String> {
    let root = std::fs::File::open(rootfs).ok()?;
    let fd = hull_sys::beneath::open(
        root.as_fd(),
        Path::new(path),
        hull_sys::beneath::Resolve::InRoot,
        libc::O_RDONLY,
        0,
    )
    .ok()?;
    let mut s = String::new();
    std::fs::File::from(fd).read_to_string(&mut s).ok()?;
    Some(s)
}

/// `-u USER[:GROUP]` to (uid, gid, additional gids), docker's rules: numbers as given, names
/// looked up in the image; a numeric uid not in passwd gets gid 0.
pub fn resolve_user(rootfs: &Path, user: &str) -> Result<(u32, u32, Vec<u32>)> {
    let (u, g) = match user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (user, None),
    };
    let passwd = read_in_root(rootfs, "/etc/passwd").unwrap_or_default();
    let group = read_in_root(rootfs, "/etc/group").unwrap_or_default();
    let entry = passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() >= 4 && (f[0] == u || (u.parse::<u32>().is_ok() && f[2] == u)));
    let (uid, mut gid, uname) = match (u.parse::<u32>(), &entry) {
        (Ok(n), Some(f)) => (n, f[3].parse().unwrap_or(0), f[0].to_string()),
        (Ok(n), None) => (n, 0, String::new()),
        (Err(_), Some(f)) => (
            f[2].parse().unwrap_or(0),
            f[3].parse().unwrap_or(0),
            u.to_string(),
        ),
        (Err(_), None) => {
            return Err(SpecError::Invalid(format!(
                "unable to find user {u}: no matching entries in passwd file"
            )))
        }
    };
    if let Some(g) = g {
        gid = match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => group
                .lines()
                .map(|l| l.split(':').collect::<Vec<_>>())
                .find(|f| f.len() >= 3 && f[0] == g)
                .and_then(|f| f[2].parse().ok())
                .ok_or_else(|| {
                    SpecError::Invalid(format!(
                        "unable to find group {g}: no matching entries in group file"
                    ))
                })?,
        };
    }
    let extra: Vec<u32> = if uname.is_empty() {
        Vec::new()
    } else {
        group
            .lines()
            .map(|l| l.split(':').collect::<Vec<_>>())
            .filter(|f| f.len() >= 4 && f[3].split(',').any(|m| m == uname))
            .filter_map(|f| f[2].parse().ok())
            .filter(|g| *g != gid)
            .collect()
    };
    Ok((uid, gid, extra))
}

/// `--ulimit`'s name (`nofile`) as the rlimit's type.
fn rlimit_type(name: &str) -> Result<PosixRlimitType> {
    let key = format!("\"RLIMIT_{}\"", name.to_ascii_uppercase());
    serde_json::from_str(&key)
        .map_err(|_| SpecError::Invalid(format!("invalid --ulimit {name:?}: unknown limit")))
}

pub fn apply(ctx: &Ctx<'_>, spec: &mut Spec) -> Result<()> {
    let cfg = &ctx.c.config;
    let mut args = cfg.args();
    if args.is_empty() {
        return Err(SpecError::Invalid("no command specified".into()));
    }
    if cfg.init {
        args.splice(0..0, ["/dev/init".to_string(), "--".to_string()]);
    }
    let hostname = if cfg.hostname.is_empty() {
        ctx.c.short_id().to_string()
    } else {
        cfg.hostname.clone()
    };
    let mut env = Vec::new();
    if !cfg.env.iter().any(|e| e.starts_with("PATH=")) {
        env.push(DEFAULT_PATH.to_string());
    }
    env.push(format!("HOSTNAME={hostname}"));
    if cfg.tty {
        env.push("TERM=xterm".into());
    }
    env = crate::container::config::merge_env(&env, &cfg.env);
    // No user: root, with root's groups from the image's /etc/group (docker's).
    let user = if cfg.user.is_empty() { "0" } else { &cfg.user };
    let (uid, gid, extra) = resolve_user(&ctx.rootfs, user)?;
    let cwd = if cfg.working_dir.is_empty() {
        "/"
    } else {
        &cfg.working_dir
    };
    let mut user = UserBuilder::default().uid(uid).gid(gid);
    if !extra.is_empty() {
        user = user.additional_gids(extra);
    }
    let rlimits = cfg
        .ulimits
        .iter()
        .map(|u| {
            PosixRlimitBuilder::default()
                .typ(rlimit_type(&u.name)?)
                .soft(u.soft)
                .hard(u.hard)
                .build()
                .map_err(invalid)
        })
        .collect::<Result<Vec<PosixRlimit>>>()?;
    // Every field Process's default fills is set (module doc of super).
    let mut process = ProcessBuilder::default()
        .terminal(cfg.tty)
        .user(user.build().map_err(invalid)?)
        .args(args)
        .env(env)
        .cwd(cwd)
        .rlimits(rlimits)
        .build()
        .map_err(invalid)?;
    process.set_capabilities(None);
    process.set_no_new_privileges(None);
    spec.set_process(Some(process));
    // Only a uts namespace of its own gets the hostname: the host's, another container's
    // (container:NAME) and a pod's shared one (set by its infra) keep theirs.
    if cfg.uts_mode.is_own() {
        spec.set_hostname(Some(hostname));
        if !cfg.domainname.is_empty() {
            spec.set_domainname(Some(cfg.domainname.clone()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_ulimit_name_is_an_rlimit_type() {
        for name in crate::container::config::ULIMIT_NAMES {
            let t = rlimit_type(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            let json = serde_json::to_value(t).unwrap();
            assert_eq!(json, format!("RLIMIT_{}", name.to_ascii_uppercase()));
        }
        assert!(rlimit_type("bogus").is_err());
    }
}
