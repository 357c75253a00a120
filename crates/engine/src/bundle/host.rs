//! A container's bundle on the host, made at each start and taken down at each way out: the
//! overlay mounted at the bundle's rootfs, /dev/shm and the volumes mounted, the network
//! wired, config.json generated from the stored run config. The lifecycle reaches it through
//! the [`Bundler`](super::Bundler) trait; this is the real one (it needs root: mounts,
//! network namespaces).

use std::path::PathBuf;

use oci_spec::runtime::{HookBuilder, Hooks};

use crate::bundle::{rootfs, spec};
use crate::container::start::StartError;
use crate::container::Container;
use crate::engine::Engine;
use crate::image;

/// The bundle as the kernel makes it.
pub struct HostBundler;

impl super::Bundler for HostBundler {
    fn prepare(
        &self,
        eng: &Engine,
        c: &Container,
        img: Option<&image::ImageInfo>,
    ) -> Result<(), StartError> {
        prepare(eng, c, img)
    }

    fn unprepare(&self, eng: &Engine, c: &Container) {
        unprepare(eng, c)
    }

    fn release(&self, eng: &Engine, c: &Container) {
        // The veths are deleted while the rootfs is unmounted; the leases go before the row
        // does.
        let net = crate::network::hooks::after_stop_start(eng, c);
        // Released again by `rm` after the exit hook: the volumes' events only once.
        let was_up = rootfs::is_mounted(&eng.paths.rootfs(&c.id));
        rootfs::unmount(&eng.paths.rootfs(&c.id));
        crate::bundle::shm::unmount(&eng.paths, &c.id);
        crate::volume::mount::release(eng, c);
        if was_up {
            crate::volume::seed::after_stop(eng, c);
        }
        net.finish(eng, c);
    }
}

fn io_err(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> StartError + '_ {
    move |source| StartError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// hull's --init binary, written once under runroot (it is embedded in hull).
fn init_binary(eng: &Engine) -> Result<PathBuf, StartError> {
    static INIT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/hull-init"));
    let path = eng.paths.runroot.join("hull-init");
    if std::fs::metadata(&path)
        .map(|m| m.len() == INIT.len() as u64)
        .unwrap_or(false)
    {
        return Ok(path);
    }
    let tmp = eng
        .paths
        .runroot
        .join(format!("hull-init.{}", std::process::id()));
    std::fs::create_dir_all(&eng.paths.runroot).map_err(io_err(&eng.paths.runroot))?;
    std::fs::write(&tmp, INIT).map_err(io_err(&tmp))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(io_err(&path))?;
    Ok(path)
}

/// Mounts the rootfs and writes config.json.
pub fn prepare(
    eng: &Engine,
    c: &Container,
    img: Option<&image::ImageInfo>,
) -> Result<(), StartError> {
    let resolved;
    let img = match img {
        Some(i) => i,
        None => {
            resolved = image::resolve(&eng.paths, &c.image_id)?;
            &resolved
        }
    };
    let run_dir = eng.paths.run_dir(&c.id);
    let mapped_gid = crate::pod::plan::mapped_root(&c.config.uidmap, &c.config.gidmap)
        .map(|(_, g)| g)
        .filter(|_| c.config.userns_is_mapped());
    crate::paths::private_dir(&run_dir, mapped_gid).map_err(io_err(&run_dir))?;
    let rootfs = eng.paths.rootfs(&c.id);
    let mapped = rootfs::MappedLayers::new(&c.config, &img.layers, &run_dir)?;
    rootfs::mount_overlay(
        mapped.as_ref().map_or(&img.layers[..], |m| m.layers()),
        &eng.paths.container_dir(&c.id),
        &rootfs,
        c.config.auto_remove,
    )?;
    drop(mapped);
    if crate::bundle::shm::on_host(&c.config) {
        crate::bundle::shm::mount_for(&eng.paths, &c.id, c.config.tuning.shm_size())?;
    }
    crate::volume::mount::mount_for(eng, c)?;
    crate::volume::seed::before_start(eng, c)
        .map_err(|msg| StartError::Runtime { msg, code: 125 })?;
    let init = if c.config.init {
        Some(init_binary(eng)?)
    } else {
        None
    };
    crate::network::hooks::before_start(eng, c).map_err(|e| StartError::Runtime {
        msg: e.to_string(),
        code: 125,
    })?;
    let ctx = spec::Ctx {
        paths: &eng.paths,
        conn: &eng.conn,
        c,
        rootfs: rootfs.clone(),
        init,
    };
    let mut doc = spec::generate(&ctx)?;
    if crate::network::hooks::wired_at_create(&c.config) {
        // `hull internal-hook network ID 0`, with the runtime's state (the pid) on stdin.
        let mut args = crate::ocirt::monitor::hook_command(eng);
        args.extend(["network".into(), c.id.clone(), "0".into()]);
        // A hook's environment is only what it is given: PATH finds nft.
        let path = std::env::var("PATH").unwrap_or_else(|_| {
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into()
        });
        let hook = HookBuilder::default()
            .path(&args[0])
            .args(args)
            .env(vec![format!("PATH={path}")])
            .build()
            .map_err(spec::invalid)?;
        // Before the clock's hook (spec::generate's), if there is one.
        doc.hooks_mut()
            .get_or_insert_with(Hooks::default)
            .create_runtime_mut()
            .get_or_insert_with(Vec::new)
            .insert(0, hook);
    }
    let path = run_dir.join("config.json");
    // It holds the container's environment (-e PASSWORD=...): root's alone.
    hull_image::perms::write_private(&path, &serde_json::to_vec(&doc).expect("spec serializes"))
        .map_err(io_err(&path))?;
    Ok(())
}

/// Undoes [`prepare`] (the runtime refused, or the monitor could not start).
pub fn unprepare(eng: &Engine, c: &Container) {
    crate::network::hooks::after_stop(eng, c);
    rootfs::unmount(&eng.paths.rootfs(&c.id));
    crate::bundle::shm::unmount(&eng.paths, &c.id);
    crate::volume::mount::release(eng, c);
    let _ = std::fs::remove_dir_all(eng.paths.run_dir(&c.id));
}
