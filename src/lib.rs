//! archcheck: a paper's architecture table, transcribed as YAML, derived symbolically and
//! checked cell by cell.
//!
//! The pipeline: [`spec`] (the YAML as written, with source locations) → [`ir`] (resolved
//! graph of primitive ops, each with its [`shape`]) → [`count`] (parameters, MACs, memory)
//! → [`check`] (diagnostics) → [`report`] (table, JSON, markdown). [`data`] and [`metrics`]
//! serve training, which lives behind the `torch` feature.

pub mod check;
pub mod compare;
pub mod count;
pub mod data;
pub mod derive;
pub mod diag;
pub mod diagram;
pub mod emit;
pub mod fit;
pub mod fmt;
pub mod ir;
pub mod metrics;
pub mod onnx;
pub mod project;
pub mod quote;
pub mod report;
pub mod shape;
pub mod source;
pub mod spec;
pub mod suggest;
#[cfg(feature = "torch")]
pub mod torch;
