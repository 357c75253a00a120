//! Signal names and numbers as docker writes them (`TERM`, `SIGTERM`, `15`, `RTMIN+2`).

/// The number of a signal name or number; the reason when it is none.
pub fn number(s: &str) -> Result<i32, &'static str> {
    if let Ok(n) = s.parse::<i32>() {
        if (1..=64).contains(&n) {
            return Ok(n);
        }
        return Err("signal numbers are 1 to 64");
    }
    let up = s.to_ascii_uppercase();
    let name = up.strip_prefix("SIG").unwrap_or(&up);
    let n = match name {
        "HUP" => 1,
        "INT" => 2,
        "QUIT" => 3,
        "ILL" => 4,
        "TRAP" => 5,
        "ABRT" | "IOT" => 6,
        "BUS" => 7,
        "FPE" => 8,
        "KILL" => 9,
        "USR1" => 10,
        "SEGV" => 11,
        "USR2" => 12,
        "PIPE" => 13,
        "ALRM" => 14,
        "TERM" => 15,
        "STKFLT" => 16,
        "CHLD" => 17,
        "CONT" => 18,
        "STOP" => 19,
        "TSTP" => 20,
        "TTIN" => 21,
        "TTOU" => 22,
        "URG" => 23,
        "XCPU" => 24,
        "XFSZ" => 25,
        "VTALRM" => 26,
        "PROF" => 27,
        "WINCH" => 28,
        "IO" | "POLL" => 29,
        "PWR" => 30,
        "SYS" => 31,
        _ => {
            if let Some(off) = name
                .strip_prefix("RTMIN+")
                .and_then(|x| x.parse::<i32>().ok())
            {
                return Ok(34 + off);
            }
            return Err("unknown signal");
        }
    };
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(number("SIGKILL"), Ok(9));
        assert_eq!(number("hup"), Ok(1));
        assert_eq!(number("15"), Ok(15));
        assert_eq!(number("RTMIN+2"), Ok(36));
        assert!(number("FOO").is_err());
        assert!(number("65").is_err());
    }
}
