//! `hull create` (and the first half of `run`): checks the request, resolves the image, merges
//! its defaults, stores the container (a random docker-style name unless one is given) and
//! makes its directory (overlay upper/work, hostname, hosts, resolv.conf). Any failure
//! leaves nothing behind.

use std::collections::BTreeMap;
use std::path::Path;

use crate::container::config::{MountKind, RunConfig};
use crate::container::{self, Container, ContainerError};
use crate::container::{config::merge_env, names};
use crate::engine::Engine;
use crate::image::{self, ImageError};
use crate::{bundle::rootfs, bundle::spec, volume};

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("invalid container name {0:?}: only {chars} are allowed", chars = names::NAME_CHARS)]
    BadName(String),
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error(transparent)]
    Container(#[from] ContainerError),
    #[error(transparent)]
    Spec(#[from] spec::SpecError),
    #[error(transparent)]
    Volume(#[from] volume::VolumeError),
    #[error(transparent)]
    Rootfs(#[from] rootfs::RootfsError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

/// What the command line asked for; `config` holds only what the user gave.
pub struct Request {
    pub image: String,
    pub name: Option<String>,
    /// --entrypoint given (an empty string clears the image's).
    pub entrypoint: Option<Vec<String>>,
    pub config: RunConfig,
    pub labels: BTreeMap<String, String>,
}

/// The image's defaults under the user's choices, docker's rules.
fn merge(img: &image::ImageInfo, req: &Request) -> RunConfig {
    let mut cfg = req.config.clone();
    cfg.env = merge_env(&img.env, &req.config.env);
    match &req.entrypoint {
        Some(ep) => cfg.entrypoint = ep.clone(),
        None => {
            cfg.entrypoint = img.entrypoint.clone();
            if cfg.cmd.is_empty() {
                cfg.cmd = img.cmd.clone();
            }
        }
    }
    if cfg.working_dir.is_empty() {
        cfg.working_dir = img.working_dir.clone();
    }
    if cfg.user.is_empty() {
        cfg.user = img.user.clone();
    }
    if cfg.stop_signal.is_empty() {
        cfg.stop_signal = img.stop_signal.clone();
    }
    // The image's, then --expose's.
    cfg.exposed_ports = img.exposed_ports.clone();
    for p in &req.config.exposed_ports {
        if !cfg.exposed_ports.contains(p) {
            cfg.exposed_ports.push(p.clone());
        }
    }
    cfg.image_labels = img.labels.clone();
    cfg
}

/// Checks what can be checked before anything is made.
fn validate(cfg: &RunConfig) -> Result<(), CreateError> {
    if cfg.args().is_empty() {
        return Err(CreateError::Invalid("no command specified".into()));
    }
    spec::check(cfg)?;
    Ok(())
}

/// The container's cgroup manager, parent and namespace, fixed for its life (crate::container::cgroup).
fn settle_cgroup(eng: &Engine, cfg: &mut RunConfig) -> Result<(), CreateError> {
    let pod_parent = match crate::pod::hooks::pod_id(cfg) {
        Some(pod) => {
            let p = crate::pod::store::lookup(&eng.conn, pod)
                .map_err(|e| CreateError::Invalid(e.to_string()))?;
            Some(crate::pod::infra::parent(&p))
        }
        None => None,
    };
    crate::container::cgroup::settle(cfg, eng.cgroup_manager(), pod_parent.as_deref())
        .map_err(CreateError::Invalid)
}

pub fn create(eng: &Engine, req: Request) -> Result<Container, CreateError> {
    create_with_image(eng, req).map(|(c, _)| c)
}

/// As `create`, also returning the resolved image (so `run` need not resolve it again).
pub fn create_with_image(
    eng: &Engine,
    req: Request,
) -> Result<(Container, image::ImageInfo), CreateError> {
    if let Some(n) = &req.name {
        if !names::valid_name(n.strip_prefix('/').unwrap_or(n)) {
            return Err(CreateError::BadName(n.clone()));
        }
    }
    let img = image::resolve(&eng.paths, &req.image)?;
    tracing::debug!(image = %img.id, "image resolved");
    let mut cfg = merge(&img, &req);
    validate(&cfg)?;
    settle_cgroup(eng, &mut cfg)?;
    // Anonymous volumes get a random name now, so the container always mounts the same one.
    for m in cfg
        .mounts
        .iter_mut()
        .filter(|m| m.kind == MountKind::Volume && m.source.is_empty())
    {
        m.source = names::new_id();
        m.anonymous = true;
    }
    let name = req.name.as_deref().unwrap_or_default();
    let mut c = Container::new(
        names::new_id(),
        name.trim_start_matches('/').to_string(),
        img.id.clone(),
        req.image.clone(),
        cfg,
    );
    c.labels = req.labels.clone();
    insert_named(eng, &mut c, req.name.is_none())?;
    if let Err(e) = make_dirs(eng, &c) {
        remove_leftovers(eng, &c);
        return Err(e);
    }
    crate::events::container(&eng.paths, &c, "create", &[]);
    tracing::debug!(id = %c.id, name = %c.name, "container created");
    Ok((c, img))
}

/// Inserts with the given name, or with random names until one is free.
fn insert_named(eng: &Engine, c: &mut Container, random: bool) -> Result<(), CreateError> {
    for _ in 0..32 {
        if random {
            c.name = names::random_name();
        }
        match container::insert(&eng.conn, c) {
            Err(ContainerError::NameInUse(_)) if random => continue,
            r => return Ok(r?),
        }
    }
    Err(CreateError::Invalid(
        "could not find a free random name".into(),
    ))
}

fn write(path: &Path, text: &str) -> Result<(), CreateError> {
    std::fs::write(path, text).map_err(|source| CreateError::Io {
        path: path.display().to_string(),
        source,
    })
}

fn make_dirs(eng: &Engine, c: &Container) -> Result<(), CreateError> {
    let dir = eng.paths.container_dir(&c.id);
    let cfg = &c.config;
    let mapped_gid = crate::pod::plan::mapped_root(&cfg.uidmap, &cfg.gidmap).map(|(_, g)| g);
    crate::paths::private_dir(&dir, mapped_gid.filter(|_| cfg.userns_is_mapped())).map_err(
        |source| CreateError::Io {
            path: dir.display().to_string(),
            source,
        },
    )?;
    rootfs::prepare(&dir)?;
    if cfg.userns_is_mapped() {
        // A remapped root owns the root of its layer (the overlay's root takes the upper
        // dir's owner), so it can make directories at / (mount points), as podman's chowned
        // layer allows.
        if let Some((uid, gid)) = crate::pod::plan::mapped_root(&cfg.uidmap, &cfg.gidmap) {
            let upper = dir.join("upper");
            std::os::unix::fs::chown(&upper, Some(uid), Some(gid)).map_err(|source| {
                CreateError::Io {
                    path: upper.display().to_string(),
                    source,
                }
            })?;
        }
        // With a user namespace, the bind mount targets are made in the container's own
        // layer, so a runtime whose root is mapped to an unprivileged id need not create them.
        let etc = dir.join("upper/etc");
        std::fs::create_dir_all(&etc).map_err(|source| CreateError::Io {
            path: etc.display().to_string(),
            source,
        })?;
        for f in ["hostname", "hosts", "resolv.conf"] {
            write(&etc.join(f), "")?;
        }
    }
    for m in cfg.mounts.iter().filter(|m| m.kind == MountKind::Volume) {
        if volume::get(&eng.conn, &m.source)?.is_none() {
            let mut labels = BTreeMap::new();
            if m.anonymous {
                labels.insert("com.docker.volume.anonymous".to_string(), String::new());
            }
            volume::create(&eng.conn, &eng.paths, Some(&m.source), &labels)?;
        }
    }
    for m in cfg.mounts.iter().filter(|m| m.kind == MountKind::Bind) {
        if !Path::new(&m.source).exists() {
            return Err(CreateError::Invalid(format!(
                "invalid mount config: bind source path does not exist: {}",
                m.source
            )));
        }
    }
    let host_name = nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default();
    let hostname = match (cfg.hostname.as_str(), cfg.network_mode.as_str()) {
        _ if cfg.uts_mode.is_host() => host_name,
        ("", "host") => host_name,
        ("", _) => c.short_id().to_string(),
        (h, _) => h.to_string(),
    };
    write(&dir.join("hostname"), &format!("{hostname}\n"))?;
    let hosts = if cfg.network_mode == "host" {
        std::fs::read_to_string("/etc/hosts").unwrap_or_default()
    } else {
        format!(
            "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n\
             fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n\
             ff02::2\tip6-allrouters\n127.0.1.1\t{hostname}\n"
        )
    };
    write(&dir.join("hosts"), &hosts)?;
    write(
        &dir.join("resolv.conf"),
        &resolv_conf(cfg.network_mode == "host"),
    )?;
    Ok(())
}

/// The host's resolv.conf; for a container of its own network, without loopback resolvers
/// (they would be the container's own loopback).
fn resolv_conf(host_net: bool) -> String {
    let host = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    if host_net {
        return host;
    }
    host.lines()
        .filter(|l| {
            let mut f = l.split_whitespace();
            !(f.next() == Some("nameserver")
                && f.next()
                    .is_some_and(|a| a.starts_with("127.") || a == "::1"))
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Removes what a failed create made (row and directory).
fn remove_leftovers(eng: &Engine, c: &Container) {
    let _ = std::fs::remove_dir_all(eng.paths.container_dir(&c.id));
    let _ = container::delete(&eng.conn, &c.id);
}

/// A created container and the image it was made from (so a start need not resolve it again).
pub struct Created {
    pub container: Container,
    pub image: image::ImageInfo,
}

impl Engine {
    /// `create`: a container from `req` (not started).
    pub fn create(&self, req: Request) -> crate::Result<Created> {
        let (container, image) = create_with_image(self, req)?;
        Ok(Created { container, image })
    }
}
