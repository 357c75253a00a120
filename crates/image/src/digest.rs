//! sha256 digests computed while data streams through, so nothing is read twice.

use std::io::{self, Read};

use sha2::{Digest as _, Sha256};

use crate::error::ImageError;
use crate::reference::is_digest;

/// `sha256:<hex>` of a byte slice.
pub fn sha256_of(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// The hex part of a `sha256:<hex>` digest, checked.
pub fn hex_of(digest: &str) -> Result<&str, ImageError> {
    if !is_digest(digest) {
        return Err(ImageError::BadDigest(digest.to_string()));
    }
    Ok(&digest[7..])
}

/// A reader that hashes and counts everything read through it.
pub struct HashReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
    hashing: bool,
}

impl<R: Read> HashReader<R> {
    pub fn new(inner: R) -> Self {
        HashReader {
            inner,
            hasher: Sha256::new(),
            count: 0,
            hashing: true,
        }
    }

    /// Counts only: for a stream whose digest is already computed elsewhere.
    pub fn counting(inner: R) -> Self {
        HashReader {
            hashing: false,
            ..HashReader::new(inner)
        }
    }

    /// Reads what is left (trailing padding, a second gzip member's worth of zeros) so the
    /// digest covers the whole stream.
    pub fn drain(&mut self) -> io::Result<()> {
        io::copy(self, &mut io::sink()).map(|_| ())
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// `(sha256:<hex>, bytes read)`.
    pub fn finish(self) -> (String, u64, R) {
        (
            format!("sha256:{}", hex::encode(self.hasher.finalize())),
            self.count,
            self.inner,
        )
    }

    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }
}

impl<R: Read> Read for HashReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if self.hashing {
            self.hasher.update(&buf[..n]);
        }
        self.count += n as u64;
        Ok(n)
    }
}

/// Checks `actual` against an expected digest, naming `what` in the error.
pub fn verify(what: &str, expected: Option<&str>, actual: &str) -> Result<(), ImageError> {
    match expected {
        Some(e) if e != actual => Err(ImageError::DigestMismatch {
            what: what.to_string(),
            expected: e.to_string(),
            actual: actual.to_string(),
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_while_reading() {
        let mut r = HashReader::new(&b"hello"[..]);
        r.drain().unwrap();
        let (d, n, _) = r.finish();
        assert_eq!(n, 5);
        assert_eq!(d, sha256_of(b"hello"));
        assert_eq!(
            d,
            "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
    }
}
