//! Helpers for unit tests against a fake cgroupfs tree.

use std::path::Path;

use oci_spec::runtime::LinuxResources;

/// Create empty files, as the kernel does on mkdir of a cgroup.
pub(crate) fn touch(dir: &Path, files: &[&str]) {
    for f in files {
        std::fs::write(dir.join(f), "").unwrap();
    }
}

pub(crate) fn put(path: &Path, content: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

pub(crate) fn get(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

pub(crate) fn res(json: &str) -> LinuxResources {
    serde_json::from_str(json).unwrap()
}
