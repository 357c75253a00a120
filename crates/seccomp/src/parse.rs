//! Strings -> the oci-spec seccomp enums, with errors that name the field they came from.
//!
//! oci-spec's types reject an unknown `SCMP_ACT_*` with a serde message that says neither
//! which syscall entry nor which field was wrong. Both the OCI and the docker input go through
//! these helpers first so that the error says `linux.seccomp.syscalls[3].action: ...`.

use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag, LinuxSeccompOperator,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{Error, Result};

/// Parses one name the way oci-spec's serde attributes spell it, or `None`.
fn by_serde_name<T: DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(Value::String(s.to_owned())).ok()
}

pub(crate) fn action(s: &str, field: &str) -> Result<LinuxSeccompAction> {
    by_serde_name(s).ok_or_else(|| Error::UnknownAction {
        field: field.to_owned(),
        value: s.to_owned(),
    })
}

pub(crate) fn operator(s: &str, field: &str) -> Result<LinuxSeccompOperator> {
    by_serde_name(s).ok_or_else(|| Error::UnknownOperator {
        field: field.to_owned(),
        value: s.to_owned(),
    })
}

pub(crate) fn arch(s: &str, field: &str) -> Result<Arch> {
    by_serde_name(s).ok_or_else(|| Error::UnknownArch {
        field: field.to_owned(),
        value: s.to_owned(),
    })
}

pub(crate) fn flag(s: &str, field: &str) -> Result<LinuxSeccompFilterFlag> {
    by_serde_name(s).ok_or_else(|| Error::UnknownFlag {
        field: field.to_owned(),
        value: s.to_owned(),
    })
}

/// Deserializes JSON into `T`; a shape error names the JSON path (`syscalls[2].args[0].value`).
pub(crate) fn from_json<T: DeserializeOwned>(json: &[u8], root: &str) -> Result<T> {
    let de = &mut serde_json::Deserializer::from_slice(json);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            root.to_owned()
        } else if root.is_empty() {
            path
        } else {
            format!("{root}.{path}")
        };
        Error::Json {
            field,
            source: e.into_inner(),
        }
    })
}

/// Parses the OCI `linux.seccomp` object (the JSON of that object alone, not the whole
/// config.json). Unknown actions, operators, architectures and flags are reported with the
/// field that holds them; other shape errors with their JSON path.
pub fn parse_oci(json: &[u8]) -> Result<LinuxSeccomp> {
    const ROOT: &str = "linux.seccomp";
    let v: Value = from_json(json, ROOT)?;
    let str_at = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    if let Some(s) = str_at(&v, "defaultAction") {
        action(&s, &format!("{ROOT}.defaultAction"))?;
    }
    let list = |v: &Value, key: &str| -> Vec<Value> {
        v.get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    for (i, a) in list(&v, "architectures").iter().enumerate() {
        if let Some(s) = a.as_str() {
            arch(s, &format!("{ROOT}.architectures[{i}]"))?;
        }
    }
    for (i, f) in list(&v, "flags").iter().enumerate() {
        if let Some(s) = f.as_str() {
            flag(s, &format!("{ROOT}.flags[{i}]"))?;
        }
    }
    for (i, call) in list(&v, "syscalls").iter().enumerate() {
        if let Some(s) = str_at(call, "action") {
            action(&s, &format!("{ROOT}.syscalls[{i}].action"))?;
        }
        for (j, arg) in list(call, "args").iter().enumerate() {
            if let Some(s) = str_at(arg, "op") {
                operator(&s, &format!("{ROOT}.syscalls[{i}].args[{j}].op"))?;
            }
        }
    }
    from_json(json, ROOT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_parses() {
        use LinuxSeccompAction::*;
        let cases = [
            ("SCMP_ACT_KILL", ScmpActKill),
            ("SCMP_ACT_KILL_THREAD", ScmpActKillThread),
            ("SCMP_ACT_KILL_PROCESS", ScmpActKillProcess),
            ("SCMP_ACT_TRAP", ScmpActTrap),
            ("SCMP_ACT_ERRNO", ScmpActErrno),
            ("SCMP_ACT_TRACE", ScmpActTrace),
            ("SCMP_ACT_ALLOW", ScmpActAllow),
            ("SCMP_ACT_LOG", ScmpActLog),
            ("SCMP_ACT_NOTIFY", ScmpActNotify),
        ];
        for (s, want) in cases {
            assert_eq!(action(s, "f").unwrap(), want, "{s}");
        }
    }

    #[test]
    fn every_operator_parses() {
        use LinuxSeccompOperator::*;
        let cases = [
            ("SCMP_CMP_NE", ScmpCmpNe),
            ("SCMP_CMP_LT", ScmpCmpLt),
            ("SCMP_CMP_LE", ScmpCmpLe),
            ("SCMP_CMP_EQ", ScmpCmpEq),
            ("SCMP_CMP_GE", ScmpCmpGe),
            ("SCMP_CMP_GT", ScmpCmpGt),
            ("SCMP_CMP_MASKED_EQ", ScmpCmpMaskedEq),
        ];
        for (s, want) in cases {
            assert_eq!(operator(s, "f").unwrap(), want, "{s}");
        }
    }

    #[test]
    fn arches_and_flags_parse() {
        for s in [
            "SCMP_ARCH_X86_64",
            "SCMP_ARCH_X86",
            "SCMP_ARCH_X32",
            "SCMP_ARCH_AARCH64",
            "SCMP_ARCH_ARM",
            "SCMP_ARCH_MIPS64N32",
            "SCMP_ARCH_MIPSEL64N32",
            "SCMP_ARCH_PPC64LE",
            "SCMP_ARCH_S390X",
            "SCMP_ARCH_RISCV64",
        ] {
            arch(s, "f").unwrap();
        }
        for s in [
            "SECCOMP_FILTER_FLAG_TSYNC",
            "SECCOMP_FILTER_FLAG_LOG",
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
            "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
        ] {
            flag(s, "f").unwrap();
        }
    }

    fn err_of(json: &str) -> String {
        parse_oci(json.as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn unknown_names_name_their_field() {
        let e = err_of(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
                {"names":["a"],"action":"SCMP_ACT_ERRNO"},
                {"names":["b"],"action":"SCMP_ACT_ERRNO"},
                {"names":["c"],"action":"SCMP_ACT_ERRNO"},
                {"names":["d"],"action":"SCMP_ACT_FOO"}]}"#,
        );
        assert_eq!(
            e,
            r#"linux.seccomp.syscalls[3].action: unknown action "SCMP_ACT_FOO""#
        );
        let e = err_of(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
                {"names":["a"],"action":"SCMP_ACT_ERRNO",
                 "args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"},{"index":1,"value":1,"op":"SCMP_CMP_XX"}]}]}"#,
        );
        assert_eq!(
            e,
            r#"linux.seccomp.syscalls[0].args[1].op: unknown operator "SCMP_CMP_XX""#
        );
        let e = err_of(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_VAX"]}"#,
        );
        assert_eq!(
            e,
            r#"linux.seccomp.architectures[1]: unknown architecture "SCMP_ARCH_VAX""#
        );
        let e =
            err_of(r#"{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_NOPE"]}"#);
        assert_eq!(
            e,
            r#"linux.seccomp.flags[0]: unknown flag "SECCOMP_FILTER_FLAG_NOPE""#
        );
        let e = err_of(r#"{"defaultAction":"SCMP_ACT_NOPE"}"#);
        assert_eq!(
            e,
            r#"linux.seccomp.defaultAction: unknown action "SCMP_ACT_NOPE""#
        );
    }

    #[test]
    fn shape_errors_name_the_path() {
        let e = err_of(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["a"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":"x","op":"SCMP_CMP_EQ"}]}]}"#,
        );
        assert!(
            e.starts_with("linux.seccomp.syscalls[0].args[0].value: "),
            "{e}"
        );
    }

    #[test]
    fn full_object_parses() {
        let s = parse_oci(
            br#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38,
                "architectures":["SCMP_ARCH_X86_64"],"flags":["SECCOMP_FILTER_FLAG_LOG"],
                "listenerPath":"/run/agent.sock","listenerMetadata":"m",
                "syscalls":[{"names":["getpid"],"action":"SCMP_ACT_ALLOW"}]}"#,
        )
        .unwrap();
        assert_eq!(s.default_errno_ret(), Some(38));
        assert_eq!(s.listener_metadata().as_deref(), Some("m"));
        assert_eq!(s.syscalls().as_ref().unwrap().len(), 1);
    }
}
