//! Tar-split: a layer's tar stream minus its file contents, so the exact tar (and so its
//! diff_id) can be rebuilt from the unpacked layer for `save` without keeping the layer blob.
//! That halves what loading and pulling write, as docker's and podman's stores do.
//!
//! The file is a sequence of records:
//! - `R` u64-le length, then that many raw tar bytes (headers, extension headers, padding,
//!   the end-of-archive blocks), exactly as read;
//! - `F` u64-le size, u32-le path length, the path (relative to the layer dir): a regular
//!   file's data, taken back from the unpacked file.
//!
//! The bytes recorded are exactly those the tar parser consumed: the tee sits between the
//! (decompressed) stream and the parser, and the extractor switches recording off while it
//! copies a regular file's data.

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::fd::OwnedFd;
use std::rc::Rc;

use rustix::fs::{self as rfs, Mode, OFlags, ResolveFlags};

/// Records raw bytes and file markers; shared by the tee and the extractor.
pub(crate) struct SplitWriter {
    out: BufWriter<File>,
    raw: Vec<u8>,
    skipping: bool,
}

pub(crate) type SharedSplit = Rc<RefCell<SplitWriter>>;

impl SplitWriter {
    pub(crate) fn new(file: File) -> SharedSplit {
        Rc::new(RefCell::new(SplitWriter {
            out: BufWriter::with_capacity(1 << 16, file),
            raw: Vec::new(),
            skipping: false,
        }))
    }

    fn raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.skipping {
            return Ok(());
        }
        self.raw.extend_from_slice(bytes);
        if self.raw.len() >= 1 << 16 {
            self.flush_raw()?;
        }
        Ok(())
    }

    fn flush_raw(&mut self) -> io::Result<()> {
        if !self.raw.is_empty() {
            self.out.write_all(b"R")?;
            self.out.write_all(&(self.raw.len() as u64).to_le_bytes())?;
            self.out.write_all(&self.raw)?;
            self.raw.clear();
        }
        Ok(())
    }

    /// The next `size` bytes the parser reads are the data of the file at `path`.
    pub(crate) fn begin_file(&mut self, path: &str, size: u64) -> io::Result<()> {
        self.flush_raw()?;
        self.out.write_all(b"F")?;
        self.out.write_all(&size.to_le_bytes())?;
        self.out.write_all(&(path.len() as u32).to_le_bytes())?;
        self.out.write_all(path.as_bytes())?;
        self.skipping = true;
        Ok(())
    }

    pub(crate) fn end_file(&mut self) {
        self.skipping = false;
    }

    pub(crate) fn finish(&mut self) -> io::Result<()> {
        self.flush_raw()?;
        self.out.flush()
    }
}

/// Passes a stream through, recording what is read into the split.
pub(crate) struct SplitTee<R> {
    pub(crate) inner: R,
    pub(crate) split: SharedSplit,
}

impl<R: Read> Read for SplitTee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.split.borrow_mut().raw(&buf[..n])?;
        Ok(n)
    }
}

enum Cur {
    Next,
    Raw(u64),
    File(File, u64, String),
}

/// Rebuilds the tar stream from a split and the unpacked layer dir. Files are opened inside
/// the layer without following symlinks; one changed since unpacking shows as a short read
/// here or as a digest mismatch in the caller.
pub(crate) struct SplitReader {
    split: BufReader<File>,
    layer: OwnedFd,
    cur: Cur,
}

fn corrupt(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("tar-split: {what}"))
}

impl SplitReader {
    pub(crate) fn new(split: File, layer: OwnedFd) -> SplitReader {
        SplitReader {
            split: BufReader::with_capacity(1 << 16, split),
            layer,
            cur: Cur::Next,
        }
    }

    fn next_record(&mut self) -> io::Result<bool> {
        let mut tag = [0u8; 1];
        if self.split.read(&mut tag)? == 0 {
            return Ok(false);
        }
        let mut n = [0u8; 8];
        self.split.read_exact(&mut n)?;
        let n = u64::from_le_bytes(n);
        self.cur = match tag[0] {
            b'R' => Cur::Raw(n),
            b'F' => {
                let mut len = [0u8; 4];
                self.split.read_exact(&mut len)?;
                let mut path = vec![0u8; u32::from_le_bytes(len) as usize];
                self.split.read_exact(&mut path)?;
                let path = String::from_utf8(path).map_err(|_| corrupt("path not utf-8"))?;
                let how =
                    ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
                let fd = rfs::openat2(
                    &self.layer,
                    path.as_str(),
                    OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                    how,
                )
                .map_err(|e| io::Error::other(format!("layer file {path}: {e}")))?;
                Cur::File(File::from(fd), n, path)
            }
            _ => return Err(corrupt("unknown record")),
        };
        Ok(true)
    }
}

impl Read for SplitReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let want = |left: u64| buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            match &mut self.cur {
                Cur::Raw(left) if *left > 0 => {
                    let w = want(*left);
                    let n = self.split.read(&mut buf[..w])?;
                    if n == 0 {
                        return Err(corrupt("truncated"));
                    }
                    *left -= n as u64;
                    return Ok(n);
                }
                Cur::File(f, left, path) if *left > 0 => {
                    let w = want(*left);
                    let n = f.read(&mut buf[..w])?;
                    if n == 0 {
                        return Err(io::Error::other(format!(
                            "layer file {path} is shorter than when it was unpacked"
                        )));
                    }
                    *left -= n as u64;
                    return Ok(n);
                }
                _ => {
                    if !self.next_record()? {
                        return Ok(0);
                    }
                }
            }
        }
    }
}
