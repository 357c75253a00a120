//! The patched vDSO: how hull's fake clock keeps clock reads at vDSO speed.
//!
//! At each exec stop the supervisor reads the new process's vDSO image (an ELF shared object
//! the kernel maps into every process, found from the auxiliary vector's `AT_SYSINFO_EHDR`)
//! and [`plan`]s a patch: the code of `stub.S` goes into the zeroed space after the image's
//! section headers (inside its last page, so inside the mapping), and the dynamic symbols
//! `clock_gettime`, `gettimeofday` and `time` (and their `__vdso_` names) are pointed at its
//! entries. Programs look these symbols up when they start (glibc, musl and Go all do), after
//! the patch, so they call the stub, which calls the vDSO's own function and applies the
//! model to the realtime clocks only: monotonic reads are the vDSO's, untouched.
//!
//! The stub reads the model from its data block ([`data`]), which the supervisor rewrites in
//! every process at each update (under a sequence count, see stub.S).

mod process;
#[rustfmt::skip]
mod stub;

pub use process::{at_exec, update, AtExec, Patched};

use crate::model::Model;

/// Where the vDSO's realtime entries are sent, and what must be written for that.
#[derive(Debug, PartialEq)]
pub struct Plan {
    /// The image's mapped size: the vDSO spans `[base, base + size)`.
    pub size: usize,
    /// The stub's offset in the image.
    pub at: usize,
    /// The stub, with the addresses of the vDSO's own functions filled in.
    pub code: Vec<u8>,
    /// Symbol values to rewrite: (offset of an `st_value` in the image, new value).
    pub symbols: Vec<(usize, u64)>,
}

/// The offset of the data block's sequence count in the stub.
pub const SEQ: usize = stub::SEQ;

const PAGE: usize = 4096;
const SHT_DYNSYM: u32 = 11;
const PT_LOAD: u32 = 1;

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// How many bytes of the image to read, from its ELF header (the first 64 bytes): up to the
/// end of the page that holds the end of its section headers.
pub fn image_size(header: &[u8]) -> Option<usize> {
    if header.get(..5)? != b"\x7fELF\x02" {
        return None;
    }
    let shoff = u64_at(header, 0x28)? as usize;
    let end = shoff + u16_at(header, 0x3a)? as usize * u16_at(header, 0x3c)? as usize;
    (end <= 64 * PAGE).then(|| end.div_ceil(PAGE) * PAGE)
}

/// The patch for the vDSO `image` mapped at `base`, or why there is none (then the
/// supervisor hides the vDSO instead and answers the system calls).
pub fn plan(image: &[u8], base: u64) -> Result<Plan, String> {
    let size = image_size(image).ok_or("not a 64-bit ELF image")?;
    if image.len() < size {
        return Err(format!("image read {} of {size} bytes", image.len()));
    }
    let bad = || "malformed ELF headers".to_string();
    // The first PT_LOAD gives the link-time address of offset 0.
    let (phoff, phnum) = (
        u64_at(image, 0x20).ok_or_else(bad)? as usize,
        u16_at(image, 0x38).ok_or_else(bad)? as usize,
    );
    let vaddr0 = (0..phnum)
        .map(|i| phoff + i * 56)
        .find(|&ph| u32_at(image, ph) == Some(PT_LOAD))
        .and_then(|ph| Some(u64_at(image, ph + 0x10)? - u64_at(image, ph + 8)?))
        .ok_or("no PT_LOAD")?;
    let shoff = u64_at(image, 0x28).ok_or_else(bad)? as usize;
    let shnum = u16_at(image, 0x3c).ok_or_else(bad)? as usize;
    let section = |i: usize| shoff + i * 64;
    let dynsym = (0..shnum)
        .map(section)
        .find(|&sh| u32_at(image, sh + 4) == Some(SHT_DYNSYM))
        .ok_or("no .dynsym")?;
    let (symoff, symsize) = (
        u64_at(image, dynsym + 0x18).ok_or_else(bad)? as usize,
        u64_at(image, dynsym + 0x20).ok_or_else(bad)? as usize,
    );
    let strtab = section(u32_at(image, dynsym + 0x28).ok_or_else(bad)? as usize);
    let stroff = u64_at(image, strtab + 0x18).ok_or_else(bad)? as usize;
    let name = |at: usize| -> Option<&[u8]> {
        let s = image.get(stroff + at..)?;
        Some(&s[..s.iter().position(|&c| c == 0)?])
    };

    let at = (shoff + shnum * 64).next_multiple_of(64);
    let end = at + stub::CODE.len();
    if end > size || image[at..end].iter().any(|&b| b != 0) {
        return Err(format!("no free space for the stub at {at:#x}..{end:#x}"));
    }
    let mut code = stub::CODE.to_vec();
    let mut symbols = Vec::new();
    let (mut cgt, mut gtod) = (None, None);
    for sym in (symoff..symoff + symsize).step_by(24) {
        let Some(n) = u32_at(image, sym).and_then(|n| name(n as usize)) else {
            continue;
        };
        let n = n.strip_prefix(b"__vdso_").unwrap_or(n);
        let value = u64_at(image, sym + 8).ok_or_else(bad)?;
        let entry = match n {
            b"clock_gettime" => {
                cgt = Some(value);
                stub::CLOCK_GETTIME
            }
            b"gettimeofday" => {
                gtod = Some(value);
                stub::GETTIMEOFDAY
            }
            b"time" => stub::TIME,
            _ => continue,
        };
        symbols.push((sym + 8, vaddr0 + (at + entry) as u64));
    }
    let (Some(cgt), Some(gtod)) = (cgt, gtod) else {
        return Err("no clock_gettime or gettimeofday symbol".into());
    };
    let abs = |v: u64| (base + v - vaddr0).to_le_bytes();
    code[stub::ORIG_CGT..stub::ORIG_CGT + 8].copy_from_slice(&abs(cgt));
    code[stub::ORIG_GTOD..stub::ORIG_GTOD + 8].copy_from_slice(&abs(gtod));
    Ok(Plan {
        size,
        at,
        code,
        symbols,
    })
}

/// The data block after the sequence count (`t0`, `base`, `mult`), for the model.
pub fn data(m: &Model) -> [u8; 24] {
    let mut b = [0u8; 24];
    b[..8].copy_from_slice(&m.t0.to_le_bytes());
    b[8..16].copy_from_slice(&m.base.to_le_bytes());
    b[16..].copy_from_slice(&m.mult().to_le_bytes());
    b
}

/// The offset of [`data`] in the stub.
pub const DATA: usize = stub::T0;
const _: () = assert!(stub::BASE == DATA + 8 && stub::MULT == DATA + 16);

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Seek, SeekFrom};

    /// This process's own vDSO image.
    fn own_vdso() -> (Vec<u8>, u64) {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let line = maps.lines().find(|l| l.ends_with("[vdso]")).unwrap();
        let (lo, hi) = line
            .split_whitespace()
            .next()
            .unwrap()
            .split_once('-')
            .unwrap();
        let lo = u64::from_str_radix(lo, 16).unwrap();
        let hi = u64::from_str_radix(hi, 16).unwrap();
        let mut mem = std::fs::File::open("/proc/self/mem").unwrap();
        mem.seek(SeekFrom::Start(lo)).unwrap();
        let mut b = vec![0u8; (hi - lo) as usize];
        mem.read_exact(&mut b).unwrap();
        (b, lo)
    }

    #[test]
    fn the_running_kernels_vdso_has_room_and_symbols() {
        let (image, base) = own_vdso();
        let p = plan(&image, base).unwrap();
        assert_eq!(p.size, image.len());
        assert!(p.at + p.code.len() <= p.size);
        // Both names of each of the three functions.
        assert_eq!(p.symbols.len(), 6, "{:?}", p.symbols);
        let orig = u64::from_le_bytes(p.code[stub::ORIG_CGT..][..8].try_into().unwrap());
        assert!(orig > base && orig < base + p.size as u64);
        for (off, v) in &p.symbols {
            assert!(*off < p.at && *v >= p.at as u64 && *v < (p.at + p.code.len()) as u64);
        }
    }

    #[test]
    fn images_without_room_or_symbols_are_refused() {
        let (mut image, base) = own_vdso();
        let at = plan(&image, base).unwrap().at;
        image[at + 100] = 1;
        assert!(plan(&image, base).unwrap_err().contains("free space"));
        assert!(plan(&image[..100], base).is_err());
        assert!(plan(&[0u8; 8192], base).is_err());
    }

    #[test]
    fn the_stub_is_what_stub_s_assembles_to() {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/vdso-stub.sh");
        let out = std::process::Command::new("bash")
            .args([script, "--check"])
            .output()
            .expect("bash");
        assert!(out.status.success(), "{out:?}");
    }
}
