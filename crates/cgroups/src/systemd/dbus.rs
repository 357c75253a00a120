//! The few calls of systemd's D-Bus API (org.freedesktop.systemd1.Manager) the cgroup driver
//! makes, over zbus's blocking connection to the system bus. Only the runtime's parent side
//! calls these (create, update, delete): never the container's init.

use std::sync::mpsc;
use std::time::Duration;

use zbus::blocking::{Connection, Proxy};
use zbus::zvariant::{OwnedObjectPath, Value as ZValue};

use super::props::{Prop, Value};
use crate::error::{Error, Result};

const DEST: &str = "org.freedesktop.systemd1";
const PATH: &str = "/org/freedesktop/systemd1";
const MANAGER: &str = "org.freedesktop.systemd1.Manager";
/// How long a unit's job may take (runc waits as long).
const JOB_TIMEOUT: Duration = Duration::from_secs(30);

/// A connection to the system bus's systemd.
pub struct Systemd {
    conn: Connection,
}

fn err(op: impl Into<String>, e: impl std::fmt::Display) -> Error {
    Error::Systemd {
        op: op.into(),
        msg: e.to_string(),
    }
}

fn zvalue(v: &Value) -> ZValue<'_> {
    match v {
        Value::U64(n) => ZValue::U64(*n),
        Value::Bool(b) => ZValue::Bool(*b),
        Value::Str(s) => ZValue::from(s.as_str()),
        Value::Bytes(b) => ZValue::from(b.clone()),
        Value::U32s(p) => ZValue::from(p.clone()),
    }
}

fn is_no_such_unit(e: &zbus::Error) -> bool {
    matches!(e, zbus::Error::MethodError(name, _, _)
        if name.as_str() == "org.freedesktop.systemd1.NoSuchUnit")
}

impl Systemd {
    pub fn connect() -> Result<Systemd> {
        let conn = Connection::system().map_err(|e| err("connect to the system bus", e))?;
        Ok(Systemd { conn })
    }

    fn manager(&self) -> Result<Proxy<'_>> {
        zbus::blocking::proxy::Builder::new(&self.conn)
            .destination(DEST)
            .and_then(|b| b.path(PATH))
            .and_then(|b| b.interface(MANAGER))
            .map(|b| b.cache_properties(zbus::proxy::CacheProperties::No))
            .and_then(|b| b.build())
            .map_err(|e| err("systemd manager proxy", e))
    }

    /// StartTransientUnit(name, "replace", props) and wait for its job: Ok once the unit is
    /// active, an error naming the job's result otherwise.
    pub fn start_transient(&self, unit: &str, props: &[Prop]) -> Result<()> {
        let op = format!("StartTransientUnit {unit}");
        let m = self.manager()?;
        // A failed unit of the same name (an earlier container that was OOM-killed) would
        // make the start fail with "unit already exists".
        let _ = m.call_method("ResetFailedUnit", &(unit,));
        let props: Vec<(&str, ZValue<'_>)> = props.iter().map(|(n, v)| (*n, zvalue(v))).collect();
        let aux: Vec<(&str, Vec<(&str, ZValue<'_>)>)> = Vec::new();
        self.run_job(&m, &op, unit, |m| {
            m.call("StartTransientUnit", &(unit, "replace", &props, &aux))
        })
    }

    /// SetUnitProperties(name, runtime, props): the live part of `update`.
    pub fn set_properties(&self, unit: &str, props: &[Prop]) -> Result<()> {
        let props: Vec<(&str, ZValue<'_>)> = props.iter().map(|(n, v)| (*n, zvalue(v))).collect();
        self.manager()?
            .call_method("SetUnitProperties", &(unit, true, &props))
            .map(drop)
            .map_err(|e| err(format!("SetUnitProperties {unit}"), e))
    }

    /// StopUnit(name, "replace"), waited for, then ResetFailedUnit so no failed unit stays
    /// behind (an OOM-killed scope ends "failed"). Ok if the unit is already gone.
    pub fn stop(&self, unit: &str) -> Result<()> {
        let op = format!("StopUnit {unit}");
        let m = self.manager()?;
        let res = self.run_job(&m, &op, unit, |m| m.call("StopUnit", &(unit, "replace")));
        let _ = m.call_method("ResetFailedUnit", &(unit,));
        match res {
            Err(Error::Systemd { msg, .. }) if msg == NO_SUCH_UNIT => Ok(()),
            r => r,
        }
    }

    /// Starts a job with `call` and waits for systemd's JobRemoved signal for it. The
    /// subscription comes first: a scope's job can finish before the call returns.
    fn run_job(
        &self,
        m: &Proxy<'_>,
        op: &str,
        unit: &str,
        call: impl FnOnce(&Proxy<'_>) -> zbus::Result<OwnedObjectPath>,
    ) -> Result<()> {
        // systemd emits job signals only to clients that called Subscribe.
        // Subscribing twice (start, then an undo's stop) is refused as "already subscribed".
        match m.call_method("Subscribe", &()) {
            Err(zbus::Error::MethodError(name, _, _))
                if name.as_str() == "org.freedesktop.systemd1.AlreadySubscribed" => {}
            r => r
                .map(drop)
                .map_err(|e| err(format!("{op}: Subscribe"), e))?,
        }
        let signals = m
            .receive_signal_with_args("JobRemoved", &[(2, unit)])
            .map_err(|e| err(format!("{op}: watch JobRemoved"), e))?;
        let job = match call(m) {
            Ok(job) => job,
            Err(e) if is_no_such_unit(&e) => return Err(err(op, NO_SUCH_UNIT)),
            Err(e) => return Err(err(op, e)),
        };
        // The iterator blocks; a thread bounds the wait.
        let (tx, rx) = mpsc::channel();
        let want = job.clone();
        std::thread::spawn(move || {
            for msg in signals {
                let Ok((_, path, _, result)) = msg
                    .body()
                    .deserialize::<(u32, OwnedObjectPath, String, String)>()
                else {
                    continue;
                };
                if path == want {
                    let _ = tx.send(result);
                    return;
                }
            }
        });
        match rx.recv_timeout(JOB_TIMEOUT) {
            Ok(r) if r == "done" => Ok(()),
            Ok(r) => Err(err(op, format!("job {} ended {r:?}", job.as_str()))),
            Err(_) => Err(err(
                op,
                format!(
                    "no result for job {} in {}s",
                    job.as_str(),
                    JOB_TIMEOUT.as_secs()
                ),
            )),
        }
    }
}

const NO_SUCH_UNIT: &str = "no such unit";
