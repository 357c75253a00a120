//! Registry credentials as docker keeps them: `$DOCKER_CONFIG/config.json` (default
//! `~/.docker/config.json`), `{"auths": {"<registry>": {"auth": "<base64 user:password>"}}}`,
//! the Docker Hub's key being `https://index.docker.io/v1/`. Other keys of the file are
//! kept as they are; a credential helper (`credsStore`) is not used.

use std::path::PathBuf;

use serde_json::{json, Value};

use super::client::base64;
use crate::error::{ImageError, IoContext};
use crate::reference::DEFAULT_REGISTRY;

/// Docker Hub's key in config.json.
pub const HUB_KEY: &str = "https://index.docker.io/v1/";

pub fn config_path() -> PathBuf {
    match std::env::var_os("DOCKER_CONFIG") {
        Some(d) => PathBuf::from(d).join("config.json"),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into()))
            .join(".docker/config.json"),
    }
}

/// The config.json key of a registry named as a user types it (`127.0.0.1:5000`,
/// `docker.io`, `https://index.docker.io/v1/`, nothing for the Hub).
pub fn key(server: &str) -> String {
    let host = server
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/');
    match host {
        "" | "docker.io" | "index.docker.io" | "registry-1.docker.io" | "index.docker.io/v1" => {
            HUB_KEY.to_string()
        }
        h => h.to_string(),
    }
}

fn read() -> Result<Value, ImageError> {
    let path = config_path();
    match std::fs::read(&path) {
        Ok(b) => serde_json::from_slice(&b)
            .map_err(|e| ImageError::Other(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(json!({})),
        Err(e) => Err(ImageError::io(&path, e)),
    }
}

fn write(v: &Value) -> Result<(), ImageError> {
    let path = config_path();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).at(dir)?;
    }
    let text = serde_json::to_string_pretty(v).expect("json");
    crate::perms::write_private(&path, text.as_bytes()).at(&path)
}

/// The stored user and password for the registry of a reference (`docker.io` or a host).
pub fn lookup(registry: &str) -> Option<(String, String)> {
    let k = if registry == DEFAULT_REGISTRY {
        HUB_KEY.to_string()
    } else {
        key(registry)
    };
    let v = read().ok()?;
    let auth = v["auths"][&k]["auth"].as_str()?;
    let text = String::from_utf8(decode_base64(auth)?).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

/// Stores the credentials under `key` (see `key`).
pub fn store(key: &str, user: &str, password: &str) -> Result<(), ImageError> {
    let mut v = read()?;
    if !v["auths"].is_object() {
        v["auths"] = json!({});
    }
    v["auths"][key] = json!({"auth": base64(format!("{user}:{password}").as_bytes())});
    write(&v)
}

/// Removes the credentials under `key`; false when there were none.
pub fn erase(key: &str) -> Result<bool, ImageError> {
    let mut v = read()?;
    let removed = v["auths"]
        .as_object_mut()
        .is_some_and(|a| a.remove(key).is_some());
    if removed {
        write(&v)?;
    }
    Ok(removed)
}

/// Standard or URL-safe base64 (docker's X-Registry-Auth header is the latter), padded or
/// not.
pub fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32)
    };
    let bytes: Vec<u8> = s.bytes().filter(|&c| c != b'=').collect();
    let mut out = Vec::new();
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= val(c)? << (18 - 6 * i);
        }
        for i in 0..chunk.len().saturating_sub(1) {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip_and_keys() {
        for s in ["u:p", "user:pass", "ab:cdefg", ""] {
            assert_eq!(decode_base64(&base64(s.as_bytes())).unwrap(), s.as_bytes());
        }
        assert_eq!(key(""), HUB_KEY);
        assert_eq!(key("docker.io"), HUB_KEY);
        assert_eq!(key("127.0.0.1:5000"), "127.0.0.1:5000");
        assert_eq!(key("http://127.0.0.1:5000/"), "127.0.0.1:5000");
    }
}
