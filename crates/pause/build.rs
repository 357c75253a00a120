//! Links `hull-pause` statically (static-pie), so it runs in a rootfs that holds nothing but
//! itself. Why this way: `-C target-feature=+crt-static` is a rustflag, which cargo applies to
//! every crate of a build (and to proc-macros without an explicit --target), and per-package
//! rustflags are unstable. So this package leaves rustc's link line as it is and changes, for
//! its binary only, what that line resolves to:
//!
//! - `-static-pie` makes the output a static position-independent executable (glibc's
//!   rcrt1.o relocates itself, no interpreter);
//! - rustc still asks for `-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc` after `-Bdynamic`.
//!   A directory searched first holds linker scripts under those names that point at the
//!   static archives (`libgcc_s.so` -> libgcc_eh.a, as crt-static itself links it).
//!
//! The link search directory is passed as a link argument of the binary only (not
//! `rustc-link-search`), so nothing else in the package is affected. `ldd hull-pause` says
//! "statically linked"; the e2e tests run it in an empty rootfs.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("static-libs");
    std::fs::create_dir_all(&out).expect("create static-libs dir");
    for (name, script) in [
        ("libgcc_s.so", "INPUT(libgcc_eh.a)\n"),
        ("libc.so", "GROUP(libc.a libgcc.a libgcc_eh.a)\n"),
        ("libutil.so", "INPUT(libutil.a)\n"),
        ("librt.so", "INPUT(librt.a)\n"),
        ("libpthread.so", "INPUT(libpthread.a)\n"),
        ("libm.so", "INPUT(libm.a)\n"),
        ("libdl.so", "INPUT(libdl.a)\n"),
    ] {
        std::fs::write(out.join(name), script).expect("write linker script");
    }
    println!("cargo:rustc-link-arg-bins=-L{}", out.display());
    println!("cargo:rustc-link-arg-bins=-static-pie");
}
