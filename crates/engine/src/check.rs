//! `hull system check`: what a crash (`kill -9` of hull, of a monitor, of the runtime) left
//! behind, found by comparing what hull recorded with what the kernel and the runtime hold;
//! with `repair`, removed. The containers' part is here; the network's is network/check.rs.
//! - containers whose row disagrees with reality: set right by reconcile.rs as they are listed
//!   (an adopted start is not a leftover: it runs);
//! - orphans: an init alive whose monitor is dead (no log, no exit record, no restart):
//!   stopped through the runtime and torn down;
//! - runtime states, mounts and bundles under our runroot, and cgroups, of containers that are
//!   not running (or have no row), and container directories without a row: removed;
//! - the image store's: layer directories without a row, images missing a layer (hull_image);
//! - volumes' directories without a row, and removals that did not finish (volume.rs).
//!
//! Only what this state owns is looked at: the runtime root and runroot are ours, and a
//! cgroup counts only if it bears the id of one of our containers.

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::container::reconcile;
use crate::container::{self, Container};
use crate::engine::Engine;
use crate::network::check::Report;

impl Engine {
    /// `system check`: the leftovers of crashes (containers, then networking), each one a
    /// line of the report; with `repair`, removed.
    pub fn check(&self, repair: bool) -> crate::Result<Report> {
        Ok(check(self, repair)?)
    }
}

/// Checks (and with `repair` removes) the leftovers of containers, then of networking.
pub(crate) fn check(eng: &Engine, repair: bool) -> crate::network::Result<Report> {
    let mut r = Report::default();
    // No list, no check: with an empty one every bundle, runtime state and directory would
    // look like a leftover.
    let listed = || {
        eng.list().map_err(|e| crate::network::NetworkError::Host {
            name: "containers".into(),
            msg: e.to_string(),
        })
    };
    let all = listed()?;
    orphans(eng, &all, repair, &mut r);
    let all = listed()?;
    let live: BTreeSet<String> = all
        .iter()
        .filter(|c| c.status.is_live())
        .map(|c| c.id.clone())
        .collect();
    // No pods table yet: no pods.
    let pods: BTreeSet<String> = crate::pod::store::list(&eng.conn)
        .unwrap_or_default()
        .into_iter()
        .map(|p| p.id)
        .collect();
    runtime_states(eng, &live, &pods, repair, &mut r);
    bundles(eng, &all, &live, repair, &mut r);
    container_dirs(eng, &all, repair, &mut r);
    cgroups(&all, &live, repair, &mut r);
    image_store(eng, repair, &mut r);
    let (found, errors) = crate::volume::leftovers(&eng.conn, &eng.paths, repair);
    r.found.extend(found);
    r.errors.extend(errors);
    let net = crate::network::check::check(&eng.conn, &eng.paths, &live, repair)?;
    r.found.extend(net.found);
    r.errors.extend(net.errors);
    Ok(r)
}

/// The content store's leftovers of a killed pull, load or rmi (hull_image's check.rs).
fn image_store(eng: &Engine, repair: bool, r: &mut Report) {
    match hull_image::Store::open(&eng.paths.root).and_then(|mut s| s.check(repair)) {
        Ok(s) => {
            r.found.extend(s.found);
            r.errors.extend(s.errors);
        }
        Err(e) => r.errors.push(format!("image store: {e}")),
    }
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

fn orphans(eng: &Engine, all: &[Container], repair: bool, r: &mut Report) {
    for c in all.iter().filter(|c| c.status.is_live() && c.pid > 0) {
        if reconcile::running_monitor(eng, c) > 0 || !container::process_alive(c.pid) {
            continue;
        }
        r.found.push(format!(
            "container {} ({}) runs without its monitor",
            c.name,
            short(&c.id)
        ));
        if repair {
            reconcile::kill_init(eng, c, 9);
            if !reconcile::wait_gone(c.pid, Some(std::time::Duration::from_secs(30))) {
                r.errors
                    .push(format!("container {}: init {} did not die", c.name, c.pid));
                continue;
            }
            reconcile::finish_orphan(eng, &mut c.clone(), 137);
        }
    }
}

/// Entries of a directory, by name.
fn names_in(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn runtime_states(
    eng: &Engine,
    live: &BTreeSet<String>,
    pods: &BTreeSet<String>,
    repair: bool,
    r: &mut Report,
) {
    for id in names_in(&eng.paths.runtime_root()) {
        if live.contains(&id) || pods.contains(&id) {
            continue;
        }
        r.found.push(format!(
            "runtime state of {} that is not running",
            short(&id)
        ));
        if repair {
            eng.oci.delete_force(&id);
            if eng.paths.runtime_root().join(&id).exists() {
                r.errors
                    .push(format!("runtime delete --force {}: state left", short(&id)));
            }
        }
    }
}

/// Mount points under `dir` (deepest first).
fn mounts_under(dir: &std::path::Path) -> Vec<PathBuf> {
    let prefix = format!("{}/", dir.display());
    let mut v: Vec<PathBuf> = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|m| m.starts_with(&prefix))
        .map(PathBuf::from)
        .collect();
    v.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    v
}

/// Bundles (and the mounts in them) of containers that do not run.
fn bundles(eng: &Engine, all: &[Container], live: &BTreeSet<String>, repair: bool, r: &mut Report) {
    for id in names_in(&eng.paths.runroot.join("containers")) {
        if live.contains(&id) {
            continue;
        }
        let dir = eng.paths.run_dir(&id);
        let mounts = mounts_under(&dir);
        for m in &mounts {
            r.found.push(format!(
                "mount {} of container {} that is not running",
                m.display(),
                short(&id)
            ));
        }
        r.found.push(format!(
            "bundle {} of container {} that is not running",
            dir.display(),
            short(&id)
        ));
        if repair {
            match all.iter().find(|c| c.id == id) {
                Some(c) => eng.bundler.unprepare(eng, c),
                None => {
                    for m in &mounts {
                        crate::bundle::rootfs::unmount(m);
                    }
                    let _ = std::fs::remove_dir_all(&dir);
                }
            }
            if dir.exists() {
                r.errors
                    .push(format!("{}: could not remove the bundle", dir.display()));
            }
        }
    }
}

/// Directories under <root>/containers of no container (an rm killed after the row went).
fn container_dirs(eng: &Engine, all: &[Container], repair: bool, r: &mut Report) {
    for id in names_in(&eng.paths.root.join("containers")) {
        if all.iter().any(|c| c.id == id) {
            continue;
        }
        let dir = eng.paths.container_dir(&id);
        r.found
            .push(format!("directory {} of no container", dir.display()));
        if repair {
            if let Err(e) = std::fs::remove_dir_all(&dir) {
                r.errors.push(format!("{}: {e}", dir.display()));
            }
        }
    }
}

/// Cgroups of our containers that do not run.
fn cgroups(all: &[Container], live: &BTreeSet<String>, repair: bool, r: &mut Report) {
    for c in all.iter().filter(|c| !live.contains(&c.id)) {
        let path = crate::container::cgroup::cgroups_path(c);
        let Ok(m) = crate::container::cgroup::manager(&path, &c.id) else {
            continue;
        };
        if !cgroup_exists(&path) {
            continue;
        }
        r.found.push(format!(
            "cgroup {path} of container {} that is not running",
            c.name
        ));
        if repair {
            if let Err(e) = m.destroy() {
                r.errors.push(format!("cgroup {path}: {e}"));
            }
        }
    }
}

/// The cgroup exists in any hierarchy (v2's one tree, or one of v1's).
fn cgroup_exists(path: &str) -> bool {
    let rel = path.trim_start_matches('/');
    let root = std::path::Path::new("/sys/fs/cgroup");
    root.join(rel).is_dir()
        || std::fs::read_dir(root)
            .map(|d| d.flatten().any(|h| h.path().join(rel).is_dir()))
            .unwrap_or(false)
}
