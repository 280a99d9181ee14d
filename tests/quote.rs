//! The one quoting of input text in messages: control and invisible format characters made
//! visible, long text cut, so that nothing from a cell reaches the terminal raw.

use archcheck::quote::{escape, quote};

#[test]
fn plain_text_is_quoted_as_it_is() {
    assert_eq!(quote("inception (4c)"), "'inception (4c)'");
    assert_eq!(quote("28×28×576"), "'28×28×576'");
    assert_eq!(quote(""), "''");
}

#[test]
fn control_characters_and_escape_sequences_are_visible() {
    assert_eq!(quote("a\tb"), "'a\\tb'");
    assert_eq!(quote("a\nb\r"), "'a\\nb\\r'");
    assert_eq!(quote("\u{0}x"), "'\\0x'");
    // A colour sequence and a title-setting OSC sequence: ESC never reaches the terminal.
    assert_eq!(quote("\u{1b}[31mred\u{1b}[0m"), "'\\u{1b}[31mred\\u{1b}[0m'");
    assert_eq!(quote("\u{1b}]0;pwned\u{7}"), "'\\u{1b}]0;pwned\\u{7}'");
    // C1 controls: CSI as one code point, and DEL.
    assert_eq!(quote("\u{9b}2J\u{7f}"), "'\\u{9b}2J\\u{7f}'");
}

#[test]
fn bidi_overrides_and_invisible_format_characters_are_visible() {
    // Trojan-source style reordering, zero-width characters, the byte-order mark, a soft
    // hyphen, line and paragraph separators, a tag character.
    assert_eq!(quote("a\u{202e}b\u{2066}c\u{2069}"), "'a\\u{202e}b\\u{2066}c\\u{2069}'");
    assert_eq!(quote("x\u{200b}y\u{200d}z\u{feff}"), "'x\\u{200b}y\\u{200d}z\\u{feff}'");
    assert_eq!(quote("co\u{ad}nv"), "'co\\u{ad}nv'");
    assert_eq!(quote("a\u{2028}b\u{2029}"), "'a\\u{2028}b\\u{2029}'");
    assert_eq!(quote("\u{e0041}"), "'\\u{e0041}'");
    // Visible non-ASCII stays as it is.
    assert_eq!(quote("größe ×"), "'größe ×'");
}

#[test]
fn long_text_is_cut_with_its_length_named() {
    let big = "x".repeat(5 * 1024 * 1024);
    let q = quote(&big);
    assert!(q.len() < 200, "{} bytes", q.len());
    assert!(q.starts_with("'xxxxxxxx"), "{q}");
    assert!(q.ends_with("…' (5,242,880 characters)"), "{q}");
    // Exactly at the limit: whole.
    let at = "y".repeat(80);
    assert_eq!(quote(&at), format!("'{at}'"));
    let over = "y".repeat(81);
    assert!(quote(&over).ends_with("…' (81 characters)"));
    // Escapes count towards the cut, so the output stays short however the text is made.
    let escapes = "\u{1b}".repeat(100_000);
    assert!(quote(&escapes).len() < 1000);
}

#[test]
fn escape_alone_does_not_add_quotes() {
    assert_eq!(escape("row\u{1b}[2J"), "row\\u{1b}[2J");
    assert_eq!(escape("plain"), "plain");
}
