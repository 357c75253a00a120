//! Builds hull-init (init/init.c): a static process 1 for `--init`, embedded in the engine and
//! written out next to the state when a container asks for it.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let src = PathBuf::from("init/init.c");
    println!("cargo:rerun-if-changed={}", src.display());
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("hull-init");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&cc)
        .args(["-Os", "-static", "-s", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .unwrap_or_else(|e| panic!("run {cc} to build hull-init: {e}"));
    assert!(status.success(), "{cc} failed to build hull-init");
}
