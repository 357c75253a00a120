//! docker's formats on the client side (the `hull` CLI, the API socket): Go templates for
//! `--format` (`template`) and the values of docker's flags (`parse`: sizes, signals, mounts,
//! ...), each parsed into the engine's model types. The engine never renders a template or
//! reads a flag.

#![forbid(unsafe_code)]

pub mod parse;
pub mod template;
