pub mod spec;
#[cfg(feature = "torch")]
pub mod torch;
