//! Source positions for every node of a YAML document.
//!
//! serde_yaml loads the typed spec but forgets where things were; yaml-rust2's event parser
//! gives a line and column for every scalar and collection. This module walks the events
//! once and records the position of each node under its path (`rows/4/#1×1`), so that a
//! diagnostic can point at the offending cell. It also bounds alias expansion, which serde
//! would otherwise perform blindly (a "billion laughs" file expands exponentially).

mod marks;
mod path;
mod text;
mod walk;

pub use marks::Marks;
pub use path::{Seg, key_of};
pub use text::{first_unprintable, plain_scalar_at, source_loc};
pub use walk::{YamlError, marks};

#[cfg(test)]
mod tests {
    use super::*;

    fn p(segs: &[Seg]) -> Vec<Seg> {
        segs.to_vec()
    }

    #[test]
    fn records_cells_by_path() {
        let m = marks("rows:\n  - type: conv\n    depth: 1\n").unwrap();
        let at = m.value(&p(&["rows".into(), 0usize.into(), "depth".into()]));
        assert_eq!((at.line, at.col), (3, 12));
        let key = m.key(&p(&["rows".into(), 0usize.into(), "depth".into()]));
        assert_eq!((key.line, key.col), (3, 5));
    }

    #[test]
    fn block_mapping_starts_at_its_first_key() {
        let m = marks("a:\n  - max_pool:\n      kernel: 3\n").unwrap();
        let at = m.value(&p(&["a".into(), 0usize.into()]));
        assert_eq!((at.line, at.col), (2, 5));
        let at = m.value(&p(&["a".into(), 0usize.into(), "max_pool".into()]));
        assert_eq!((at.line, at.col), (3, 7));
    }

    #[test]
    fn missing_path_falls_back_to_ancestor() {
        let m = marks("a:\n  b: 1\n").unwrap();
        let at = m.value(&p(&["a".into(), "b".into(), "c".into()]));
        assert_eq!(at.line, 2);
    }

    #[test]
    fn rejects_alias_bomb() {
        let mut s = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = i - 1;
            s.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        let e = marks(&s).unwrap_err();
        assert!(e.message.contains("expands to more than"), "{}", e.message);
    }

    #[test]
    fn rejects_duplicate_keys_and_syntax_errors() {
        let e = marks("a: 1\na: 2\n").unwrap_err();
        assert!(e.message.contains("duplicate key 'a'"));
        assert_eq!(e.loc.line, 2);
        let e = marks("a: [1, 2\n").unwrap_err();
        assert!(e.message.starts_with("invalid YAML"), "{}", e.message);
    }
}
