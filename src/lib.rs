//! archcheck: a paper's architecture table, transcribed as YAML, derived symbolically and
//! checked cell by cell.
//!
//! The pipeline: [`spec`] (the YAML as written, with source locations) → [`ir`] (resolved
//! graph of primitive ops, each with its [`shape`]) → [`count`] (parameters, MACs, memory)
//! → [`check`] (diagnostics) → [`report`] (table, JSON, markdown).

pub mod ir;
pub mod shape;
pub mod spec;
