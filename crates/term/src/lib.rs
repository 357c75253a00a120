//! The terminal side of hull's clients: attaching to a container's monitor from a terminal
//! (raw mode, window sizes, forwarded signals, ^C counting, docker's detach keys).

#![forbid(unsafe_code)]

pub mod attach;
