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
    /// Passed to the filesystem in the data string (e.g. "mode=755", "size=65536k").
    Data,
    /// Recursive read-only etc. (`rro`, ...) are accepted and applied as their plain forms.
    Bind { recursive: bool },
}

pub fn parse_one(word: &str) -> Option<Opt> {
    use Opt::*;
    Some(match word {
        "defaults" => Clear(MsFlags::empty()),
        "ro" | "rro" => Set(MsFlags::MS_RDONLY),
        "rw" | "rrw" => Clear(MsFlags::MS_RDONLY),
        "suid" | "rsuid" => Clear(MsFlags::MS_NOSUID),
        "nosuid" | "rnosuid" => Set(MsFlags::MS_NOSUID),
        "dev" | "rdev" => Clear(MsFlags::MS_NODEV),
        "nodev" | "rnodev" => Set(MsFlags::MS_NODEV),
        "exec" | "rexec" => Clear(MsFlags::MS_NOEXEC),
        "noexec" | "rnoexec" => Set(MsFlags::MS_NOEXEC),
        "sync" => Set(MsFlags::MS_SYNCHRONOUS),
        "async" => Clear(MsFlags::MS_SYNCHRONOUS),
        "dirsync" => Set(MsFlags::MS_DIRSYNC),
        "remount" => Set(MsFlags::MS_REMOUNT),
        "mand" => Set(MsFlags::MS_MANDLOCK),
        "nomand" => Clear(MsFlags::MS_MANDLOCK),
        "atime" | "ratime" => Clear(MsFlags::MS_NOATIME),
        "noatime" | "rnoatime" => Set(MsFlags::MS_NOATIME),
        "diratime" | "rdiratime" => Clear(MsFlags::MS_NODIRATIME),
        "nodiratime" | "rnodiratime" => Set(MsFlags::MS_NODIRATIME),
        "relatime" | "rrelatime" => Set(MsFlags::MS_RELATIME),
        "norelatime" | "rnorelatime" => Clear(MsFlags::MS_RELATIME),
        "strictatime" | "rstrictatime" => Set(MsFlags::MS_STRICTATIME),
        "nostrictatime" | "rnostrictatime" => Clear(MsFlags::MS_STRICTATIME),
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
        // idmap and tmpcopyup are runc/crun extensions we do not implement: refuse them
        // rather than silently mounting something else.
        "idmap" | "ridmap" | "tmpcopyup" => return None,
        w if w.contains('=') => Data,
        // Filesystem-specific words without a value ("nr_inodes" needs one, "noswap",
        // "usrquota", "newinstance", ...) go to the filesystem, which rejects what it does
        // not know.
        w if !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => Data,
        _ => return None,
    })
}

/// A mount's options, sorted into what each mount(2) call needs.
#[derive(Debug)]
pub struct Parsed {
    pub flags: MsFlags,
    pub propagation: Vec<MsFlags>,
    pub data: Vec<String>,
    pub bind: Option<bool>,
}

pub fn parse(options: &[String]) -> Parsed {
    let mut p = Parsed {
        flags: MsFlags::empty(),
        propagation: Vec::new(),
        data: Vec::new(),
        bind: None,
    };
    for o in options {
        match parse_one(o) {
            Some(Opt::Set(f)) => p.flags |= f,
            Some(Opt::Clear(f)) => p.flags &= !f,
            Some(Opt::Propagation(f)) => p.propagation.push(f),
            Some(Opt::Data) => p.data.push(o.clone()),
            Some(Opt::Bind { recursive }) => p.bind = Some(recursive || p.bind == Some(true)),
            None => {}
        }
    }
    p
}

/// A propagation word such as `linux.rootfsPropagation` uses.
pub fn propagation(word: &str) -> Option<MsFlags> {
    match parse_one(word)? {
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
    fn refuses_unknown_words() {
        assert!(parse_one("bogus-option!").is_none());
        assert!(parse_one("idmap").is_none());
        assert_eq!(
            propagation("rshared"),
            Some(MsFlags::MS_SHARED | MsFlags::MS_REC)
        );
        assert_eq!(propagation("ro"), None);
    }
}
