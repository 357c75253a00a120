//! A compiled [`Filter`] kept on disk, keyed by what it was compiled from, so that starting the
//! same profile again (docker's default, on every `hull run`) skips libseccomp: compiling that
//! profile costs more than the rest of a container's start.
//!
//! The key is the SHA-256 of the `linux.seccomp` JSON, the libseccomp version and the native
//! arch; the entry is the program plus its flags. The directory must be writable only by the
//! runtime's owner (it lives in the runtime's state root): whoever can write it chooses the
//! filter of every container.

use std::io::Write;
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxSeccomp;
use sha2::{Digest, Sha256};

use crate::compile::Filter;

const MAGIC: &[u8; 8] = b"HULLBPF1";

/// The cache entry's path for `spec` under `dir`.
pub fn entry(dir: &Path, spec: &LinuxSeccomp) -> PathBuf {
    let mut h = Sha256::new();
    h.update(serde_json::to_vec(spec).unwrap_or_default());
    let v = libseccomp::ScmpVersion::current()
        .map(|v| format!("{}.{}.{}", v.major, v.minor, v.micro))
        .unwrap_or_default();
    h.update(v.as_bytes());
    h.update(crate::native_arch().as_bytes());
    dir.join(hex::encode(h.finalize()))
}

/// The filter stored for `spec`, if there is a well-formed one.
pub fn get(dir: &Path, spec: &LinuxSeccomp) -> Option<Filter> {
    let b = std::fs::read(entry(dir, spec)).ok()?;
    decode(&b)
}

/// Stores `filter` for `spec` (written to a temporary file and renamed, so readers never see
/// half an entry). Failing to store is not an error for the caller: the cache is an
/// optimisation.
pub fn put(dir: &Path, spec: &LinuxSeccomp, filter: &Filter) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(&encode(filter))?;
    tmp.persist(entry(dir, spec)).map_err(|e| e.error)?;
    Ok(())
}

fn encode(f: &Filter) -> Vec<u8> {
    let mut b = Vec::with_capacity(17 + f.program.len() * 8);
    b.extend_from_slice(MAGIC);
    b.extend_from_slice(&f.flags.to_le_bytes());
    b.push(u8::from(f.notify));
    for i in &f.program {
        b.extend_from_slice(&i.code.to_le_bytes());
        b.push(i.jt);
        b.push(i.jf);
        b.extend_from_slice(&i.k.to_le_bytes());
    }
    b
}

fn decode(b: &[u8]) -> Option<Filter> {
    let rest = b.strip_prefix(MAGIC)?;
    let (flags, rest) = rest.split_first_chunk::<8>()?;
    let (notify, rest) = rest.split_first()?;
    if rest.is_empty() || rest.len() % 8 != 0 || *notify > 1 {
        return None;
    }
    let program = rest
        .chunks_exact(8)
        .map(|c| libc::sock_filter {
            code: u16::from_le_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect();
    Some(Filter {
        program,
        flags: libc::c_ulong::from_le_bytes(*flags),
        notify: *notify == 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let spec = crate::default_profile(&["CAP_CHOWN".to_string()]).unwrap();
        let f = crate::compile(&spec).unwrap();
        assert!(get(dir.path(), &spec).is_none());
        put(dir.path(), &spec, &f).unwrap();
        let g = get(dir.path(), &spec).unwrap();
        assert_eq!(encode(&f), encode(&g));
        // Another profile has another key.
        let other = crate::default_profile(&["CAP_SYS_ADMIN".to_string()]).unwrap();
        assert!(get(dir.path(), &other).is_none());
        // A truncated entry is ignored, not loaded.
        let p = entry(dir.path(), &spec);
        let b = std::fs::read(&p).unwrap();
        std::fs::write(&p, &b[..b.len() - 3]).unwrap();
        assert!(get(dir.path(), &spec).is_none());
    }
}
