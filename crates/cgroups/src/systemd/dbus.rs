//! The few calls of systemd's D-Bus API (org.freedesktop.systemd1.Manager) the cgroup driver
//! makes, over the system bus (the client is wire.rs). Only the runtime's parent side calls
//! these (create, update, delete): never the container's init.

use std::cell::RefCell;
use std::time::{Duration, Instant};

use super::props::{Prop, Value};
use super::wire::{self, Arg, Bus, CallError, Variant};
use crate::error::{Error, Result};

const DEST: &str = "org.freedesktop.systemd1";
const PATH: &str = "/org/freedesktop/systemd1";
const MANAGER: &str = "org.freedesktop.systemd1.Manager";
const NO_SUCH_UNIT_ERROR: &str = "org.freedesktop.systemd1.NoSuchUnit";
/// How long a unit's job may take (runc waits as long).
const JOB_TIMEOUT: Duration = Duration::from_secs(30);

/// A connection to the system bus's systemd.
pub struct Systemd {
    bus: RefCell<Bus>,
}

fn err(op: impl Into<String>, e: impl std::fmt::Display) -> Error {
    Error::Systemd {
        op: op.into(),
        msg: e.to_string(),
    }
}

fn variant(v: &Value) -> Variant<'_> {
    match v {
        Value::U64(n) => Variant::U64(*n),
        Value::Bool(b) => Variant::Bool(*b),
        Value::Str(s) => Variant::Str(s),
        Value::Bytes(b) => Variant::Bytes(b),
        Value::U32s(p) => Variant::U32s(p),
    }
}

fn variants<'a>(props: &'a [Prop]) -> Vec<(&'a str, Variant<'a>)> {
    props.iter().map(|(n, v)| (*n, variant(v))).collect()
}

fn is_error(e: &CallError, want: &str) -> bool {
    matches!(e, CallError::Method { name, .. } if name == want)
}

impl Systemd {
    pub fn connect() -> Result<Systemd> {
        let bus = Bus::system().map_err(|e| err("connect to the system bus", e))?;
        Ok(Systemd {
            bus: RefCell::new(bus),
        })
    }

    fn call(
        &self,
        member: &str,
        args: &[Arg<'_>],
    ) -> std::result::Result<wire::Message, CallError> {
        self.bus
            .borrow_mut()
            .call(DEST, PATH, MANAGER, member, args)
    }

    /// StartTransientUnit(name, "replace", props) and wait for its job: Ok once the unit is
    /// active, an error naming the job's result otherwise.
    pub fn start_transient(&self, unit: &str, props: &[Prop]) -> Result<()> {
        let op = format!("StartTransientUnit {unit}");
        // A failed unit of the same name (an earlier container that was OOM-killed) would
        // make the start fail with "unit already exists".
        let _ = self.call("ResetFailedUnit", &[Arg::Str(unit)]);
        let props = variants(props);
        self.run_job(&op, unit, || {
            self.call(
                "StartTransientUnit",
                &[
                    Arg::Str(unit),
                    Arg::Str("replace"),
                    Arg::Props(&props),
                    Arg::NoAux,
                ],
            )
        })
    }

    /// SetUnitProperties(name, runtime, props): the live part of `update`.
    pub fn set_properties(&self, unit: &str, props: &[Prop]) -> Result<()> {
        let props = variants(props);
        self.call(
            "SetUnitProperties",
            &[Arg::Str(unit), Arg::Bool(true), Arg::Props(&props)],
        )
        .map(drop)
        .map_err(|e| err(format!("SetUnitProperties {unit}"), e))
    }

    /// StopUnit(name, "replace"), waited for, then ResetFailedUnit so no failed unit stays
    /// behind (an OOM-killed scope ends "failed"). Ok if the unit is already gone.
    pub fn stop(&self, unit: &str) -> Result<()> {
        let op = format!("StopUnit {unit}");
        let res = self.run_job(&op, unit, || {
            self.call("StopUnit", &[Arg::Str(unit), Arg::Str("replace")])
        });
        let _ = self.call("ResetFailedUnit", &[Arg::Str(unit)]);
        match res {
            Err(Error::Systemd { msg, .. }) if msg == NO_SUCH_UNIT => Ok(()),
            r => r,
        }
    }

    /// Starts a job with `call` and waits for systemd's JobRemoved signal for it. The
    /// subscription comes first: a scope's job can finish before the call returns.
    fn run_job(
        &self,
        op: &str,
        unit: &str,
        call: impl FnOnce() -> std::result::Result<wire::Message, CallError>,
    ) -> Result<()> {
        // systemd emits job signals only to clients that called Subscribe.
        // Subscribing twice (start, then an undo's stop) is refused as "already subscribed".
        match self.call("Subscribe", &[]) {
            Err(e) if is_error(&e, "org.freedesktop.systemd1.AlreadySubscribed") => {}
            r => r
                .map(drop)
                .map_err(|e| err(format!("{op}: Subscribe"), e))?,
        }
        // The bus routes to us only JobRemoved signals that systemd itself sent, for this
        // unit (arg2, the unit's name; a quote in a match rule's value is written '\'').
        let rule = format!(
            "type='signal',sender='{DEST}',path='{PATH}',interface='{MANAGER}',\
             member='JobRemoved',arg2='{}'",
            unit.replace('\'', r"'\''")
        );
        self.bus
            .borrow_mut()
            .call(
                "org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus",
                "AddMatch",
                &[Arg::Str(&rule)],
            )
            .map_err(|e| err(format!("{op}: watch JobRemoved"), e))?;
        let job = match call() {
            Ok(reply) => reply
                .first_str()
                .ok_or_else(|| err(op, "the reply names no job"))?,
            Err(e) if is_error(&e, NO_SUCH_UNIT_ERROR) => return Err(err(op, NO_SUCH_UNIT)),
            Err(e) => return Err(err(op, e)),
        };
        let deadline = Instant::now() + JOB_TIMEOUT;
        loop {
            let sig = self
                .bus
                .borrow_mut()
                .next_signal(deadline)
                .map_err(|e| err(format!("{op}: wait for job {job}"), e))?;
            let Some(sig) = sig else {
                return Err(err(
                    op,
                    format!("no result for job {job} in {}s", JOB_TIMEOUT.as_secs()),
                ));
            };
            if sig.member.as_deref() != Some("JobRemoved")
                || sig.interface.as_deref() != Some(MANAGER)
            {
                continue;
            }
            // JobRemoved(u id, o job, s unit, s result).
            let Ok(args) = sig.args() else { continue };
            match args.as_slice() {
                [_, wire::Value::Str(path), _, wire::Value::Str(result)] if *path == job => {
                    return if result == "done" {
                        Ok(())
                    } else {
                        Err(err(op, format!("job {job} ended {result:?}")))
                    };
                }
                _ => {}
            }
        }
    }
}

const NO_SUCH_UNIT: &str = "no such unit";
