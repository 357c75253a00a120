//! Builds the exec trampoline (trampoline/trampoline.c): a few hundred bytes of static code
//! that init execs from a sealed memfd. See that file for why.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let src = PathBuf::from("trampoline/trampoline.c");
    println!("cargo:rerun-if-changed={}", src.display());
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("trampoline");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&cc)
        .args([
            "-Os",
            "-static",
            "-nostdlib",
            "-fno-pie",
            "-no-pie",
            "-fno-stack-protector",
            "-fno-asynchronous-unwind-tables",
            "-Wl,--build-id=none",
            "-Wl,-z,noexecstack",
            "-s",
            "-o",
        ])
        .arg(&out)
        .arg(&src)
        .status()
        .unwrap_or_else(|e| panic!("run {cc} to build the exec trampoline: {e}"));
    assert!(status.success(), "{cc} failed to build the exec trampoline");
}
