//! exec and update through the fake runtime (crate::ocirt::fake), without root: what is
//! asked of the runtime, the streams relayed both ways, the exit code, the instance that
//! inspect reads after the process ended.

use std::io::Write;
use std::sync::{Arc, Mutex};

use super::{Opts, Streams};
use crate::container::update::UpdateRequest;
use crate::ocirt::fake::Rig;
use crate::{Error, Status};

/// A writer whose bytes a test reads after.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Sink {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

fn running(rig: &Rig) -> crate::Container {
    let c = rig.container("web", |c| {
        c.status = Status::Running;
        c.pid = std::process::id() as i32;
    });
    std::fs::create_dir_all(rig.eng.paths.run_dir(&c.id)).unwrap();
    c
}

fn streams(input: &'static [u8], out: &Sink, err: &Sink) -> Streams {
    Streams {
        stdin: Some(Box::new(input)),
        stdout: Box::new(out.clone()),
        stderr: Box::new(err.clone()),
        on_tty: None,
        detach: None,
    }
}

#[test]
fn exec_relays_the_callers_streams_and_answers_the_exit_code() {
    let rig = Rig::new();
    let c = running(&rig);
    *rig.exec_script.lock().unwrap() =
        r#"echo out; echo err >&2; cat; grep -o '"args":\[[^]]*\]' "$PROCESS"; exit 3"#.into();
    let (out, err) = (Sink::default(), Sink::default());
    let opts = Opts {
        interactive: true,
        ..Default::default()
    };
    let args = vec!["sh".to_string(), "-c".into(), "x".into()];
    let code = rig
        .eng
        .exec(&c.id, args, opts, streams(b"typed\n", &out, &err))
        .unwrap();
    assert_eq!(code, 3);
    assert_eq!(out.text(), "out\ntyped\n\"args\":[\"sh\",\"-c\",\"x\"]\n");
    assert_eq!(err.text(), "err\n");
    assert_eq!(rig.journal.calls(), ["runtime exec"]);
    // The one-call exec leaves nothing in the run directory.
    let left: Vec<_> = std::fs::read_dir(rig.eng.paths.run_dir(&c.id))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn without_interactive_the_process_gets_no_input() {
    let rig = Rig::new();
    let c = running(&rig);
    *rig.exec_script.lock().unwrap() = "cat; echo end".into();
    let (out, err) = (Sink::default(), Sink::default());
    let code = rig
        .eng
        .exec(
            &c.id,
            vec!["cat".into()],
            Opts::default(),
            streams(b"typed\n", &out, &err),
        )
        .unwrap();
    assert_eq!((code, out.text()), (0, "end\n".to_string()));
}

#[test]
fn an_instance_is_inspected_after_it_ended_and_starts_once() {
    let rig = Rig::new();
    let c = running(&rig);
    *rig.exec_script.lock().unwrap() = r#"echo 4242 > "$PID_FILE"; exit 7"#.into();
    let id = rig
        .eng
        .exec_create(&c.name, vec!["false".into()], Opts::default())
        .unwrap();
    let before = rig.eng.exec_inspect(&id).unwrap();
    assert_eq!(
        (before.started, before.running, before.exit_code),
        (false, false, None)
    );
    assert_eq!(rig.eng.exec_start(&id, Streams::null()).unwrap(), 7);
    let after = rig.eng.exec_inspect(&id).unwrap();
    assert_eq!(after.container_id, c.id);
    assert_eq!(
        (after.running, after.exit_code, after.pid),
        (false, Some(7), 4242)
    );
    let again = rig.eng.exec_start(&id, Streams::null()).unwrap_err();
    assert!(matches!(again, Error::Conflict(_)), "{again}");
    let missing = rig.eng.exec_inspect(&"0".repeat(64)).unwrap_err();
    assert!(matches!(missing, Error::NotFound(_)), "{missing}");
}

#[test]
fn the_runtimes_exec_failure_is_dockers_127() {
    let rig = Rig::new();
    let c = running(&rig);
    *rig.exec_script.lock().unwrap() =
        r#"echo 'exec failed: exec: "nope": executable file not found in $PATH' >&2; exit 255"#
            .into();
    let (out, err) = (Sink::default(), Sink::default());
    let code = rig
        .eng
        .exec(
            &c.id,
            vec!["nope".into()],
            Opts::default(),
            streams(b"", &out, &err),
        )
        .unwrap();
    assert_eq!(code, 127);
    assert!(
        err.text().contains("executable file not found"),
        "{}",
        err.text()
    );
}

#[test]
fn exec_in_a_stopped_container_asks_nothing_of_the_runtime() {
    let rig = Rig::new();
    let c = rig.container("gone", |c| c.status = Status::Exited);
    let e = rig
        .eng
        .exec_create(&c.id, vec!["true".into()], Opts::default())
        .unwrap_err();
    assert!(matches!(e, Error::NotRunning(_)), "{e}");
    assert_eq!(e.to_string(), "container gone is not running");
    assert!(rig.journal.calls().is_empty());
}

#[test]
fn update_goes_to_the_runtime_only_while_the_container_runs() {
    let rig = Rig::new();
    let live = running(&rig);
    let req = UpdateRequest {
        pids_limit: Some(50),
        ..Default::default()
    };
    rig.eng.update(&live.id, &req).unwrap();
    assert_eq!(
        rig.journal.calls(),
        [r#"runtime update {"pids":{"limit":50}}"#]
    );
    assert_eq!(rig.get(&live.id).config.pids_limit, 50);

    rig.journal.clear();
    let stopped = rig.container("stopped", |c| c.status = Status::Exited);
    rig.eng.update(&stopped.id, &req).unwrap();
    assert!(rig.journal.calls().is_empty());
    assert_eq!(rig.get(&stopped.id).config.pids_limit, 50);

    // A runtime that refuses leaves the stored config as it was.
    rig.faults.set("runtime update");
    let e = rig
        .eng
        .update(
            &live.id,
            &UpdateRequest {
                pids_limit: Some(9),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(e.to_string().contains("injected failure"), "{e}");
    assert_eq!(rig.get(&live.id).config.pids_limit, 50);
}
