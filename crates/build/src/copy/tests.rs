use super::*;

fn entries(p: &Plan) -> Vec<String> {
    p.entries
        .iter()
        .map(|e| {
            let kind = match &e.body {
                Body::Dir => "d".to_string(),
                Body::File(_) | Body::Inline(_) => "f".to_string(),
                Body::Symlink(t) => format!("l>{}", t.display()),
                Body::Archive(_) => "a".to_string(),
            };
            format!("{} {kind} {:o} {}:{}", e.path, e.mode, e.uid, e.gid)
        })
        .collect()
}

fn opts<'a>(dest: &'a str, exists: &'a dyn Fn(&str) -> bool) -> Opts<'a> {
    Opts {
        dest,
        dest_is_dir: false,
        owner: (1000, 1000),
        chmod: None,
        add: false,
        exists,
    }
}

#[test]
fn file_dir_and_parents() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("d");
    std::fs::create_dir_all(src.join("in")).unwrap();
    std::fs::write(src.join("in/f"), "x").unwrap();
    std::os::unix::fs::symlink("in/f", src.join("l")).unwrap();
    std::fs::set_permissions(&src, std::os::unix::fs::PermissionsExt::from_mode(0o750)).unwrap();
    std::fs::write(t.path().join("one"), "1").unwrap();
    std::fs::set_permissions(
        t.path().join("one"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let exists = |p: &str| p == "usr";
    let never = |_: &str| false;
    let mut p = Plan::default();
    let s = |h: PathBuf| Src {
        host: h,
        rel: None,
        ignored: &never,
    };
    p.add_sources(&[s(t.path().join("one"))], &opts("/usr/new/file", &exists))
        .unwrap();
    p.add_sources(&[s(src.clone())], &opts("/usr/tree/", &exists))
        .unwrap();
    p.add_sources(&[s(t.path().join("one"))], &opts("/usr/tree/", &exists))
        .unwrap();
    let got = entries(&p);
    assert_eq!(
        got,
        [
            "usr/new d 755 1000:1000",
            "usr/new/file f 600 1000:1000",
            "usr/tree d 750 1000:1000",
            "usr/tree/in d 755 1000:1000",
            "usr/tree/in/f f 644 1000:1000",
            "usr/tree/l l>in/f 777 1000:1000",
            "usr/tree/one f 600 1000:1000",
        ]
    );
    // The digest covers contents: a changed byte is another key.
    let d1 = p.digest(&crate::index::Index::none()).unwrap();
    std::fs::write(src.join("in/f"), "y").unwrap();
    assert_ne!(p.digest(&crate::index::Index::none()).unwrap(), d1);
    let mut tar = Vec::new();
    p.write(&mut tar).unwrap();
    let names: Vec<String> = tar::Archive::new(tar.as_slice())
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert_eq!(names[0], "usr/new/");
    assert!(names.contains(&"usr/tree/l".to_string()));
}

#[test]
fn ignored_files_skipped_in_dirs_but_negated_children_kept() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("ctx");
    std::fs::create_dir_all(src.join("data")).unwrap();
    std::fs::write(src.join("data/drop"), "").unwrap();
    std::fs::write(src.join("data/keep"), "").unwrap();
    let ig = crate::ignore::Ignore::parse("data\n!data/keep\n").unwrap();
    let ignored = |r: &str| ig.ignored(r);
    let exists = |_: &str| true;
    let mut p = Plan::default();
    let s = Src {
        host: src.clone(),
        rel: Some(String::new()),
        ignored: &ignored,
    };
    p.add_sources(&[s], &opts("/app/", &exists)).unwrap();
    let got: Vec<String> = p.entries.iter().map(|e| e.path.clone()).collect();
    assert_eq!(got, ["app/data/keep"]);
}
