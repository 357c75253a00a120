//! Mount options as the OCI spec writes them (the `mount(8)` words) turned into mount(2) flags.

use nix::mount::MsFlags;

/// What one option word means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opt {
    /// Set this flag.
    Set(MsFlags),
    /// Clear this flag (e.g. "rw", "suid").
    Clear(MsFlags),
    /// A propagation change, applied in a separate mount(2) call after the mount.
    Propagation(MsFlags),
    /// Passed to the filesystem in the data string (e.g. "mode=755", "size=65536k"), as is
    /// every word we do not know: runc does the same, and the filesystem refuses what it
    /// does not understand (a bind mount ignores it).
    Data,
    /// `bind` or `rbind`.
    Bind { recursive: bool },
    /// A recursive attribute (`rro`, `rnosuid`, ...): `MOUNT_ATTR_*` bits set and cleared
    /// with mount_setattr(AT_RECURSIVE) after the mount, so they reach its submounts.
    Recursive { set: u64, clr: u64 },
    /// `tmpcopyup`: a tmpfs starts with a copy of the directory it covers.
    CopyUp,
}

const MS_NOSYMFOLLOW: MsFlags = MsFlags::from_bits_retain(256);
const ATTR_RDONLY: u64 = 0x1;
const ATTR_NOSUID: u64 = 0x2;
const ATTR_NODEV: u64 = 0x4;
const ATTR_NOEXEC: u64 = 0x8;
const ATTR_ATIME: u64 = 0x70;
const ATTR_RELATIME: u64 = 0x0;
const ATTR_NOATIME: u64 = 0x10;
const ATTR_STRICTATIME: u64 = 0x20;
const ATTR_NODIRATIME: u64 = 0x80;
const ATTR_NOSYMFOLLOW: u64 = 0x20_0000;

/// A recursive attribute set, or cleared; an access-time mode is one of the values in the
/// MOUNT_ATTR__ATIME field, which must be cleared to set it (mount_setattr(2)).
fn rec(flag: u64, clear: bool) -> Opt {
    if clear {
        Opt::Recursive { set: 0, clr: flag }
    } else if flag & ATTR_ATIME == flag {
        Opt::Recursive {
            set: flag,
            clr: ATTR_ATIME,
        }
    } else {
        Opt::Recursive { set: flag, clr: 0 }
    }
}

/// The words runc 1.1 knows (`runc features`), with its meanings.
pub fn parse_one(word: &str) -> Opt {
    use Opt::*;
    match word {
        "defaults" => Clear(MsFlags::empty()),
        "ro" => Set(MsFlags::MS_RDONLY),
        "rw" => Clear(MsFlags::MS_RDONLY),
        "suid" => Clear(MsFlags::MS_NOSUID),
        "nosuid" => Set(MsFlags::MS_NOSUID),
        "dev" => Clear(MsFlags::MS_NODEV),
        "nodev" => Set(MsFlags::MS_NODEV),
        "exec" => Clear(MsFlags::MS_NOEXEC),
        "noexec" => Set(MsFlags::MS_NOEXEC),
        "sync" => Set(MsFlags::MS_SYNCHRONOUS),
        "async" => Clear(MsFlags::MS_SYNCHRONOUS),
        "dirsync" => Set(MsFlags::MS_DIRSYNC),
        "remount" => Set(MsFlags::MS_REMOUNT),
        "mand" => Set(MsFlags::MS_MANDLOCK),
        "nomand" => Clear(MsFlags::MS_MANDLOCK),
        "atime" => Clear(MsFlags::MS_NOATIME),
        "noatime" => Set(MsFlags::MS_NOATIME),
        "diratime" => Clear(MsFlags::MS_NODIRATIME),
        "nodiratime" => Set(MsFlags::MS_NODIRATIME),
        "relatime" => Set(MsFlags::MS_RELATIME),
        "norelatime" => Clear(MsFlags::MS_RELATIME),
        "strictatime" => Set(MsFlags::MS_STRICTATIME),
        "nostrictatime" => Clear(MsFlags::MS_STRICTATIME),
        "acl" => Set(MsFlags::MS_POSIXACL),
        "noacl" => Clear(MsFlags::MS_POSIXACL),
        "iversion" => Set(MsFlags::MS_I_VERSION),
        "noiversion" => Clear(MsFlags::MS_I_VERSION),
        "lazytime" => Set(MsFlags::MS_LAZYTIME),
        "nolazytime" => Clear(MsFlags::MS_LAZYTIME),
        "silent" => Set(MsFlags::MS_SILENT),
        "loud" => Clear(MsFlags::MS_SILENT),
        "nosymfollow" => Set(MS_NOSYMFOLLOW),
        "symfollow" => Clear(MS_NOSYMFOLLOW),
        "rro" => rec(ATTR_RDONLY, false),
        "rrw" => rec(ATTR_RDONLY, true),
        "rnosuid" => rec(ATTR_NOSUID, false),
        "rsuid" => rec(ATTR_NOSUID, true),
        "rnodev" => rec(ATTR_NODEV, false),
        "rdev" => rec(ATTR_NODEV, true),
        "rnoexec" => rec(ATTR_NOEXEC, false),
        "rexec" => rec(ATTR_NOEXEC, true),
        "rnodiratime" => rec(ATTR_NODIRATIME, false),
        "rdiratime" => rec(ATTR_NODIRATIME, true),
        "rrelatime" => rec(ATTR_RELATIME, false),
        "rnorelatime" => rec(ATTR_RELATIME, true),
        "rnoatime" => rec(ATTR_NOATIME, false),
        "ratime" => rec(ATTR_NOATIME, true),
        "rstrictatime" => rec(ATTR_STRICTATIME, false),
        "rnostrictatime" => rec(ATTR_STRICTATIME, true),
        "rnosymfollow" => rec(ATTR_NOSYMFOLLOW, false),
        "rsymfollow" => rec(ATTR_NOSYMFOLLOW, true),
        "bind" => Bind { recursive: false },
        "rbind" => Bind { recursive: true },
        "private" => Propagation(MsFlags::MS_PRIVATE),
        "rprivate" => Propagation(MsFlags::MS_PRIVATE | MsFlags::MS_REC),
        "shared" => Propagation(MsFlags::MS_SHARED),
        "rshared" => Propagation(MsFlags::MS_SHARED | MsFlags::MS_REC),
        "slave" => Propagation(MsFlags::MS_SLAVE),
        "rslave" => Propagation(MsFlags::MS_SLAVE | MsFlags::MS_REC),
        "unbindable" => Propagation(MsFlags::MS_UNBINDABLE),
        "runbindable" => Propagation(MsFlags::MS_UNBINDABLE | MsFlags::MS_REC),
        "tmpcopyup" => CopyUp,
        _ => Data,
    }
}

/// Whether `word` is one of ours or looks like a filesystem option (`key=value`, or a bare
/// `[A-Za-z0-9_]+` word): for front ends that check what users type (`hull volume create -o`),
/// where the runtime itself passes anything unknown on as data.
pub fn is_plausible(word: &str) -> bool {
    parse_one(word) != Opt::Data
        || word.contains('=')
        || (!word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

/// A mount's options, sorted into what each mount(2) call needs.
#[derive(Debug)]
pub struct Parsed {
    pub flags: MsFlags,
    pub propagation: Vec<MsFlags>,
    pub data: Vec<String>,
    pub bind: Option<bool>,
    /// MOUNT_ATTR_* bits to set and clear recursively (`rro`, ...), 0 when none.
    pub rec_set: u64,
    pub rec_clr: u64,
    pub copy_up: bool,
}

pub fn parse(options: &[String]) -> Parsed {
    let mut p = Parsed {
        flags: MsFlags::empty(),
        propagation: Vec::new(),
        data: Vec::new(),
        bind: None,
        rec_set: 0,
        rec_clr: 0,
        copy_up: false,
    };
    for o in options {
        match parse_one(o) {
            Opt::Set(f) => p.flags |= f,
            Opt::Clear(f) => p.flags &= !f,
            Opt::Propagation(f) => p.propagation.push(f),
            Opt::Data => p.data.push(o.clone()),
            Opt::Bind { recursive } => p.bind = Some(recursive || p.bind == Some(true)),
            Opt::Recursive { set, clr } => {
                // Accumulated as runc does: a bit both set and cleared ends up set (the
                // kernel clears first), so `rro,rrw` is read-only.
                p.rec_set |= set;
                p.rec_clr |= clr;
            }
            Opt::CopyUp => p.copy_up = true,
        }
    }
    p
}

/// A propagation word such as `linux.rootfsPropagation` uses.
pub fn propagation(word: &str) -> Option<MsFlags> {
    match parse_one(word) {
        Opt::Propagation(f) => Some(f),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_options() {
        let o: Vec<String> = ["rbind", "ro", "nosuid", "rslave", "mode=755", "rw"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let p = parse(&o);
        assert_eq!(p.bind, Some(true));
        assert_eq!(p.flags, MsFlags::MS_NOSUID);
        assert_eq!(p.propagation, vec![MsFlags::MS_SLAVE | MsFlags::MS_REC]);
        assert_eq!(p.data, vec!["mode=755".to_string()]);
    }

    #[test]
    fn unknown_words_are_data_and_recursive_words_attributes() {
        assert_eq!(parse_one("bogus-option!"), Opt::Data);
        assert_eq!(parse_one("idmap"), Opt::Data);
        let o: Vec<String> = ["rnoatime", "rro", "rrw"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let p = parse(&o);
        assert_eq!(
            (p.rec_set, p.rec_clr),
            (ATTR_NOATIME | ATTR_RDONLY, ATTR_ATIME | ATTR_RDONLY)
        );
        assert_eq!(
            propagation("rshared"),
            Some(MsFlags::MS_SHARED | MsFlags::MS_REC)
        );
        assert_eq!(propagation("ro"), None);
    }
}
