//! `RUN --mount=...` as BuildKit reads it (dockerfile's instructions/commands_runmount.go):
//! `type=bind` (the context or `from=` a stage/image, read-only unless `rw`, writes then
//! discarded), `type=cache` (a directory that persists across builds under the store's
//! `build-mounts/cache/`, keyed by `id`, default the target; `hull builder prune` removes
//! them), `type=tmpfs` and `type=secret` (a file given to `hull build --secret
//! id=ID,src=FILE`, mode 0400, never in the layer or the cache key).
//!
//! The mount points the image lacked are created for the run; afterwards the file ones are
//! removed from the layer and the directory ones stay, empty, as docker 20.10's BuildKit
//! leaves them.

use std::os::unix::fs::{chown, PermissionsExt};
use std::path::{Path, PathBuf};

use hull_engine::container::config::{MountKind, MountSpec};
use sha2::{Digest, Sha256};

use crate::ignore::clean;
use crate::BuildError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountType {
    Bind,
    Cache,
    Tmpfs,
    Secret,
}

/// One `--mount`, parsed; `spec` is the text as written (part of the step's cache key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunMount {
    pub kind: MountType,
    pub target: String,
    pub source: Option<String>,
    pub from: Option<String>,
    /// cache: the cache's name; secret: the secret's id.
    pub id: String,
    pub read_only: bool,
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// tmpfs: `size=` as written.
    pub size: Option<String>,
    /// secret: fail when the build was given no such secret.
    pub required: bool,
    pub spec: String,
}

fn boolean(k: &str, v: Option<&str>) -> Result<bool, String> {
    match v {
        None => Ok(true),
        Some(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(format!("invalid value for {k}: {s}")),
        },
    }
}

fn number(k: &str, v: &str, radix: u32) -> Result<u32, String> {
    u32::from_str_radix(v, radix).map_err(|_| format!("invalid value for {k}: {v}"))
}

/// Parses one `--mount` value (comma-separated `key=value` fields).
pub fn parse(spec: &str) -> Result<RunMount, String> {
    let mut kind = MountType::Bind;
    let mut m = RunMount {
        kind,
        target: String::new(),
        source: None,
        from: None,
        id: String::new(),
        read_only: true,
        mode: None,
        uid: None,
        gid: None,
        size: None,
        required: false,
        spec: spec.to_string(),
    };
    let mut ro: Option<bool> = None;
    let mut id = None;
    for field in spec.split(',').filter(|f| !f.is_empty()) {
        let (k, v) = match field.split_once('=') {
            Some((k, v)) => (k.trim().to_ascii_lowercase(), Some(v.trim())),
            None => (field.trim().to_ascii_lowercase(), None),
        };
        let val = || v.ok_or_else(|| format!("invalid field '{field}' must be a key=value pair"));
        match k.as_str() {
            "type" => {
                kind = match val()? {
                    "bind" => MountType::Bind,
                    "cache" => MountType::Cache,
                    "tmpfs" => MountType::Tmpfs,
                    "secret" => MountType::Secret,
                    other => return Err(format!("unsupported mount type {other:?}")),
                }
            }
            "target" | "dst" | "destination" => m.target = val()?.to_string(),
            "source" | "src" => m.source = Some(val()?.to_string()),
            "from" => m.from = Some(val()?.to_string()),
            "id" => id = Some(val()?.to_string()),
            "readonly" | "ro" => ro = Some(boolean(&k, v)?),
            "readwrite" | "rw" => ro = Some(!boolean(&k, v)?),
            "required" => m.required = boolean(&k, v)?,
            "sharing" => match val()? {
                "shared" | "private" | "locked" => {}
                s => return Err(format!("unsupported sharing value {s:?}")),
            },
            "mode" => m.mode = Some(number(&k, val()?, 8)?),
            "uid" => m.uid = Some(number(&k, val()?, 10)?),
            "gid" => m.gid = Some(number(&k, val()?, 10)?),
            "size" => m.size = Some(val()?.to_string()),
            _ => return Err(format!("unexpected key '{k}' in '{field}'")),
        }
    }
    m.kind = kind;
    if kind == MountType::Secret {
        let id = match (id.clone(), m.target.as_str()) {
            (Some(i), _) if !i.is_empty() => i,
            (_, "") => return Err("secret mount requires an id or a target".into()),
            (_, t) => t.rsplit('/').next().unwrap_or(t).to_string(),
        };
        if m.target.is_empty() {
            m.target = format!("/run/secrets/{id}");
        }
        m.id = id;
    } else if m.target.is_empty() {
        return Err(format!("mount type {} requires a target", kind_name(kind)));
    }
    if kind == MountType::Cache {
        m.id = match id {
            Some(i) if i.is_empty() => return Err("cache mount: id must not be empty".into()),
            Some(i) => i,
            None => m.target.clone(),
        };
        if m.from.is_some() || m.source.is_some() {
            return Err("cache mount: from and source are not supported".into());
        }
    }
    if kind == MountType::Tmpfs && (m.from.is_some() || m.source.is_some()) {
        return Err("tmpfs mount: from and source are not allowed".into());
    }
    if m.size.is_some() && kind != MountType::Tmpfs {
        return Err(format!("size is not allowed for type={}", kind_name(kind)));
    }
    m.read_only = ro.unwrap_or(matches!(kind, MountType::Bind | MountType::Secret));
    if !m.target.starts_with('/') {
        m.target = format!("/{}", clean(&m.target));
    }
    Ok(m)
}

fn kind_name(k: MountType) -> &'static str {
    match k {
        MountType::Bind => "bind",
        MountType::Cache => "cache",
        MountType::Tmpfs => "tmpfs",
        MountType::Secret => "secret",
    }
}

/// `hull build --secret id=ID,src=FILE` (or `env=VAR`): the secret's id and its bytes.
pub fn secret_arg(s: &str) -> Result<(String, Vec<u8>), BuildError> {
    let (mut id, mut src, mut env) = (None, None, None);
    for f in s.split(',') {
        match f.split_once('=') {
            Some(("id", v)) => id = Some(v.to_string()),
            Some(("src" | "source", v)) => src = Some(v.to_string()),
            Some(("env", v)) => env = Some(v.to_string()),
            Some(("type", "file" | "env")) => {}
            _ => {
                return Err(BuildError::msg(format!(
                    "--secret {s}: unexpected field {f:?}"
                )))
            }
        }
    }
    let id = id
        .filter(|i| !i.is_empty())
        .ok_or_else(|| BuildError::msg(format!("--secret {s}: id= is required")))?;
    let bytes = match src {
        Some(p) => std::fs::read(&p)
            .map_err(|e| BuildError::msg(format!("--secret {s}: read {p}: {e}")))?,
        None => {
            let var = env.unwrap_or_else(|| id.clone());
            std::env::var(&var)
                .map_err(|_| {
                    BuildError::msg(format!(
                        "--secret {s}: environment variable {var} is not set"
                    ))
                })?
                .into_bytes()
        }
    };
    Ok((id, bytes))
}

/// Where a `RUN`'s mounts come from.
pub struct Sources<'a> {
    /// The store's root (cache mounts live under `build-mounts/cache/`).
    pub root: &'a Path,
    pub tmp: &'a Path,
    /// The context's directory (None: a Dockerfile on stdin).
    pub context: Option<&'a Path>,
    pub secrets: &'a [(String, Vec<u8>)],
    /// The image the step runs in, to tell which mount points it lacks.
    pub image: &'a Path,
    /// `from=`: a stage's or an image's read-only view.
    pub from: &'a dyn Fn(&str) -> Result<crate::view::View, BuildError>,
}

/// The mounts of one `RUN`, ready for the container, and what they need alive meanwhile.
pub struct Prepared {
    pub specs: Vec<MountSpec>,
    /// Paths (absolute in the image) of mount points the image lacked, parents first.
    pub stubs: Vec<String>,
    _views: Vec<crate::view::View>,
    _dirs: Vec<tempfile::TempDir>,
}

/// The directory of the cache mount `id`.
pub fn cache_dir(root: &Path, id: &str) -> PathBuf {
    let h = hex::encode(Sha256::digest(id.as_bytes()));
    root.join("build-mounts").join("cache").join(h)
}

fn io(what: String) -> impl FnOnce(std::io::Error) -> BuildError {
    move |e| BuildError::msg(format!("{what}: {e}"))
}

fn owned(p: &Path, m: &RunMount, mode: u32) -> Result<(), BuildError> {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(m.mode.unwrap_or(mode)))
        .map_err(io(format!("chmod {}", p.display())))?;
    chown(p, Some(m.uid.unwrap_or(0)), Some(m.gid.unwrap_or(0)))
        .map_err(io(format!("chown {}", p.display())))
}

pub fn prepare(mounts: &[RunMount], s: &Sources<'_>) -> Result<Prepared, BuildError> {
    let mut p = Prepared {
        specs: Vec::new(),
        stubs: Vec::new(),
        _views: Vec::new(),
        _dirs: Vec::new(),
    };
    for m in mounts {
        let spec = |kind, source: String, read_only| MountSpec {
            kind,
            source,
            target: m.target.clone(),
            read_only,
            ..Default::default()
        };
        let ms = match m.kind {
            MountType::Bind => {
                let src = clean(m.source.as_deref().unwrap_or("."));
                if src == ".." || src.starts_with("../") {
                    return Err(BuildError::msg(format!(
                        "--mount={}: source {src} leaves the build context",
                        m.spec
                    )));
                }
                let base = match &m.from {
                    Some(f) => {
                        let v = (s.from)(f)?;
                        let host = v.resolve(&src);
                        p._views.push(v);
                        host
                    }
                    None => {
                        let ctx = s.context.ok_or_else(|| {
                            BuildError::msg(format!(
                                "--mount={}: no build context (the Dockerfile came from stdin)",
                                m.spec
                            ))
                        })?;
                        let host = ctx.join(if src == "." { "" } else { &src });
                        match host.canonicalize() {
                            Ok(real) if real.starts_with(ctx) => real,
                            Ok(_) => {
                                return Err(BuildError::msg(format!(
                                    "--mount={}: source {src} leaves the build context",
                                    m.spec
                                )))
                            }
                            Err(_) => host,
                        }
                    }
                };
                if base.symlink_metadata().is_err() {
                    return Err(BuildError::msg(format!(
                        "--mount={}: source {src}: file does not exist",
                        m.spec
                    )));
                }
                let host = if m.read_only {
                    base
                } else {
                    // rw: the run may write, and its writes are thrown away with a copy.
                    let d = tempfile::tempdir_in(s.tmp)
                        .map_err(io(format!("temp dir in {}", s.tmp.display())))?;
                    let to = d.path().join("m");
                    let st = std::process::Command::new("cp")
                        .arg("-a")
                        .arg(&base)
                        .arg(&to)
                        .status()
                        .map_err(io("cp".into()))?;
                    if !st.success() {
                        return Err(BuildError::msg(format!(
                            "--mount={}: copy {} for rw: cp failed",
                            m.spec,
                            base.display()
                        )));
                    }
                    p._dirs.push(d);
                    to
                };
                spec(MountKind::Bind, host.display().to_string(), m.read_only)
            }
            MountType::Cache => {
                let dir = cache_dir(s.root, &m.id);
                if !dir.is_dir() {
                    std::fs::create_dir_all(&dir)
                        .map_err(io(format!("mkdir {}", dir.display())))?;
                    owned(&dir, m, 0o755)?;
                }
                spec(MountKind::Bind, dir.display().to_string(), m.read_only)
            }
            MountType::Tmpfs => {
                let mut t = spec(MountKind::Tmpfs, String::new(), false);
                if let Some(sz) = &m.size {
                    t.options.push(format!("size={sz}"));
                }
                t
            }
            MountType::Secret => {
                let Some((_, bytes)) = s.secrets.iter().find(|(id, _)| *id == m.id) else {
                    if m.required {
                        return Err(BuildError::msg(format!(
                            "--mount={}: secret {} not found (hull build --secret id={},src=FILE)",
                            m.spec, m.id, m.id
                        )));
                    }
                    continue;
                };
                let d = tempfile::tempdir_in(s.tmp)
                    .map_err(io(format!("temp dir in {}", s.tmp.display())))?;
                let f = d.path().join("secret");
                std::fs::write(&f, bytes).map_err(io(format!("write {}", f.display())))?;
                owned(&f, m, 0o400)?;
                p._dirs.push(d);
                spec(MountKind::Bind, f.display().to_string(), true)
            }
        };
        stubs(s.image, &m.target, &mut p.stubs);
        p.specs.push(ms);
    }
    Ok(p)
}

/// The components of `target` the image at `root` lacks (each a path, parents first).
fn stubs(root: &Path, target: &str, out: &mut Vec<String>) {
    let mut acc = String::new();
    for part in target.split('/').filter(|c| !c.is_empty()) {
        acc.push('/');
        acc.push_str(part);
        if root.join(&acc[1..]).symlink_metadata().is_err() && !out.contains(&acc) {
            out.push(acc.clone());
        }
    }
}

/// After the run: the file mount points (a secret, a bound file) in the container's upper
/// dir that the image lacked, removed while empty. Directory mount points stay in the layer,
/// empty, as docker 20.10's BuildKit leaves them (tests/parity/build_buildkit.rs); later
/// BuildKit releases remove those too (docs/build.md).
pub fn remove_stubs(upper: &Path, stubs: &[String]) {
    for s in stubs {
        let p = upper.join(&s[1..]);
        if p.symlink_metadata()
            .is_ok_and(|md| md.is_file() && md.len() == 0)
        {
            let _ = std::fs::remove_file(&p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_buildkit_fields() {
        let m = parse("type=cache,target=/root/.cache,sharing=locked").unwrap();
        assert_eq!(
            (m.kind, m.id.as_str(), m.read_only),
            (MountType::Cache, "/root/.cache", false)
        );
        let m = parse("target=/src,rw").unwrap();
        assert_eq!((m.kind, m.read_only), (MountType::Bind, false));
        let m = parse("type=secret,id=tok").unwrap();
        assert_eq!((m.target.as_str(), m.read_only), ("/run/secrets/tok", true));
        let m = parse("type=secret,target=/etc/key").unwrap();
        assert_eq!(m.id, "key");
        let m = parse("type=tmpfs,dst=/t,size=1m").unwrap();
        assert_eq!(m.size.as_deref(), Some("1m"));
        assert_eq!(
            parse("type=nfs,target=/x").unwrap_err(),
            "unsupported mount type \"nfs\""
        );
        assert!(parse("type=cache")
            .unwrap_err()
            .contains("requires a target"));
        assert!(parse("type=cache,id=,target=/c")
            .unwrap_err()
            .contains("id"));
        assert!(parse("type=bind,target=/x,colour=red")
            .unwrap_err()
            .contains("colour"));
        assert!(parse("type=secret").is_err());
    }
}
