//! `hull build`: a Dockerfile parsed with docker's rules ([`parse`], [`lex`]), the build
//! context filtered by `.dockerignore` ([`ignore`], [`context`]), the stages a target needs
//! ([`stages`]), and the builder that runs them into hull's image store ([`builder`]) with a
//! layer cache keyed as docker's classic builder keys it ([`cache`]).

pub mod ignore;
pub mod lex;
pub mod parse;
