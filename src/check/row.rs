//! A printed row's figures as every report shows them: its cost and depth, and its status
//! from the findings (derive fills it; the checks read the cost and depth).

use super::Compared;
use crate::count::NodeCost;

/// A printed row's derived figures, computed once.
#[derive(Debug, Clone, Default)]
pub struct RowFigures {
    /// Parameters, MACs and memory of the row's layers (inserted layers excluded).
    pub cost: NodeCost,
    /// Weight layers on the deepest path from the row's input to its output.
    pub depth: i64,
    pub status: RowStatus,
}

/// "ok", "ok (corrected)", the codes of the row's errors and warnings, or "—" for a row
/// with no printed cell to compare; "ok: channels, params" where some printed cells are
/// not comparable (another input size).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RowStatus {
    pub codes: Vec<&'static str>,
    /// A variant corrects one of the row's printed cells.
    pub corrected: bool,
    /// The printed cells the checks compared, and those they could not.
    pub compared: Compared,
}

impl std::fmt::Display for RowStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.codes.is_empty() {
            return f.write_str(&self.codes.join(" "));
        }
        if self.compared.compared.is_empty() {
            return f.write_str("—");
        }
        f.write_str(if self.corrected { "ok (corrected)" } else { "ok" })?;
        if !self.compared.not_compared.is_empty() {
            write!(f, ": {}", self.compared.compared.join(", "))?;
        }
        Ok(())
    }
}
