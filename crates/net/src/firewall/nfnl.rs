//! Map elements added and deleted over netlink, in one nf_tables batch, by hull's own
//! process. Publishing or unpublishing a port only changes elements of the `ports*` maps;
//! starting an `nft` process for that cost more than everything else hull does to remove a
//! container with a published port (about a sixth of the CPU of `rm -f` of 1,000 such
//! containers, most of it nft's dynamic loading). The whole table is still written by nft
//! (nft.rs), from JSON.
//!
//! Written by hand: no kept crate writes map elements with data (rustables and nftnl-rs add
//! keys to sets only), and the two messages used here have a fixed layout.
//!
//! Layout of a key: the values of a concatenation each fill whole 32-bit registers, in
//! network order, zero-padded (`ipv4_addr . inet_proto . inet_service`: 4 + 4 + 4 bytes);
//! a map's data is the value alone (an address of 4 or 16 bytes, a port of 2).

use std::path::Path;

use netlink_sys::{protocols::NETLINK_NETFILTER, Socket, SocketAddr};

use super::FirewallError;

const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_CREATE: u16 = 0x400;
const NLMSG_ERROR: u16 = 0x2;
const NLA_F_NESTED: u16 = 0x8000;

const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;
const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFT_MSG_NEWSETELEM: u16 = 12;
const NFT_MSG_DELSETELEM: u16 = 14;
const NFPROTO_INET: u8 = 1;

const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
const NFTA_SET_ELEM_LIST_SET: u16 = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_SET_ELEM_KEY: u16 = 1;
const NFTA_SET_ELEM_DATA: u16 = 2;
const NFTA_DATA_VALUE: u16 = 1;

/// One change of a map's elements: `data` is `Some` for an addition, `None` for a deletion
/// (which names keys only).
pub struct Change {
    pub map: String,
    pub elems: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

/// A value of a concatenated key: a whole number of 32-bit registers, zero-padded.
pub fn reg(bytes: &[u8]) -> Vec<u8> {
    let mut v = bytes.to_vec();
    v.resize(bytes.len().div_ceil(4) * 4, 0);
    v
}

fn attr(buf: &mut Vec<u8>, ty: u16, payload: &[u8]) {
    let len = 4 + payload.len();
    buf.extend_from_slice(&(len as u16).to_ne_bytes());
    buf.extend_from_slice(&ty.to_ne_bytes());
    buf.extend_from_slice(payload);
    buf.resize(buf.len().div_ceil(4) * 4, 0);
}

fn nested(buf: &mut Vec<u8>, ty: u16, f: impl FnOnce(&mut Vec<u8>)) {
    let mut inner = Vec::new();
    f(&mut inner);
    attr(buf, ty | NLA_F_NESTED, &inner);
}

fn cstr(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

/// One netlink message: header, nfgenmsg (family, version 0, resource id) and attributes.
fn message(
    out: &mut Vec<u8>,
    ty: u16,
    flags: u16,
    seq: u32,
    family: u8,
    res_id: u16,
    attrs: &[u8],
) {
    let len = 16 + 4 + attrs.len();
    out.extend_from_slice(&(len as u32).to_ne_bytes());
    out.extend_from_slice(&ty.to_ne_bytes());
    out.extend_from_slice(&flags.to_ne_bytes());
    out.extend_from_slice(&seq.to_ne_bytes());
    out.extend_from_slice(&0u32.to_ne_bytes());
    out.push(family);
    out.push(0);
    out.extend_from_slice(&res_id.to_be_bytes());
    out.extend_from_slice(attrs);
}

/// The batch for `changes` to maps of `table` (family inet), one message per change,
/// sequence numbers from `seq`. Returns the bytes and the sequence numbers that are acked.
pub fn batch(table: &str, changes: &[Change], seq: u32) -> (Vec<u8>, Vec<u32>) {
    let mut out = Vec::new();
    let mut acked = Vec::new();
    message(
        &mut out,
        NFNL_MSG_BATCH_BEGIN,
        NLM_F_REQUEST,
        seq,
        0,
        NFNL_SUBSYS_NFTABLES,
        &[],
    );
    let mut n = seq;
    for c in changes.iter().filter(|c| !c.elems.is_empty()) {
        n += 1;
        let add = c.elems[0].1.is_some();
        let mut attrs = Vec::new();
        attr(&mut attrs, NFTA_SET_ELEM_LIST_TABLE, &cstr(table));
        attr(&mut attrs, NFTA_SET_ELEM_LIST_SET, &cstr(&c.map));
        nested(&mut attrs, NFTA_SET_ELEM_LIST_ELEMENTS, |l| {
            for (key, data) in &c.elems {
                nested(l, NFTA_LIST_ELEM, |e| {
                    nested(e, NFTA_SET_ELEM_KEY, |k| attr(k, NFTA_DATA_VALUE, key));
                    if let Some(d) = data {
                        nested(e, NFTA_SET_ELEM_DATA, |k| attr(k, NFTA_DATA_VALUE, d));
                    }
                });
            }
        });
        let (ty, flags) = if add {
            (NFT_MSG_NEWSETELEM, NLM_F_CREATE)
        } else {
            (NFT_MSG_DELSETELEM, 0)
        };
        message(
            &mut out,
            (NFNL_SUBSYS_NFTABLES << 8) | ty,
            NLM_F_REQUEST | NLM_F_ACK | flags,
            n,
            NFPROTO_INET,
            0,
            &attrs,
        );
        acked.push(n);
    }
    n += 1;
    message(
        &mut out,
        NFNL_MSG_BATCH_END,
        NLM_F_REQUEST,
        n,
        0,
        NFNL_SUBSYS_NFTABLES,
        &[],
    );
    (out, acked)
}

fn err(what: &str, e: impl std::fmt::Display) -> FirewallError {
    FirewallError::Nft(format!("nf_tables netlink: {what}: {e}"))
}

fn socket() -> Result<Socket, FirewallError> {
    let mut s = Socket::new(NETLINK_NETFILTER).map_err(|e| err("socket", e))?;
    s.bind_auto().map_err(|e| err("bind", e))?;
    s.connect(&SocketAddr::new(0, 0))
        .map_err(|e| err("connect", e))?;
    Ok(s)
}

/// Applies `changes` to maps of `table` in one transaction, in the caller's network
/// namespace or in the one at `netns`: all of them or none (a missing table, map or element
/// fails the whole batch with the kernel's errno).
pub fn apply(table: &str, changes: &[Change], netns: Option<&Path>) -> Result<(), FirewallError> {
    if changes.iter().all(|c| c.elems.is_empty()) {
        return Ok(());
    }
    let sock = match netns {
        None => socket()?,
        Some(p) => crate::netns::run_in(p, socket).map_err(|e| err("enter the namespace", e))??,
    };
    // A per-process sequence start is enough: the socket is this call's alone.
    let seq = std::process::id().wrapping_mul(65536);
    let (msg, acked) = batch(table, changes, seq);
    sock.send(&msg, 0).map_err(|e| err("send", e))?;
    let mut pending = acked.len();
    let mut failure = None;
    while pending > 0 {
        let (data, _) = sock.recv_from_full().map_err(|e| err("receive", e))?;
        let mut off = 0;
        while off + 16 <= data.len() {
            let len = u32::from_ne_bytes(data[off..off + 4].try_into().unwrap()) as usize;
            let ty = u16::from_ne_bytes(data[off + 4..off + 6].try_into().unwrap());
            let seqn = u32::from_ne_bytes(data[off + 8..off + 12].try_into().unwrap());
            if len < 16 || off + len > data.len() {
                break;
            }
            if ty == NLMSG_ERROR && len >= 20 {
                let code = i32::from_ne_bytes(data[off + 16..off + 20].try_into().unwrap());
                if code != 0 && failure.is_none() {
                    let which = changes
                        .iter()
                        .filter(|c| !c.elems.is_empty())
                        .zip(&acked)
                        .find(|(_, s)| **s == seqn)
                        .map_or("batch".to_string(), |(c, _)| c.map.clone());
                    failure = Some(err(&which, std::io::Error::from_raw_os_error(-code)));
                }
                if acked.contains(&seqn) {
                    pending -= 1;
                } else if code != 0 {
                    // The batch itself was refused (no nf_tables): no acks follow.
                    pending = 0;
                }
            }
            off += len.div_ceil(4) * 4;
        }
    }
    failure.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_are_padded_to_32_bits() {
        assert_eq!(reg(&[6]), vec![6, 0, 0, 0]);
        assert_eq!(reg(&8080u16.to_be_bytes()), vec![0x1f, 0x90, 0, 0]);
        assert_eq!(reg(&[127, 0, 0, 1]), vec![127, 0, 0, 1]);
        assert_eq!(reg(&[0; 16]).len(), 16);
    }

    /// The bytes of one addition as the kernel reads them: begin, one NEWSETELEM with the
    /// table, the map and an element with its key and data, end.
    #[test]
    fn a_batch_of_one_addition() {
        let key = [reg(&[6]), reg(&80u16.to_be_bytes())].concat();
        let (b, acked) = batch(
            "hull",
            &[Change {
                map: "ports_any_port".into(),
                elems: vec![(key.clone(), Some(8080u16.to_be_bytes().to_vec()))],
            }],
            100,
        );
        assert_eq!(acked, vec![101]);
        // begin: 20 bytes, type 0x10, resource id nf_tables in network order
        assert_eq!(u32::from_ne_bytes(b[0..4].try_into().unwrap()), 20);
        assert_eq!(u16::from_ne_bytes(b[4..6].try_into().unwrap()), 0x10);
        assert_eq!(&b[18..20], &[0, 10]);
        let m = &b[20..];
        let len = u32::from_ne_bytes(m[0..4].try_into().unwrap()) as usize;
        assert_eq!(
            u16::from_ne_bytes(m[4..6].try_into().unwrap()),
            (10 << 8) | 12
        );
        assert_eq!(m[16], NFPROTO_INET);
        let body = &m[20..len];
        // table "hull\0" (len 9, padded to 12), set name, then the nested element list
        assert_eq!(&body[0..4], &[9, 0, 1, 0]);
        assert_eq!(&body[4..9], b"hull\0");
        let tail = &body[body.len() - 8..];
        // the data value last: 2 bytes of port, padded
        assert_eq!(&tail[0..4], &[6, 0, 1, 0]);
        assert_eq!(&tail[4..6], &8080u16.to_be_bytes());
        let end = &b[20 + len..];
        assert_eq!(end.len(), 20);
        assert_eq!(u16::from_ne_bytes(end[4..6].try_into().unwrap()), 0x11);
    }
}
