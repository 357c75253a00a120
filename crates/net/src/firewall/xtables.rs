//! Living beside an iptables user that sets the filter table's FORWARD policy to DROP, as
//! dockerd does: a packet hull's own `forward` chain accepts still goes through iptables'
//! FORWARD chain (another base chain on the same hook) and meets its policy there.
//!
//! So, as podman's netavark does with its `NETAVARK_FORWARD` chain, hull keeps a chain of its
//! own in iptables' filter table (`HULL-FORWARD`, or `HULL-TAG-FORWARD` for another root)
//! accepting what enters or leaves its bridges, and one jump to it appended to FORWARD.
//! Nothing else of iptables is touched: no policy, no other chain or rule. The decision
//! stays with hull's nft `forward` chain, which runs first and drops what must not pass
//! (isolation, internal networks): an nft drop is final whatever iptables accepts later.

use std::path::Path;
use std::process::{Command, Stdio};

use super::{FirewallError, NetworkRules};

/// The chain's name for nft table `table` (`hull` -> `HULL-FORWARD`).
pub fn chain(table: &str) -> String {
    format!("{}-FORWARD", table.to_ascii_uppercase())
}

fn iptables(netns: Option<&Path>, args: &[&str]) -> Result<bool, FirewallError> {
    let mut cmd = match netns {
        Some(ns) => {
            let mut c = Command::new("nsenter");
            c.arg(format!("--net={}", ns.display())).arg("iptables");
            c
        }
        None => Command::new("iptables"),
    };
    let out = cmd
        .arg("-w")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| FirewallError::Nft(format!("run iptables: {e}")))?;
    Ok(out.status.success())
}

/// Makes the chain accept exactly `nets`' bridges, with the jump from FORWARD while there
/// are any; without networks, the jump and the chain go. No iptables binary: nothing to do
/// (nothing can have set a DROP policy with it either).
pub fn sync(
    table: &str,
    netns: Option<&Path>,
    nets: &[&NetworkRules],
) -> Result<(), FirewallError> {
    let c = chain(table);
    let fail = |what: &str| FirewallError::Nft(format!("iptables: {what} {c}"));
    if !iptables(netns, &["-V"]).unwrap_or_default() {
        return Ok(());
    }
    let jump = ["FORWARD", "-j", c.as_str()];
    if nets.is_empty() {
        while iptables(netns, &[&["-D"][..], &jump].concat())? {}
        let _ = iptables(netns, &["-F", &c])?;
        let _ = iptables(netns, &["-X", &c])?;
        return Ok(());
    }
    // -N fails when the chain exists (kept: a flush below empties it).
    let _ = iptables(netns, &["-N", &c])?;
    if !iptables(netns, &["-F", &c])? {
        return Err(fail("flush"));
    }
    for n in nets {
        for dir in ["-i", "-o"] {
            if !iptables(netns, &["-A", &c, dir, &n.bridge, "-j", "ACCEPT"])? {
                return Err(fail(&format!("add {dir} {} to", n.bridge)));
            }
        }
    }
    if !iptables(netns, &[&["-C"][..], &jump].concat())?
        && !iptables(netns, &[&["-A"][..], &jump].concat())?
    {
        return Err(fail("jump from FORWARD to"));
    }
    Ok(())
}
