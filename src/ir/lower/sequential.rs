//! `sequential: true` on a variant row: the row's layers are numbered as `torch.nn.Sequential`
//! numbers its children, so that a variant can name its parameters as torchvision's VGG
//! (`features.0`, `features.3`) or MobileNetV2 (`features.1` … `features.17`) do.
//!
//! Each distinct first path component under the row's path (a conv, its batch norm, its
//! activation, a pool; or a whole named block or repeat instance) takes the next index of
//! that path, counting on from earlier rows under the same path. Merges (concat, add, mul)
//! are functions in PyTorch, not modules, and take no index: a block's residual sum stays
//! inside the block.

use std::collections::HashMap;

/// The numbering of every sequential path, and the row being numbered now.
#[derive(Debug, Default)]
pub(super) struct Numbering {
    /// Per path, the next free index (across rows).
    next: HashMap<String, usize>,
    /// The row being lowered, where it is numbered.
    row: Option<RowNumbering>,
}

#[derive(Debug)]
struct RowNumbering {
    path: String,
    /// Components seen in the current item of the row, with the index each was given.
    given: HashMap<String, usize>,
}

impl Numbering {
    /// Starts numbering a row's layers under `path` (until [`Numbering::end_row`]).
    pub(super) fn start_row(&mut self, path: &str) {
        self.row = Some(RowNumbering {
            path: path.to_string(),
            given: HashMap::new(),
        });
    }

    pub(super) fn end_row(&mut self) {
        self.row = None;
    }

    /// A new item of a `layers` cell: its components are numbered afresh (two items' `conv`
    /// are two modules).
    pub(super) fn start_item(&mut self) {
        if let Some(r) = &mut self.row {
            r.given.clear();
        }
    }

    /// The name a node gets: `name` itself outside a numbered row, for a node not under the
    /// row's path, or for a merge directly under it; else the path, the index of its first component,
    /// then the rest (`features.conv_relu` → `features.1`, `features.0.conv.0` → `features.5.conv.0`).
    pub(super) fn rename(&mut self, name: String, is_merge: bool) -> String {
        let Some(r) = &mut self.row else { return name };
        let rest = if r.path.is_empty() {
            name.as_str()
        } else {
            match name.strip_prefix(r.path.as_str()).and_then(|s| s.strip_prefix('.')) {
                Some(rest) => rest,
                None => return name,
            }
        };
        let (first, tail) = match rest.split_once('.') {
            Some((f, t)) => (f, Some(t)),
            None => (rest, None),
        };
        let index = match r.given.get(first) {
            Some(&i) => i,
            // A merge takes no index of its own; inside a numbered block it follows the block.
            None if is_merge => return name,
            None => {
                let next = self.next.entry(r.path.clone()).or_insert(0);
                let i = *next;
                *next += 1;
                r.given.insert(first.to_string(), i);
                i
            }
        };
        let mut out = if r.path.is_empty() {
            index.to_string()
        } else {
            format!("{}.{index}", r.path)
        };
        if let Some(t) = tail {
            out.push('.');
            out.push_str(t);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Numbering;

    #[test]
    fn numbers_components_in_order_across_rows_and_items() {
        let mut n = Numbering::default();
        n.start_row("features");
        let names: Vec<String> = ["features.conv", "features.conv_relu", "features.conv.extra"]
            .iter()
            .map(|s| n.rename(s.to_string(), false))
            .collect();
        assert_eq!(names, ["features.0", "features.1", "features.0.extra"]);
        n.start_item();
        assert_eq!(n.rename("features.conv".into(), false), "features.2");
        assert_eq!(n.rename("features.add".into(), true), "features.add");
        assert_eq!(n.rename("classifier.fc".into(), false), "classifier.fc");
        n.end_row();
        assert_eq!(n.rename("features.pool".into(), false), "features.pool");
        n.start_row("features");
        assert_eq!(n.rename("features.0.conv.0".into(), false), "features.3.conv.0");
        assert_eq!(n.rename("features.1.conv.0".into(), false), "features.4.conv.0");
        assert_eq!(n.rename("features.0.conv.1".into(), false), "features.3.conv.1");
        assert_eq!(n.rename("features.0.add".into(), true), "features.3.add");
        n.start_row("");
        assert_eq!(n.rename("stem".into(), false), "0");
    }
}
