//! hull beside docker 20.10 (Debian's docker.io): each scenario runs the same command lines
//! through a private dockerd and through hull (tests/docker_pair) and compares what a script
//! would read: exit codes, `--format` output, inspect key sets, and what the container sees
//! from inside. One dockerd serves the whole file.

#[path = "docker_pair/mod.rs"]
mod docker_pair;

use docker_pair::{Parity, IMAGE};

#[test]
fn exit_codes_of_runs_and_bad_input() {
    let mut p = Parity::new();
    p.same(&["run", "--rm", IMAGE, "sh", "-c", "echo hi; exit 3"]);
    // The runtime's words decide: 127 for a missing command, 126 for a directory.
    p.same_code(&["run", "--rm", IMAGE, "/no/such"]);
    p.same_code(&["run", "--rm", IMAGE, "/tmp"]);
    // Usage errors: 125, an unknown flag before the image named as a flag.
    let [_, h] = p.same_code(&["run", "--nmae", "x", IMAGE, "true"]);
    let said = docker_pair::stderr(&h);
    p.check(
        "unknown flag named",
        said.contains("unknown flag: --nmae"),
        true,
    );
    p.same_code(&["create", "--bogus", IMAGE]);
    p.same_code(&["run", "--rm", "--memory", "abc", IMAGE, "true"]);
    p.same_code(&["ps", "--bogus"]);
    p.same_code(&["inspect", "no-such-container"]);
    p.same_code(&["rm", "no-such-container"]);
    p.same_code(&["start", "no-such-container"]);
    // After the image every word is the command's, flags included.
    p.same(&["run", "--rm", IMAGE, "ls", "-d", "-a", "/"]);
    p.same(&["create", "--name", "nocmd-{e}", IMAGE, "/no/such"]);
    p.same_code(&["start", "nocmd-{e}"]);
    p.same(&["rm", "nocmd-{e}"]);
    p.done();
}
