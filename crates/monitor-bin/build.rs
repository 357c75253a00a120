//! origin provides `_start`: link without the C runtime and libc, statically, at a fixed
//! address (no self-relocation at start).
fn main() {
    for a in ["-nostartfiles", "-nostdlib", "-static", "-no-pie"] {
        println!("cargo:rustc-link-arg-bins={a}");
    }
}
