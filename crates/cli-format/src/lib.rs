//! docker's formats on the client side (the `hull` CLI, the API socket): Go templates for
//! `--format` (`template`), the values of docker's flags (`parse`: sizes, signals, mounts,
//! ...), each parsed into the engine's model types, and times and sizes as the docker CLI
//! prints them (`human`: "2 hours ago", "4.26MB"). The engine never renders a template,
//! reads a flag or prints a size.

#![forbid(unsafe_code)]

pub mod human;
pub mod parse;
pub mod template;
