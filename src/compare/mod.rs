//! `compare`: a checkpoint (a user's implementation's weights) against the derived network.
//! Every tensor's name and shape, paired by name where the checkpoint names tensors as the
//! variant does and by structure where it does not; each difference a diagnostic at the
//! spec row that builds the tensor.

mod findings;
mod inventory;
mod matching;
mod weights;

pub use findings::{diagnostics, dims, place};
pub use inventory::{Expected, ModuleKind, Role, expected};
pub use matching::{Comparison, Difference, Pairing, pair};
pub use weights::{Found, MAX_HEADER_BYTES, WeightsError, read, read_safetensors};
