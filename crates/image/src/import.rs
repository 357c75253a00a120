//! `hull import` (a rootfs tarball becomes a one-layer image, with docker's `--change`
//! instructions) and the seeded `busybox` image built from Debian's static busybox.

use std::io::Read;
use std::path::Path;
use std::process::Command;

use serde_json::{json, Map, Value};

use crate::error::{ImageError, IoContext};
use crate::images::NewImage;
use crate::layers::Expect;
use crate::reference::Reference;
use crate::{ImageId, Store};

/// `docker import`'s options.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Dockerfile instructions applied to the config: `CMD ["sh"]`, `ENV A=b`, `WORKDIR /x`,
    /// `ENTRYPOINT`, `USER`, `EXPOSE`, `LABEL`, `VOLUME`, `STOPSIGNAL`.
    pub changes: Vec<String>,
    /// The history comment (`--message`).
    pub message: Option<String>,
}

/// The Go name of this machine's architecture, as image configs spell it.
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

fn change_err(change: &str, reason: &str) -> ImageError {
    ImageError::Change {
        change: change.to_string(),
        reason: reason.to_string(),
    }
}

/// `["a","b"]` (exec form) or `a b` (shell form, run by /bin/sh -c).
fn command_form(change: &str, arg: &str) -> Result<Value, ImageError> {
    if arg.trim_start().starts_with('[') {
        let v: Vec<String> = serde_json::from_str(arg)
            .map_err(|e| change_err(change, &format!("not a JSON array of strings: {e}")))?;
        Ok(json!(v))
    } else {
        Ok(json!(["/bin/sh", "-c", arg]))
    }
}

fn list_form(arg: &str) -> Vec<String> {
    if let Ok(v) = serde_json::from_str::<Vec<String>>(arg) {
        return v;
    }
    arg.split_whitespace().map(str::to_string).collect()
}

/// `K=V K2=V2` or `K V`.
fn pairs(change: &str, arg: &str) -> Result<Vec<(String, String)>, ImageError> {
    if !arg.contains('=') {
        let (k, v) = arg
            .split_once(char::is_whitespace)
            .ok_or_else(|| change_err(change, "want KEY=VALUE"))?;
        return Ok(vec![(k.to_string(), v.trim().to_string())]);
    }
    arg.split_whitespace()
        .map(|kv| {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| change_err(change, "want KEY=VALUE"))?;
            Ok((k.to_string(), v.trim_matches('"').to_string()))
        })
        .collect()
}

/// Applies one Dockerfile instruction to a config's `config` object.
pub fn apply_change(cfg: &mut Map<String, Value>, change: &str) -> Result<(), ImageError> {
    let (instr, arg) = change
        .trim()
        .split_once(char::is_whitespace)
        .ok_or_else(|| change_err(change, "want INSTRUCTION ARGUMENTS"))?;
    let arg = arg.trim();
    match instr.to_ascii_uppercase().as_str() {
        "CMD" => {
            cfg.insert("Cmd".into(), command_form(change, arg)?);
        }
        "ENTRYPOINT" => {
            cfg.insert("Entrypoint".into(), command_form(change, arg)?);
        }
        "ENV" => {
            let env = cfg.entry("Env").or_insert_with(|| json!([]));
            let list = env.as_array_mut().ok_or_else(|| change_err(change, "Env"))?;
            for (k, v) in pairs(change, arg)? {
                list.retain(|e| e.as_str().and_then(|s| s.split_once('=')).map(|x| x.0) != Some(&k));
                list.push(json!(format!("{k}={v}")));
            }
        }
        "LABEL" => {
            let labels = cfg.entry("Labels").or_insert_with(|| json!({}));
            for (k, v) in pairs(change, arg)? {
                labels[k.trim_matches('"')] = json!(v);
            }
        }
        "EXPOSE" => {
            let ports = cfg.entry("ExposedPorts").or_insert_with(|| json!({}));
            for p in arg.split_whitespace() {
                let p = if p.contains('/') { p.to_string() } else { format!("{p}/tcp") };
                ports[p] = json!({});
            }
        }
        "VOLUME" => {
            let vols = cfg.entry("Volumes").or_insert_with(|| json!({}));
            for v in list_form(arg) {
                vols[v] = json!({});
            }
        }
        "USER" => {
            cfg.insert("User".into(), json!(arg));
        }
        "WORKDIR" => {
            if !arg.starts_with('/') {
                return Err(change_err(change, "WORKDIR must be an absolute path"));
            }
            cfg.insert("WorkingDir".into(), json!(arg));
        }
        "STOPSIGNAL" => {
            cfg.insert("StopSignal".into(), json!(arg));
        }
        other => {
            return Err(change_err(
                change,
                &format!("{other} is not one of CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR"),
            ))
        }
    }
    Ok(())
}

/// A config for a one-layer image.
fn config_json(
    diff_id: &str,
    created: &str,
    cfg: Map<String, Value>,
    created_by: &str,
    comment: Option<&str>,
) -> Vec<u8> {
    // An empty created_by is left out, as dockerd's import leaves it.
    let mut history = json!({ "created": created });
    if !created_by.is_empty() {
        history["created_by"] = json!(created_by);
    }
    if let Some(c) = comment {
        history["comment"] = json!(c);
    }
    let v = json!({
        "architecture": go_arch(),
        "os": "linux",
        "created": created,
        "config": cfg,
        "rootfs": { "type": "layers", "diff_ids": [diff_id] },
        "history": [history],
    });
    serde_json::to_vec(&v).expect("json")
}

impl Store {
    /// `hull import`: the tarball (plain, gzip or zstd) is the image's only layer. An empty
    /// `reference` makes an untagged image.
    pub fn import_rootfs(
        &mut self,
        tar: &mut dyn Read,
        reference: &str,
        changes: &ImportOptions,
    ) -> Result<ImageId, ImageError> {
        let names = if reference.is_empty() {
            vec![]
        } else {
            let r = Reference::parse(reference)?;
            if r.digest.is_some() {
                return Err(ImageError::Reference {
                    reference: reference.into(),
                    reason: "cannot import to a digest".into(),
                });
            }
            vec![r.with_default_tag()]
        };
        let mut cfg = Map::new();
        for c in &changes.changes {
            apply_change(&mut cfg, c)?;
        }
        let layer = self.add_layer(
            tar,
            Expect {
                what: "import tarball",
                ..Default::default()
            },
        )?;
        let config = config_json(
            &layer.diff_id,
            &hull_clock::civil::format_rfc3339(crate::db::now()),
            cfg,
            "",
            changes.message.as_deref(),
        );
        self.commit_image(NewImage {
            config: &config,
            manifest: None,
            layers: &[layer],
            names: &names,
        })
    }

    /// Seeds `busybox:latest` from a static busybox binary: `/bin/busybox`, a symlink per
    /// applet (`busybox --list-full`), /etc/passwd and /etc/group, /tmp, /root. The same
    /// binary always gives the same image id, so seeding again is a no-op.
    pub fn seed_busybox(&mut self, busybox: &Path) -> Result<ImageId, ImageError> {
        let bin = std::fs::read(busybox).at(busybox)?;
        let mtime = std::fs::metadata(busybox)
            .at(busybox)?
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let out = Command::new(busybox)
            .arg("--list-full")
            .output()
            .at(busybox)?;
        if !out.status.success() {
            return Err(ImageError::Other(format!(
                "{} --list-full: {}",
                busybox.display(),
                out.status
            )));
        }
        let applets = String::from_utf8_lossy(&out.stdout).into_owned();
        let tar = busybox_tar(&bin, &applets, mtime).at(busybox)?;
        let mut cfg = Map::new();
        cfg.insert(
            "Env".into(),
            json!(["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]),
        );
        cfg.insert("Cmd".into(), json!(["sh"]));
        let layer = self.add_layer(
            &mut tar.as_slice(),
            Expect {
                what: "busybox rootfs",
                ..Default::default()
            },
        )?;
        // A tar entry's mtime can say anything: one before 1970 is given as the epoch.
        let created = hull_clock::civil::format_rfc3339(mtime as i64);
        let config = config_json(&layer.diff_id, &created, cfg, "hull seed busybox", None);
        let name = Reference::parse("busybox:latest")?;
        self.commit_image(NewImage {
            config: &config,
            manifest: None,
            layers: &[layer],
            names: &[name],
        })
    }
}

fn busybox_tar(bin: &[u8], applets: &str, mtime: u64) -> std::io::Result<Vec<u8>> {
    let mut b = tar::Builder::new(Vec::with_capacity(bin.len() + 256 * 1024));
    let header = |kind: tar::EntryType, mode: u32, size: u64| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(mtime);
        h.set_size(size);
        h
    };
    let dirs: &[(&str, u32)] = &[
        ("bin", 0o755),
        ("dev", 0o755),
        ("etc", 0o755),
        ("home", 0o755),
        ("proc", 0o755),
        ("root", 0o700),
        ("sbin", 0o755),
        ("sys", 0o755),
        ("tmp", 0o1777),
        ("usr", 0o755),
        ("usr/bin", 0o755),
        ("usr/sbin", 0o755),
        ("var", 0o755),
    ];
    for (d, mode) in dirs {
        let mut h = header(tar::EntryType::Directory, *mode, 0);
        b.append_data(&mut h, format!("{d}/"), std::io::empty())?;
    }
    let mut h = header(tar::EntryType::Regular, 0o755, bin.len() as u64);
    b.append_data(&mut h, "bin/busybox", bin)?;
    let files: &[(&str, &str)] = &[
        (
            "etc/passwd",
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n",
        ),
        ("etc/group", "root:x:0:\nnobody:x:65534:\n"),
    ];
    for (path, content) in files {
        let mut h = header(tar::EntryType::Regular, 0o644, content.len() as u64);
        b.append_data(&mut h, path, content.as_bytes())?;
    }
    let mut seen = std::collections::BTreeSet::new();
    for a in applets.lines().map(str::trim) {
        let a = a.trim_start_matches('/');
        if a.is_empty() || a == "bin/busybox" || a.contains("..") || !seen.insert(a) {
            continue;
        }
        if !dirs
            .iter()
            .any(|(d, _)| Path::new(a).parent() == Some(Path::new(d)))
        {
            continue;
        }
        let mut h = header(tar::EntryType::Symlink, 0o777, 0);
        b.append_link(&mut h, a, "/bin/busybox")?;
    }
    b.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_apply_like_docker() {
        let mut c = Map::new();
        apply_change(&mut c, r#"CMD ["sh", "-c", "echo hi"]"#).unwrap();
        apply_change(&mut c, "ENTRYPOINT /bin/run").unwrap();
        apply_change(&mut c, "ENV A=1 B=2").unwrap();
        apply_change(&mut c, "ENV A 3").unwrap();
        apply_change(&mut c, "WORKDIR /srv").unwrap();
        apply_change(&mut c, "EXPOSE 80 53/udp").unwrap();
        apply_change(&mut c, "LABEL a=b").unwrap();
        apply_change(&mut c, "USER 1000:1000").unwrap();
        let v = Value::Object(c);
        assert_eq!(v["Cmd"], json!(["sh", "-c", "echo hi"]));
        assert_eq!(v["Entrypoint"], json!(["/bin/sh", "-c", "/bin/run"]));
        assert_eq!(v["Env"], json!(["B=2", "A=3"]));
        assert_eq!(v["WorkingDir"], json!("/srv"));
        assert_eq!(v["ExposedPorts"], json!({"80/tcp": {}, "53/udp": {}}));
        assert_eq!(v["Labels"], json!({"a": "b"}));
        assert_eq!(v["User"], json!("1000:1000"));
        let mut c = Map::new();
        assert!(apply_change(&mut c, "RUN x").is_err());
        assert!(apply_change(&mut c, "WORKDIR rel").is_err());
        assert!(apply_change(&mut c, "CMD [bad").is_err());
    }
}
