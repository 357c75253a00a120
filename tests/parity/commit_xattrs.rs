//! `commit` keeps a file's extended attributes in the layer it writes (issue 18), side by side
//! with docker 20.10: a file capability (`security.capability`, set with `setcap`) and a
//! `user.` attribute are set on files of a running container, the container is committed,
//! and a container of the committed image is looked at from the host through its root
//! (`getcap`, `getxattr` on /proc/PID/root/...).

use hull_e2e::docker_pair::{pair, ENGINES, IMAGE};

fn ok(engine: &str, args: &[&str]) -> String {
    pair().ok(engine, args)
}

fn pid(engine: &str, name: &str) -> String {
    ok(engine, &["inspect", "--format", "{{.State.Pid}}", name])
}

fn sh(script: &str) -> String {
    let o = std::process::Command::new("sh")
        .args(["-c", script])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{script}: {}",
        hull_e2e::client_support::out_text(&o)
    );
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// The file capability and the `user.hull` attribute of a container of `image`.
fn seen(engine: &str, image: &str) -> (String, String) {
    let name = format!("xattr-read-{engine}");
    ok(
        engine,
        &["run", "-d", "--name", &name, image, "sleep", "300"],
    );
    let root = format!("/proc/{}/root", pid(engine, &name));
    let cap = sh(&format!("getcap {root}/bin/capbox"));
    let cap = cap.rsplit(' ').next().unwrap_or("").to_string();
    let user = sh(&format!(
        "python3 -c 'import os,sys\ntry: print(os.getxattr(sys.argv[1], \"user.hull\").decode())\nexcept OSError: print(\"<none>\")' {root}/data.txt"
    ));
    ok(engine, &["rm", "-f", &name]);
    (cap, user)
}

#[test]
fn commit_keeps_file_capabilities_and_user_xattrs() {
    let mut got = Vec::new();
    for e in ENGINES {
        let name = format!("xattr-src-{e}");
        let image = format!("hull.test/xattr-{e}:1");
        ok(e, &["run", "-d", "--name", &name, IMAGE, "sleep", "300"]);
        ok(
            e,
            &[
                "exec",
                &name,
                "sh",
                "-c",
                "cp /bin/busybox /bin/capbox && echo hi > /data.txt",
            ],
        );
        let root = format!("/proc/{}/root", pid(e, &name));
        sh(&format!("setcap cap_net_raw+ep {root}/bin/capbox"));
        sh(&format!(
            "python3 -c 'import os,sys; os.setxattr(sys.argv[1], \"user.hull\", b\"v1\")' {root}/data.txt"
        ));
        ok(e, &["commit", &name, &image]);
        ok(e, &["rm", "-f", &name]);
        got.push((e, seen(e, &image)));
        ok(e, &["rmi", &image]);
    }
    eprintln!("{got:?}");
    // docker 20.10 keeps security.capability alone (archive.ReadSecurityXattrToTarHeader);
    // hull keeps the user. namespace too (README: where hull differs from docker).
    let (docker, hull) = (&got[0].1, &got[1].1);
    assert_eq!(
        hull.0, "cap_net_raw=ep",
        "hull: the file capability is lost"
    );
    assert_eq!(hull.0, docker.0, "file capability: hull vs docker");
    assert_eq!(hull.1, "v1", "hull: the user.hull attribute is lost");
}
