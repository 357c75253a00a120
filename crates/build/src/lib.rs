//! `hull build`: a Dockerfile parsed with docker's rules ([`parse`], [`lex`]), the build
//! context filtered by `.dockerignore` ([`ignore`], [`context`]), the stages a target needs
//! ([`stages`]), and the builder that runs them into hull's image store ([`builder`]): each
//! `RUN` a container through the engine's create/start/attach/remove ([`run`]), `COPY`/`ADD`
//! written straight into a layer ([`copy`]), the metadata instructions applied to the image
//! config ([`config`]), and a layer cache keyed as docker's classic builder keys it
//! ([`cache`]).

#![forbid(unsafe_code)]

pub mod builder;
pub mod cache;
pub mod cancel;
pub mod config;
pub mod context;
pub mod copy;
pub mod ignore;
pub mod index;
pub mod layer;
pub mod lex;
pub mod mount;
pub mod parse;
pub mod progress;
pub mod prune;
pub mod remote;
pub mod run;
pub mod stages;
pub mod view;

pub use builder::{build, Options};

/// A build failure: one line for the user and docker's exit code for it.
#[derive(Debug, thiserror::Error)]
#[error("{msg}")]
pub struct BuildError {
    pub msg: String,
    /// docker build's exit code: 1, or a failing `RUN`'s own code (as docker 20.10's
    /// classic builder exits).
    pub code: i32,
}

impl BuildError {
    pub fn msg(msg: String) -> BuildError {
        BuildError { msg, code: 1 }
    }
}

impl From<parse::ParseError> for BuildError {
    fn from(e: parse::ParseError) -> BuildError {
        BuildError::msg(e.to_string())
    }
}

impl From<hull_image::ImageError> for BuildError {
    fn from(e: hull_image::ImageError) -> BuildError {
        BuildError::msg(e.to_string())
    }
}
