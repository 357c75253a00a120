//! The state of a previous release (tests/testdata/state-v0: a database made by main
//! 4b15e0e's hull, dumped with sqlite3) opened by this code: upgraded in place, nothing lost.

use std::path::Path;

use crate::{container, network, pod, volume};

const POD: &str = "45e2c129adc656b0a1635a759ab5ba4e742c2188acf595fd445dfba66fef7099";
const ANON: &str = "d4a0f47c6c754524668a0aac49b1bb78d77ed57c7f1d2b865a896ba832c7544b";

/// The fixture loaded into a fresh file as the old hull left it (user_version 0).
fn old_database(dir: &Path) -> std::path::PathBuf {
    let dump =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/testdata/state-v0/hull.db.sql");
    let sql = std::fs::read_to_string(&dump)
        .unwrap()
        .replace("@ROOT@", "/r");
    let db = dir.join("hull.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(&sql).unwrap();
    assert_eq!(super::schema::version(&conn).unwrap(), 0);
    db
}

#[test]
fn a_previous_release_database_opens_upgraded_with_everything_in_it() {
    let dir = tempfile::tempdir().unwrap();
    let conn = super::open(&old_database(dir.path())).unwrap();
    assert_eq!(
        super::schema::version(&conn).unwrap(),
        super::schema::VERSION
    );

    let mut names: Vec<String> = container::list(&conn)
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["clock", "exited", "inpod", "onnet", "tuned", "vols"]
    );

    let exited = container::lookup(&conn, "exited").unwrap();
    assert_eq!(
        (exited.status, exited.exit_code),
        (container::Status::Exited, 3)
    );
    assert_eq!(exited.config.cmd, ["sh", "-c", "exit 3"]);
    let tuned = container::lookup(&conn, "tuned").unwrap().config;
    assert_eq!(tuned.memory, 64 << 20);
    assert_eq!(tuned.pids_limit, 50);
    assert_eq!(tuned.stop_timeout, Some(3));
    assert_eq!(tuned.cap_add, ["NET_ADMIN"]);
    assert_eq!(tuned.tuning.oom_score_adj, Some(100));
    assert_eq!(tuned.devices[0].container, "/dev/mynull");
    assert_eq!(tuned.ulimits[0].hard, 200);

    // The typed shape: named fields for what `extra` held, anonymous volumes marked.
    let vols = container::lookup(&conn, "vols").unwrap().config;
    let anon: Vec<(&str, bool)> = vols
        .mounts
        .iter()
        .map(|m| (m.target.as_str(), m.anonymous))
        .collect();
    assert_eq!(
        anon,
        [
            ("/data", false),
            ("/anon", true),
            ("/host", false),
            ("/scratch", false)
        ]
    );
    assert_eq!(vols.mounts[3].kind, container::config::MountKind::Tmpfs);
    let clock = container::lookup(&conn, "clock").unwrap().config;
    assert!(clock.clock.unwrap().faketime.is_some());
    let onnet = container::lookup(&conn, "onnet").unwrap().config;
    assert_eq!(onnet.net.unwrap().aliases, ["web"]);
    assert_eq!(tuned.restart.name, container::config::Restart::OnFailure);
    assert_eq!(tuned.restart.max_retries, 3);

    let inpod = container::lookup(&conn, "inpod").unwrap();
    assert_eq!(pod::hooks::pod_id(&inpod.config), Some(POD));
    assert_eq!(pod::store::container_ids(&conn, POD).unwrap(), [inpod.id]);
    let shop = pod::store::lookup(&conn, "shop").unwrap();
    assert_eq!(
        (shop.hostname.as_str(), shop.plan.ports.len()),
        ("shophost", 1)
    );

    let mut vols: Vec<String> = volume::list(&conn)
        .unwrap()
        .into_iter()
        .map(|v| v.name)
        .collect();
    vols.sort();
    assert_eq!(vols, [ANON, "data"]);
    assert!(volume::get(&conn, ANON).unwrap().unwrap().is_anonymous());

    let appnet = network::lookup(&conn, "appnet").unwrap();
    assert_eq!(appnet.subnet.to_string(), "10.217.77.0/24");
    let leases = network::lease::of_network(&conn, "appnet").unwrap();
    assert_eq!(leases.len(), 1);
    assert_eq!(
        (leases[0].name.as_str(), &leases[0].aliases[..]),
        ("onnet", &["web".to_string()][..])
    );
    assert_eq!(network::lease::all(&conn).unwrap().len(), 2);

    // Opened again: already upgraded, nothing to do.
    drop(conn);
    let conn = super::open(&dir.path().join("hull.db")).unwrap();
    assert_eq!(container::list(&conn).unwrap().len(), 6);
}
