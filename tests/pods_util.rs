//! Shared by the pod, kube play and remapped-pod tests (beside hull_run_util.rs, which each of
//! them includes as `util`): a private hull state whose pods are removed (with -f) when the
//! test ends, pass or fail, and an exec polled until its output has what is wanted.

#![allow(dead_code)]

use std::time::{Duration, Instant};

use crate::util::Hull;

pub struct T {
    h: Hull,
}

impl T {
    pub fn new() -> T {
        T { h: Hull::new() }
    }
}

impl std::ops::Deref for T {
    type Target = Hull;
    fn deref(&self) -> &Hull {
        &self.h
    }
}

impl Drop for T {
    fn drop(&mut self) {
        let ids = self.h.run(&["pod", "ps", "-q"]).stdout;
        for id in ids.split_whitespace() {
            let _ = self.h.run(&["pod", "rm", "-f", id]);
        }
    }
}

/// Runs `sh -c SCRIPT` in container `c` until it succeeds with `want` in its output (60 s).
pub fn poll_exec(t: &Hull, c: &str, script: &str, want: &str) -> String {
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        let o = t.run(&["exec", c, "sh", "-c", script]);
        if o.code == 0 && o.stdout.contains(want) {
            return o.stdout;
        }
        assert!(
            Instant::now() < end,
            "{c}: {script}: waited for {want:?}: {} {}",
            o.stdout,
            o.stderr
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// "NAME VALUE" lines (a namespace and its link, say) as a map.
pub fn ns_map(text: &str) -> std::collections::BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}
