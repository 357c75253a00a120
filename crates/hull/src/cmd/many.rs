//! Verbs over many containers (`rm -f`, `stop`, `kill`...) on a few threads at once: most of
//! one container's time goes to waiting (for the runtime's process, for the init to exit), so
//! a handful in flight removes a thousand in a fraction of the time one after another takes,
//! as docker's CLI does for the same verbs.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use hull_engine::{Engine, Paths};

use super::CmdError;

/// Containers handled at once: enough to overlap the waits, few enough that the host's
/// other work (and the runtime processes each one starts) is not crowded out.
const IN_FLIGHT: usize = 8;

/// Runs `f` for each of `names`, up to [`IN_FLIGHT`] at once, each thread with its own engine
/// (a database connection belongs to one thread), and calls `done` in the order of `names`
/// as results arrive, so the output reads as the sequential loop's would. A name given twice
/// makes the whole run sequential, so the second one sees what the first did.
pub fn each<F>(
    paths: &Paths,
    eng: &Engine,
    names: &[String],
    f: F,
    mut done: impl FnMut(&str, Result<(), CmdError>),
) where
    F: Fn(&Engine, &str) -> Result<(), CmdError> + Sync,
{
    let mut seen = std::collections::HashSet::new();
    let unique = names.iter().all(|n| seen.insert(n));
    let threads = if unique {
        IN_FLIGHT.min(names.len())
    } else {
        1
    };
    if threads <= 1 {
        for n in names {
            done(n, f(eng, n));
        }
        return;
    }
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel();
    std::thread::scope(|s| {
        for _ in 0..threads {
            let tx = tx.clone();
            let (next, f) = (&next, &f);
            s.spawn(move || {
                let own = super::engine(paths);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(name) = names.get(i) else { break };
                    let res = match &own {
                        Ok(e) => f(e, name),
                        Err(e) => Err(CmdError {
                            msg: e.msg.clone(),
                            code: e.code,
                        }),
                    };
                    if tx.send((i, res)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        // Results come in any order; hand them on in the order of the names.
        let mut pending = BTreeMap::new();
        let mut printed = 0;
        for (i, res) in rx {
            pending.insert(i, res);
            while let Some(res) = pending.remove(&printed) {
                done(&names[printed], res);
                printed += 1;
            }
        }
    });
}
