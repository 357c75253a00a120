//! Container networking for hull: a synchronous netlink client, network namespaces pinned by
//! bind mount, network drivers (bridge networks with veth attachments), address management, an nftables
//! firewall behind a trait, and name resolution between containers.

#![forbid(unsafe_code)]

pub mod bridge;
pub mod dns;
pub mod driver;
pub mod firewall;
pub mod ipam;
pub mod netlink;
pub mod netns;
pub mod proc;
pub mod relay;
