//! Where the container lifecycle calls into networking: one call before the spec is
//! generated (start), one on every way out (exit hook, rm, a failed start).

use std::path::PathBuf;

use crate::container::config::{NetworkMode, RunConfig};
use crate::container::Container;
use crate::engine::Engine;
use crate::Paths;

use super::endpoint::{self, NetRequest};
use super::Result;

/// The container's network request (the default network when none was stored).
pub fn request(cfg: &RunConfig) -> NetRequest {
    let mut r = cfg.net.clone().unwrap_or_default();
    if r.networks.is_empty() && cfg.network_mode != NetworkMode::Default {
        r.networks = vec![cfg.network_mode.to_string()];
    }
    r.hostname = cfg.hostname.clone();
    r.exposed = cfg.exposed_ports.clone();
    r
}

/// Whether the container gets a namespace of its own on bridge networks (not none, host or
/// another container's).
pub fn uses_bridge(cfg: &RunConfig) -> bool {
    // "pod:<id>": the pod's namespace, wired once for the pod (crates/engine/src/pod).
    cfg.network_mode.uses_bridge()
}

/// Whether the container's namespace is wired by the runtime's createRuntime hook
/// ([`created`]) instead of before the spec: a container in a user namespace of its own
/// cannot join a namespace owned by the host's user namespace (setns: EPERM), and could not
/// mount sysfs in one, so its namespace is the one the runtime makes in its user namespace.
pub fn wired_at_create(cfg: &RunConfig) -> bool {
    uses_bridge(cfg) && cfg.userns_is_mapped()
}

/// The pinned namespace the spec joins, for a bridge-networked container. `--network
/// none` gets a namespace of its own from the runtime, which brings its `lo` up (runc, crun
/// and hullrt do): no pin, so no mount of it in the host's table, which every container's
/// start copies.
pub fn netns_path(paths: &Paths, c: &Container) -> Option<PathBuf> {
    (uses_bridge(&c.config) && !wired_at_create(&c.config))
        .then(|| endpoint::netns_path(paths, &c.id))
}

/// Before the spec: pins the namespace, connects it to the networks, publishes the ports,
/// writes /etc/hosts and /etc/resolv.conf. Undoes itself on failure.
pub fn before_start(eng: &Engine, c: &Container) -> Result<()> {
    if !uses_bridge(&c.config) || wired_at_create(&c.config) {
        return Ok(());
    }
    endpoint::pin(&eng.paths, &c.id)?;
    wire(eng, c)
}

/// Connects the container's pinned namespace to its networks, publishes its ports and
/// writes its /etc/hosts and /etc/resolv.conf; undoes it all (the namespace too) on failure.
fn wire(eng: &Engine, c: &Container) -> Result<()> {
    let mut req = request(&c.config);
    req.add_hosts.extend(link_hosts(eng, c));
    if let Err(e) = endpoint::connect(&eng.conn, &eng.paths, &c.id, &c.name, &req).and_then(|_| {
        endpoint::write_files(
            &eng.paths.container_dir(&c.id),
            &eng.conn,
            &c.id,
            &c.name,
            &req,
        )
    }) {
        let _ = endpoint::teardown(&eng.conn, &eng.paths, &c.id);
        return Err(e);
    }
    lease_events(eng, &c.id, "connect");
    Ok(())
}

/// `--link NAME:ALIAS`, as docker's default bridge does it: /etc/hosts names the linked
/// container's address by the alias, its name and its short id (`--add-host` entries). A
/// linked container without an address (stopped) gets none.
fn link_hosts(eng: &Engine, c: &Container) -> Vec<String> {
    let mut out = Vec::new();
    for link in &c.config.links {
        let (target, alias) = link.split_once(':').unwrap_or((link, link));
        let Ok(t) = crate::container::lookup(&eng.conn, target) else {
            continue;
        };
        let Some(l) = super::lease::of_container(&eng.conn, &t.id)
            .unwrap_or_default()
            .into_iter()
            .next()
        else {
            continue;
        };
        let mut names = vec![alias.to_string(), t.short_id().to_string(), t.name.clone()];
        names.dedup();
        for n in names {
            out.push(format!("{n}:{}", l.ip));
        }
    }
    out
}

/// docker's `connect`/`disconnect` network events, one per network the container holds a
/// lease on.
fn lease_events(eng: &Engine, id: &str, action: &str) {
    for l in super::lease::of_container(&eng.conn, id).unwrap_or_default() {
        network_event(eng, &l.network, id, action);
    }
}

/// One network event: the network's id, its `name`, `type` and the `container`.
pub fn network_event(eng: &Engine, network: &str, container: &str, action: &str) {
    let Ok(net) = super::lookup(&eng.conn, network) else {
        return;
    };
    let attrs = std::collections::BTreeMap::from([
        ("container".to_string(), container.to_string()),
        ("name".to_string(), net.name.clone()),
        ("type".to_string(), "bridge".to_string()),
    ]);
    crate::events::emit(&eng.paths, "network", action, &net.id, attrs);
}

/// The createRuntime hook of a [`wired_at_create`] container: pins the namespace of its
/// created (not yet started) init `pid`, connects it to the networks, publishes the ports and
/// writes /etc/hosts and /etc/resolv.conf (in place: the runtime has bind-mounted them).
/// After a restart by the policy (the last run's namespace is still pinned), the new
/// namespace gets the same addresses and ports. Undoes itself on failure (the runtime then
/// fails the create).
pub fn created(eng: &Engine, c: &Container, pid: i32) -> Result<()> {
    if !wired_at_create(&c.config) {
        return Ok(());
    }
    let ns = endpoint::netns_path(&eng.paths, &c.id);
    let restart = ns.exists();
    if restart {
        let _ = hull_net::netns::remove(&ns);
    }
    hull_net::netns::pin_pid(&eng.paths.runroot, &c.id, pid)
        .map_err(|e| super::NetworkError::Endpoint(c.short_id().into(), e.to_string()))?;
    if !restart {
        return wire(eng, c);
    }
    endpoint::reattach(&eng.conn, &eng.paths, &c.id).inspect_err(|_| {
        let _ = endpoint::teardown(&eng.conn, &eng.paths, &c.id);
    })
}

/// On every way out: ports, interfaces, leases, the pinned namespace. Failures are
/// reported on stderr (the caller is tearing down and goes on).
pub fn after_stop(eng: &Engine, c: &Container) {
    lease_events(eng, &c.id, "disconnect");
    for e in endpoint::teardown(&eng.conn, &eng.paths, &c.id) {
        eprintln!("hull: network teardown of {}: {e}", c.name);
    }
}

/// [`after_stop`] in two halves, for an exit hook with other work to do meanwhile: `start`
/// unpublishes the ports and begins deleting the interfaces; [`Stopping::finish`] waits for
/// them and releases the leases and the namespace.
pub struct Stopping(endpoint::Teardown);

pub fn after_stop_start(eng: &Engine, c: &Container) -> Stopping {
    lease_events(eng, &c.id, "disconnect");
    Stopping(endpoint::Teardown::start(
        &eng.conn, &eng.paths, &c.id, false,
    ))
}

impl Stopping {
    pub fn finish(self, eng: &Engine, c: &Container) {
        for e in self.0.finish(&eng.conn, &eng.paths) {
            eprintln!("hull: network teardown of {}: {e}", c.name);
        }
    }
}
