pub mod data;
pub mod metrics;
pub mod spec;
