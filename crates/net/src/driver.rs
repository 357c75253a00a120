//! Network drivers, as netavark has them: what a kind of network does when it is created or
//! removed and when a container's endpoint is set up on it or torn down. The driver is
//! chosen by the network's driver name ([`for_name`]); the bridge is the one there is now
//! (macvlan or ipvlan would be the next). Teardown goes on past each failure and returns
//! them all, so nothing is left half-removed because an earlier step failed.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

use crate::bridge::{self, Attachment, BridgeError, HostNet, NetworkSpec};
use crate::firewall::FirewallDriver;

/// The bridge driver's name (docker's and netavark's).
pub const BRIDGE: &str = "bridge";

/// Every driver name [`for_name`] knows.
pub const KNOWN: [&str; 1] = [BRIDGE];

#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("network driver {0:?}: unknown (known: {known})", known = KNOWN.join(", "))]
    Unknown(String),
    #[error(transparent)]
    Bridge(#[from] BridgeError),
}

/// One container interface to set up on a network.
#[derive(Debug, Clone, Copy)]
pub struct EndpointRequest<'a> {
    /// The container's network namespace, pinned.
    pub netns: &'a Path,
    /// The name inside the container (eth0, eth1...).
    pub ifname: &'a str,
    pub ip: Ipv4Addr,
    /// The IPv6 address, on a dual-stack network.
    pub ip6: Option<Ipv6Addr>,
    /// None: derived from the address.
    pub mac: Option<[u8; 6]>,
    /// The default route goes through this interface (the container's first).
    pub default_route: bool,
}

/// What a kind of network does.
pub trait NetworkDriver {
    /// The driver's name, as networks name it.
    fn name(&self) -> &'static str;
    /// Makes the network usable on the host (idempotent: run at each container start).
    fn create_network(&mut self, spec: &NetworkSpec) -> Result<(), DriverError>;
    /// Removes what [`create_network`](Self::create_network) made; every failure returned.
    fn remove_network(&mut self, spec: &NetworkSpec) -> Vec<DriverError>;
    /// Gives the container's namespace its interface on the network.
    fn setup(
        &mut self,
        spec: &NetworkSpec,
        ep: &EndpointRequest<'_>,
    ) -> Result<Attachment, DriverError>;
    /// Removes the container's interfaces; goes on past each failure and returns them all.
    fn teardown(&mut self, atts: &[Attachment]) -> Vec<DriverError>;
}

/// The driver called `name`, over `host` (the namespace bridges live in) and `fw`.
pub fn for_name<'a>(
    name: &str,
    host: HostNet,
    fw: &'a dyn FirewallDriver,
) -> Result<Box<dyn NetworkDriver + 'a>, DriverError> {
    check_name(name)?;
    match name {
        BRIDGE => Ok(Box::new(Bridge { host, fw })),
        _ => unreachable!("check_name knows every driver"),
    }
}

/// Whether a driver of that name exists (before anything is made for a network of it).
pub fn check_name(name: &str) -> Result<(), DriverError> {
    match KNOWN.contains(&name) {
        true => Ok(()),
        false => Err(DriverError::Unknown(name.into())),
    }
}

/// Bridge networks: a Linux bridge with the gateway address and the firewall's rules; each
/// endpoint a veth pair with its host end on the bridge (bridge.rs).
pub struct Bridge<'a> {
    pub host: HostNet,
    pub fw: &'a dyn FirewallDriver,
}

impl NetworkDriver for Bridge<'_> {
    fn name(&self) -> &'static str {
        BRIDGE
    }

    fn create_network(&mut self, spec: &NetworkSpec) -> Result<(), DriverError> {
        Ok(bridge::setup_network(&mut self.host, self.fw, spec)?)
    }

    fn remove_network(&mut self, spec: &NetworkSpec) -> Vec<DriverError> {
        bridge::teardown_network(&mut self.host, self.fw, spec)
            .into_iter()
            .map(DriverError::from)
            .collect()
    }

    fn setup(
        &mut self,
        spec: &NetworkSpec,
        ep: &EndpointRequest<'_>,
    ) -> Result<Attachment, DriverError> {
        Ok(bridge::attach(
            &mut self.host,
            spec,
            ep.netns,
            ep.ifname,
            (ep.ip, ep.ip6),
            ep.mac,
            ep.default_route,
        )?)
    }

    fn teardown(&mut self, atts: &[Attachment]) -> Vec<DriverError> {
        atts.iter()
            .flat_map(|a| bridge::detach(&mut self.host, a))
            .map(DriverError::from)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::path::PathBuf;

    use super::*;
    use crate::firewall::{Failures, FirewallError, FirewallState, NetworkRules, PortMapping};

    /// A firewall that records what it is asked and fails every removal twice over.
    #[derive(Default)]
    struct FailingFirewall {
        asked: RefCell<Vec<String>>,
    }

    impl FirewallDriver for FailingFirewall {
        fn add_network(&self, net: &NetworkRules) -> Result<(), FirewallError> {
            self.asked.borrow_mut().push(format!("add {}", net.name));
            Ok(())
        }
        fn remove_network(&self, name: &str) -> Result<(), Failures> {
            self.asked.borrow_mut().push(format!("remove {name}"));
            Err(Failures(vec![
                FirewallError::Nft(format!("delete rules of {name}")),
                FirewallError::Nft(format!("delete ports of {name}")),
            ]))
        }
        fn add_ports(&self, _: &str, _: &[PortMapping]) -> Result<(), FirewallError> {
            Ok(())
        }
        fn remove_ports(&self, _: &str) -> Result<(), Failures> {
            Ok(())
        }
        fn reload(&self) -> Result<(), FirewallError> {
            Ok(())
        }
        fn state(&self) -> Result<FirewallState, FirewallError> {
            Ok(FirewallState::default())
        }
        fn ports_of(&self, _: &str) -> Result<Vec<PortMapping>, FirewallError> {
            Ok(Vec::new())
        }
    }

    fn spec(bridge: &str) -> NetworkSpec {
        NetworkSpec {
            name: "n1".into(),
            bridge: bridge.into(),
            subnet: "10.250.7.0/24".parse().unwrap(),
            gateway: Ipv4Addr::new(10, 250, 7, 1),
            mtu: None,
            internal: false,
            v6: None,
        }
    }

    fn attachment(host_veth: &str) -> Attachment {
        Attachment {
            network: "n1".into(),
            bridge: "hulltestbr0".into(),
            host_veth: host_veth.into(),
            ifname: "eth0".into(),
            netns: PathBuf::from("/nonexistent"),
            ip: Ipv4Addr::new(10, 250, 7, 2),
            prefix: 24,
            gateway: Ipv4Addr::new(10, 250, 7, 1),
            mac: [2, 0, 0, 0, 0, 1],
            ip6: None,
        }
    }

    #[test]
    fn the_driver_is_chosen_by_name_and_an_unknown_one_is_named() {
        let fw = FailingFirewall::default();
        let d = for_name("bridge", HostNet::current().unwrap(), &fw).unwrap();
        assert_eq!(d.name(), "bridge");
        for bad in ["macvlan", "", "Bridge"] {
            let e = for_name(bad, HostNet::current().unwrap(), &fw)
                .err()
                .expect("unknown driver refused");
            assert!(matches!(&e, DriverError::Unknown(n) if n == bad), "{e:?}");
            assert_eq!(
                e.to_string(),
                format!("network driver {bad:?}: unknown (known: bridge)")
            );
        }
        assert!(check_name("bridge").is_ok());
        assert!(check_name("ipvlan").is_err());
    }

    /// The network's removal goes on past the firewall's failures to the bridge, and returns
    /// every failure: the firewall's two and the kernel's refusal of a name no link can have
    /// (longer than IFNAMSIZ; no privilege needed to be told so).
    #[test]
    fn network_removal_collects_every_failure() {
        let fw = FailingFirewall::default();
        let mut d = for_name("bridge", HostNet::current().unwrap(), &fw).unwrap();
        let errs = d.remove_network(&spec("a-bridge-name-far-too-long-for-a-link"));
        let msgs: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert_eq!(msgs.len(), 3, "{msgs:?}");
        assert_eq!(msgs[0], "nft: delete rules of n1");
        assert_eq!(msgs[1], "nft: delete ports of n1");
        assert!(msgs[2].contains("a-bridge-name-far-too-long"), "{msgs:?}");
        assert_eq!(*fw.asked.borrow(), ["remove n1"]);

        // A bridge that is already gone is not a failure: only the firewall's remain.
        let errs = d.remove_network(&spec("hullnobr9x7"));
        assert_eq!(errs.len(), 2, "{errs:?}");
    }

    /// An endpoint teardown deletes every attachment's veth, past the ones that fail.
    #[test]
    fn endpoint_teardown_goes_past_failures() {
        let fw = FailingFirewall::default();
        let mut d = for_name("bridge", HostNet::current().unwrap(), &fw).unwrap();
        let atts = [
            attachment("a-veth-name-far-too-long-0"),
            attachment("hullnoveth9x7"),
            attachment("a-veth-name-far-too-long-2"),
        ];
        let msgs: Vec<String> = d.teardown(&atts).iter().map(|e| e.to_string()).collect();
        assert_eq!(msgs.len(), 2, "{msgs:?}");
        assert!(msgs[0].contains("far-too-long-0"), "{msgs:?}");
        assert!(msgs[1].contains("far-too-long-2"), "{msgs:?}");
    }
}
