//! Python source text from arbitrary text: the one place where anything that comes from a
//! spec (its title, name, file name, variant, row, branch and layer names) or from a
//! caller enters generated code.
//!
//! What CPython 3.11's tokenizer does with characters (checked by `tests/emit_injection.rs`
//! against Python itself, for every code point):
//! - a comment ends at `\n` and at `\r` (alone or before `\n`); nothing else ends it, not
//!   `\x0b`, `\x0c`, `\x1c`–`\x1e`, `\x85`, U+2028 or U+2029, which `str.splitlines` does
//!   treat as line breaks;
//! - NUL anywhere makes the source unparseable;
//! - inside a string literal, `\n` and `\r` end a one-quote string, a backslash escapes the
//!   next character, and the quote ends it;
//! - a `coding[:=]NAME` comment on line 1 or 2 chooses how the whole file is decoded
//!   (`utf-7` turns `+AAo-` into a newline). The emitter therefore writes a fixed coding line
//!   first ([`CODING_LINE`]), after which no comment can change the decoding.
//!
//! Comments are for people, so they keep printable text as it is and show every control
//! character, line or paragraph separator and invisible format character (bidirectional
//! overrides included) as a Python-style escape (`\r`, `\x00`, `\u2028`, `\u202e`).
//! String literals are pure ASCII. Identifiers are ASCII letters, digits and `_`.

use std::fmt::Write as _;

/// The first line of every generated file: it fixes the encoding, so that a title that
/// reads `coding: utf-7` on line 1 or 2 cannot re-decode the file.
pub const CODING_LINE: &str = "# -*- coding: utf-8 -*-\n";

/// Unicode format characters (general category Cf) and the line and paragraph separators
/// (Zl, Zp), as ranges: invisible, or they reorder or break the text around them
/// (U+202E turns the rest of a line around). Category Cf of Unicode 14 (Python 3.11's
/// `unicodedata`), plus the Egyptian hieroglyph format controls Unicode 15 added.
const FORMAT_AND_SEPARATORS: &[(u32, u32)] = &[
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x2028, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
];

/// Whether a comment shows `c` as an escape: control characters (C0, DEL, C1, tab
/// included), line and paragraph separators and format characters.
pub fn hidden_in_comment(c: char) -> bool {
    let cp = c as u32;
    c.is_control() || FORMAT_AND_SEPARATORS.iter().any(|&(lo, hi)| (lo..=hi).contains(&cp))
}

/// `c` as a Python escape: `\t`, `\n`, `\r`, `\xNN`, `\uNNNN` or `\UNNNNNNNN`.
fn push_escape(out: &mut String, c: char) {
    match c {
        '\t' => out.push_str("\\t"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        _ => {
            let cp = c as u32;
            let _ = match cp {
                0..=0xFF => write!(out, "\\x{cp:02x}"),
                0x100..=0xFFFF => write!(out, "\\u{cp:04x}"),
                _ => write!(out, "\\U{cp:08x}"),
            };
        }
    }
}

/// The text of one comment line: `text` with every line break and hidden character shown
/// as an escape, so the comment cannot end early. Without the `#`.
pub fn comment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if hidden_in_comment(c) {
            push_escape(&mut out, c);
        } else {
            out.push(c);
        }
    }
    out
}

/// `text` as `#` comment lines, each indented by `indent`: one per line of the text (`\n`
/// or `\r\n` ends one), any other break shown as an escape by [`comment`].
pub fn comment_lines(text: &str, indent: &str) -> String {
    let mut out = String::new();
    // A final newline ends the last line rather than starting an empty one.
    let text = text.strip_suffix('\n').unwrap_or(text);
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() && !line.chars().any(hidden_in_comment) {
            let _ = writeln!(out, "{indent}#");
        } else {
            let _ = writeln!(out, "{indent}# {}", comment(line));
        }
    }
    out
}

/// The body of a string literal in either quote: ASCII only; `\` and both quotes escaped,
/// every character outside printable ASCII as its escape.
fn push_literal_body(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\'' => out.push_str("\\'"),
            ' '..='~' => out.push(c),
            _ => push_escape(out, c),
        }
    }
}

/// A Python string literal, `"..."`, whose value is `text`; pure ASCII.
pub fn string_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    push_literal_body(&mut out, text);
    out.push('"');
    out
}

/// Text to put between `"""` and `"""` (a docstring): what [`string_literal`] puts between
/// its quotes, so no quote, backslash or line break of the text survives. Pure ASCII.
pub fn docstring_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_literal_body(&mut out, text);
    out
}

/// Python 3.11's keywords and soft keywords (`keyword.kwlist`, `keyword.softkwlist`) and
/// the soft keyword `type` of 3.12.
pub const KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
    "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
    "not", "or", "pass", "raise", "return", "try", "while", "with", "yield", "_", "case", "match", "type",
];

/// Python 3.11's builtins (`dir(builtins)` without the dunders): a class of that name would
/// hide the builtin from the generated code (`super`, `print`, `sum`, ...).
pub const BUILTINS: &[&str] = &[
    "ArithmeticError",
    "AssertionError",
    "AttributeError",
    "BaseException",
    "BaseExceptionGroup",
    "BlockingIOError",
    "BrokenPipeError",
    "BufferError",
    "BytesWarning",
    "ChildProcessError",
    "ConnectionAbortedError",
    "ConnectionError",
    "ConnectionRefusedError",
    "ConnectionResetError",
    "DeprecationWarning",
    "EOFError",
    "Ellipsis",
    "EncodingWarning",
    "EnvironmentError",
    "Exception",
    "ExceptionGroup",
    "FileExistsError",
    "FileNotFoundError",
    "FloatingPointError",
    "FutureWarning",
    "GeneratorExit",
    "IOError",
    "ImportError",
    "ImportWarning",
    "IndentationError",
    "IndexError",
    "InterruptedError",
    "IsADirectoryError",
    "KeyError",
    "KeyboardInterrupt",
    "LookupError",
    "MemoryError",
    "ModuleNotFoundError",
    "NameError",
    "NotADirectoryError",
    "NotImplemented",
    "NotImplementedError",
    "OSError",
    "OverflowError",
    "PendingDeprecationWarning",
    "PermissionError",
    "ProcessLookupError",
    "RecursionError",
    "ReferenceError",
    "ResourceWarning",
    "RuntimeError",
    "RuntimeWarning",
    "StopAsyncIteration",
    "StopIteration",
    "SyntaxError",
    "SyntaxWarning",
    "SystemError",
    "SystemExit",
    "TabError",
    "TimeoutError",
    "TypeError",
    "UnboundLocalError",
    "UnicodeDecodeError",
    "UnicodeEncodeError",
    "UnicodeError",
    "UnicodeTranslateError",
    "UnicodeWarning",
    "UserWarning",
    "ValueError",
    "Warning",
    "ZeroDivisionError",
    "abs",
    "aiter",
    "all",
    "anext",
    "any",
    "ascii",
    "bin",
    "bool",
    "breakpoint",
    "bytearray",
    "bytes",
    "callable",
    "chr",
    "classmethod",
    "compile",
    "complex",
    "copyright",
    "credits",
    "delattr",
    "dict",
    "dir",
    "divmod",
    "enumerate",
    "eval",
    "exec",
    "exit",
    "filter",
    "float",
    "format",
    "frozenset",
    "getattr",
    "globals",
    "hasattr",
    "hash",
    "help",
    "hex",
    "id",
    "input",
    "int",
    "isinstance",
    "issubclass",
    "iter",
    "len",
    "license",
    "list",
    "locals",
    "map",
    "max",
    "memoryview",
    "min",
    "next",
    "object",
    "oct",
    "open",
    "ord",
    "pow",
    "print",
    "property",
    "quit",
    "range",
    "repr",
    "reversed",
    "round",
    "set",
    "setattr",
    "slice",
    "sorted",
    "staticmethod",
    "str",
    "sum",
    "super",
    "tuple",
    "vars",
    "zip",
];

/// An identifier that is not a Python keyword, builtin or dunder name, nor one of
/// `reserved` (the names the generated module defines itself): `text` with every character
/// other than an ASCII letter, digit or `_` made `_`, a `_` in front where it starts with a
/// digit or is taken, a dunder's trailing underscores cut to one. `fallback` (itself an
/// identifier) stands for empty text.
pub fn identifier(text: &str, fallback: &str, reserved: &[&str]) -> String {
    debug_assert!(
        fallback.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !fallback.starts_with(|c: char| c.is_ascii_digit())
            && !fallback.is_empty(),
        "fallback {fallback:?} is not an identifier"
    );
    let mut out: String = text
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' })
        .collect();
    if out.is_empty() {
        out = fallback.to_string();
    }
    let taken = |s: &str| KEYWORDS.contains(&s) || BUILTINS.contains(&s) || reserved.contains(&s);
    // A dunder (`__name__`, `__builtins__`) would replace the module's own; a `_` in front
    // keeps it one, so it loses its trailing underscores but one instead.
    let dunder = |s: &str| s.len() >= 4 && s.starts_with("__") && s.ends_with("__");
    loop {
        if dunder(&out) {
            out = format!("{}_", out.trim_end_matches('_'));
        } else if out.starts_with(|c: char| c.is_ascii_digit()) || taken(&out) {
            out.insert(0, '_');
        } else {
            break;
        }
    }
    out
}

/// Whether `s` is a name [`identifier`] could return: ASCII letters, digits and `_`, not
/// empty, not starting with a digit.
pub fn is_identifier_text(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every character class the tokenizer or a reader could trip on, each with the escape
    /// a comment must show.
    const HIDDEN: &[(char, &str)] = &[
        ('\0', "\\x00"),
        ('\t', "\\t"),
        ('\n', "\\n"),
        ('\x0b', "\\x0b"),
        ('\x0c', "\\x0c"),
        ('\r', "\\r"),
        ('\x1b', "\\x1b"),
        ('\x1c', "\\x1c"),
        ('\x1d', "\\x1d"),
        ('\x1e', "\\x1e"),
        ('\x1f', "\\x1f"),
        ('\x7f', "\\x7f"),
        ('\u{85}', "\\x85"),
        ('\u{9f}', "\\x9f"),
        ('\u{ad}', "\\xad"),
        ('\u{200b}', "\\u200b"),
        ('\u{200e}', "\\u200e"),
        ('\u{2028}', "\\u2028"),
        ('\u{2029}', "\\u2029"),
        ('\u{202a}', "\\u202a"),
        ('\u{202e}', "\\u202e"),
        ('\u{2066}', "\\u2066"),
        ('\u{2069}', "\\u2069"),
        ('\u{feff}', "\\ufeff"),
        ('\u{e0041}', "\\U000e0041"),
    ];

    /// Printable text that comments keep as written.
    const SHOWN: &[char] = &[
        ' ', 'a', 'Z', '0', '#', '"', '\'', '\\', '×', 'é', 'ß', '中', '\u{a0}', '\u{3000}', '😀', '\u{fffd}',
    ];

    #[test]
    fn comments_escape_every_break_and_hidden_character() {
        for (c, escape) in HIDDEN {
            let text = format!("a{c}raise SystemExit(99)");
            let got = comment(&text);
            assert_eq!(got, format!("a{escape}raise SystemExit(99)"), "{c:?}");
            assert!(!got.chars().any(hidden_in_comment), "{got:?}");
        }
        for c in SHOWN {
            assert!(!hidden_in_comment(*c), "{c:?}");
            assert_eq!(comment(&format!("a{c}b")), format!("a{c}b"));
        }
    }

    #[test]
    fn comment_lines_break_only_at_newlines() {
        assert_eq!(comment_lines("a\nb", ""), "# a\n# b\n");
        assert_eq!(comment_lines("a\r\nb", "  "), "  # a\n  # b\n");
        assert_eq!(comment_lines("a\rb", ""), "# a\\rb\n");
        assert_eq!(comment_lines("a\u{2028}b\u{85}c", ""), "# a\\u2028b\\x85c\n");
        assert_eq!(comment_lines("a\n\nb", ""), "# a\n#\n# b\n");
        assert_eq!(comment_lines("a\n", ""), "# a\n");
        assert_eq!(comment_lines("\r", ""), "#\n");
        assert_eq!(comment_lines("\x0c", ""), "# \\x0c\n");
        // Every produced line is a comment: `#` first, nothing Python ends a line at inside.
        for text in ["x\r\rraise SystemExit(99)", "\n\r\n\r", "\\\n\\", "a\u{2029}\u{202e}b"] {
            for line in comment_lines(text, "    ").split_inclusive('\n') {
                let body = line.strip_suffix('\n').expect("each line ends in a newline");
                assert!(body.trim_start().starts_with('#'), "{line:?}");
                assert!(!body.contains(['\r', '\n', '\0']), "{line:?}");
            }
        }
    }

    #[test]
    fn string_literals_are_ascii_and_closed() {
        assert_eq!(string_literal("conv"), "\"conv\"");
        assert_eq!(string_literal("a\"b"), "\"a\\\"b\"");
        assert_eq!(string_literal("a'b"), "\"a\\'b\"");
        assert_eq!(string_literal("a\\"), "\"a\\\\\"");
        assert_eq!(string_literal("\r\n\t\0"), "\"\\r\\n\\t\\x00\"");
        assert_eq!(string_literal("×\u{2028}😀"), "\"\\xd7\\u2028\\U0001f600\"");
        for (c, _) in HIDDEN {
            let lit = string_literal(&format!("{c}\"\"\"'''\\"));
            assert!(
                lit.is_ascii() && lit.bytes().all(|b| (b' '..=b'~').contains(&b)),
                "{lit:?}"
            );
            // Only the two outer quotes are unescaped.
            let inner = &lit[1..lit.len() - 1];
            let mut escaped = false;
            for c in inner.chars() {
                assert!(escaped || c != '"', "{lit:?}");
                escaped = !escaped && c == '\\';
            }
            assert!(!escaped, "a dangling backslash in {lit:?}");
        }
        assert_eq!(docstring_text("a \"\"\" title\\"), "a \\\"\\\"\\\" title\\\\");
    }

    #[test]
    fn identifiers_accept_ascii_words_and_reject_the_rest() {
        assert_eq!(identifier("GooglenetBn", "Net", &[]), "GooglenetBn");
        assert_eq!(identifier("a_1", "Net", &[]), "a_1");
        assert_eq!(identifier("", "Net", &[]), "Net");
        assert_eq!(identifier("3d", "Net", &[]), "_3d");
        assert_eq!(identifier("class", "Net", &[]), "_class");
        assert_eq!(identifier("match", "Net", &[]), "_match");
        assert_eq!(identifier("_", "Net", &[]), "__");
        assert_eq!(identifier("super", "Net", &[]), "_super");
        assert_eq!(identifier("__import__", "Net", &[]), "__import_");
        assert_eq!(identifier("__name__", "Net", &[]), "__name_");
        assert_eq!(identifier("____", "Net", &[]), "__");
        assert_eq!(identifier("F", "Net", &["F", "nn"]), "_F");
        assert_eq!(identifier("a-b c", "Net", &[]), "a_b_c");
        assert_eq!(identifier("naïve", "Net", &[]), "na_ve");
        assert_eq!(identifier("x\r\n=1", "Net", &[]), "x___1");
        assert_eq!(identifier("\u{202e}", "Net", &[]), "__");
        for (c, _) in HIDDEN {
            let id = identifier(&format!("{c}a{c}"), "Net", &[]);
            assert!(is_identifier_text(&id), "{id:?}");
        }
        assert!(!is_identifier_text("1a") && !is_identifier_text("") && !is_identifier_text("a-b"));
    }
}
