//! The pod verbs' sequences through the fakes (crate::ocirt::fake), without root: what
//! stop, kill and pause ask of the runtime for the members and the infra, in what order.
//! The real infra (hull-pause, its network and cgroup) stays covered end to end
//! (tests/engine/hull_pods.rs).

use std::process::{Child, Command};
use std::sync::{Arc, Mutex};

use crate::container::modes::PodMember;
use crate::ocirt::fake::Rig;
use crate::pod::store::{self, Pod};
use crate::{Container, Status};

/// A pod row with no infra process (its runtime state is what the verbs take down).
fn pod(rig: &Rig, name: &str) -> Pod {
    let p = Pod {
        id: crate::container::names::new_id(),
        name: name.into(),
        hostname: name.into(),
        share: Default::default(),
        infra_id: String::new(),
        cgroup_parent: String::new(),
        labels: Default::default(),
        created: "2026-12-02T00:00:00.000000000Z".into(),
        plan: Default::default(),
        kube_source: String::new(),
    };
    store::insert(&rig.eng.conn, &p).unwrap();
    p
}

/// A process that stands for a member's init (the fake runtime signals nothing): killed
/// and reaped on drop, or by the test itself.
struct Init(Arc<Mutex<Child>>);

impl Init {
    fn new() -> Init {
        Init(Arc::new(Mutex::new(
            Command::new("sleep").arg("600").spawn().unwrap(),
        )))
    }

    fn pid(&self) -> i32 {
        self.0.lock().unwrap().id() as i32
    }

    fn end(child: &Mutex<Child>) {
        let mut c = child.lock().unwrap();
        let _ = c.kill();
        let _ = c.wait();
    }
}

impl Drop for Init {
    fn drop(&mut self) {
        Init::end(&self.0);
    }
}

fn member(rig: &Rig, p: &Pod, name: &str, status: Status, init: &Init) -> Container {
    rig.container(name, |c| {
        c.status = status;
        c.pid = init.pid();
        c.config.pod = Some(PodMember {
            id: p.id.clone(),
            name: p.name.clone(),
        });
    })
}

#[test]
fn pod_stop_stops_every_member_before_the_infra() {
    let rig = Rig::new();
    let p = pod(&rig, "pd");
    let inits = [Init::new(), Init::new()];
    let a = member(&rig, &p, "a", Status::Running, &inits[0]);
    let b = member(&rig, &p, "b", Status::Running, &inits[1]);
    // The n-th stop signal the runtime is asked for ends the n-th member's init.
    let (journal, children) = (
        rig.journal.clone(),
        [inits[0].0.clone(), inits[1].0.clone()],
    );
    let ender = std::thread::spawn(move || {
        for (n, child) in children.iter().enumerate() {
            while journal
                .calls()
                .iter()
                .filter(|c| *c == "runtime kill 15")
                .count()
                <= n
            {
                std::thread::yield_now();
            }
            Init::end(child);
        }
    });
    let stopped = rig.eng.pod_stop("pd", Some(30)).unwrap();
    ender.join().unwrap();
    assert_eq!(stopped.id, p.id);
    let one = [
        "runtime kill 15",
        "runtime delete-start",
        "bundle release",
        "runtime delete-wait",
    ];
    let mut want: Vec<&str> = one.iter().chain(&one).copied().collect();
    // The infra last: it holds the namespaces the members are in.
    want.push("runtime delete --force");
    assert_eq!(rig.journal.calls(), want);
    for c in [a, b] {
        assert_eq!(rig.get(&c.id).status, Status::Exited, "{}", c.name);
    }
}

#[test]
fn pod_kill_signals_only_running_members() {
    let rig = Rig::new();
    let p = pod(&rig, "pk");
    let (up, down) = (Init::new(), Init::new());
    member(&rig, &p, "up", Status::Running, &up);
    member(&rig, &p, "down", Status::Exited, &down);
    rig.eng.pod_kill("pk", 9).unwrap();
    assert_eq!(rig.journal.calls(), ["runtime kill 9"]);
}

#[test]
fn pod_pause_and_unpause_freeze_and_thaw_the_members() {
    let rig = Rig::new();
    let p = pod(&rig, "pp");
    let (up, idle) = (Init::new(), Init::new());
    let a = member(&rig, &p, "a", Status::Running, &up);
    member(&rig, &p, "idle", Status::Exited, &idle);
    rig.eng.pod_pause("pp", true).unwrap();
    assert_eq!(rig.journal.calls(), ["runtime pause"]);
    assert_eq!(rig.get(&a.id).status, Status::Paused);
    rig.journal.clear();
    rig.eng.pod_pause("pp", false).unwrap();
    assert_eq!(rig.journal.calls(), ["runtime resume"]);
    assert_eq!(rig.get(&a.id).status, Status::Running);
}

#[test]
fn pod_verbs_on_an_unknown_pod_are_not_found_and_ask_nothing() {
    let rig = Rig::new();
    let e = rig.eng.pod_stop("nope", None).unwrap_err();
    assert!(matches!(e, crate::Error::NotFound(_)), "{e}");
    assert!(rig.journal.calls().is_empty());
}
