//! A step's layer tar, written to a temp file through a buffer and hashed on the way: its
//! diff_id is known before the store reads it, so a layer the store already has (a
//! `--no-cache` rebuild of the same content, the same files copied by two builds) is
//! neither read back nor unpacked again, and the tar is written in large writes.

use std::io::{BufWriter, Seek, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::BuildError;

/// A finished layer tar: the temp file, rewound, and the sha256 of its bytes.
pub struct LayerTar {
    pub file: std::fs::File,
    pub diff_id: String,
}

struct Hashing {
    file: std::fs::File,
    h: Sha256,
}

impl Write for Hashing {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.h.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Where a layer tar is written: a temp file in `tmp_dir`.
pub struct LayerWriter {
    out: BufWriter<Hashing>,
}

fn err(e: std::io::Error) -> BuildError {
    BuildError::msg(format!("layer temp file: {e}"))
}

impl LayerWriter {
    pub fn new(tmp_dir: &Path) -> Result<LayerWriter, BuildError> {
        let file = tempfile::tempfile_in(tmp_dir).map_err(err)?;
        Ok(LayerWriter {
            out: BufWriter::with_capacity(
                1 << 20,
                Hashing {
                    file,
                    h: Sha256::new(),
                },
            ),
        })
    }

    pub fn writer(&mut self) -> &mut dyn Write {
        &mut self.out
    }

    pub fn finish(self) -> Result<LayerTar, BuildError> {
        let Hashing { mut file, h } = self.out.into_inner().map_err(|e| err(e.into_error()))?;
        file.rewind().map_err(err)?;
        Ok(LayerTar {
            file,
            diff_id: format!("sha256:{}", hex::encode(h.finalize())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn the_digest_is_of_the_bytes_written() {
        let t = tempfile::tempdir().unwrap();
        let mut w = LayerWriter::new(t.path()).unwrap();
        w.writer().write_all(b"hello ").unwrap();
        w.writer().write_all(b"world").unwrap();
        let mut l = w.finish().unwrap();
        let mut s = String::new();
        l.file.read_to_string(&mut s).unwrap();
        assert_eq!(s, "hello world");
        assert_eq!(
            l.diff_id,
            format!("sha256:{}", hex::encode(Sha256::digest(b"hello world")))
        );
    }
}
