//! The faked clock's probe programs (tests/testdata/faketime), built once into
//! target/faketime-probes and again when their source changes: C for glibc and for static
//! musl, Go static (CGO_ENABLED=0: it reads the clock through the vDSO itself).

use std::path::{Path, PathBuf};
use std::process::Command;

/// How a probe is built.
#[derive(Clone, Copy)]
pub enum Toolchain {
    Glibc,
    Musl,
    Go,
}

pub fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/faketime")
}

/// Builds each `(output name, source in testdata/faketime, toolchain)` that is missing or
/// older than its source; returns the directory they are in.
pub fn faketime_probes(list: &[(&str, &str, Toolchain)]) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/faketime-probes");
    std::fs::create_dir_all(&dir).unwrap();
    let m = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    for &(out, src, tool) in list {
        let (bin, src) = (dir.join(out), testdata().join(src));
        if m(&bin) > m(&src) {
            continue;
        }
        let (mut cmd, what) = match tool {
            Toolchain::Glibc => (Command::new("gcc"), "gcc"),
            Toolchain::Musl => {
                let mut c = Command::new("musl-gcc");
                c.arg("-static");
                (c, "musl-gcc (musl-tools)")
            }
            Toolchain::Go => {
                let mut c = Command::new("go");
                c.arg("build")
                    .env("CGO_ENABLED", "0")
                    .env("GOCACHE", dir.join("gocache"))
                    .env("GOPATH", dir.join("gopath"))
                    .env("GOFLAGS", "-mod=mod");
                (c, "go build (golang-go)")
            }
        };
        if !matches!(tool, Toolchain::Go) {
            cmd.arg("-O2");
        }
        cmd.arg("-o").arg(&bin).arg(&src);
        let o = cmd
            .output()
            .unwrap_or_else(|e| panic!("{what}: {e} (scripts/deps.sh installs it)"));
        assert!(o.status.success(), "{what}: {o:?}");
    }
    dir
}
