//! Nothing from the input escapes into the code of an emitted PyTorch module.
//!
//! Hostile titles, spec names, variant names, row/branch/layer names, aux head names, class
//! names, type cells and spec file names — every line break Python or Unicode knows, NUL
//! and other control characters, triple quotes, backslashes at line ends, `coding:` lines,
//! bidirectional overrides — each carrying a payload that writes a sentinel file and exits
//! 99 if it ever runs. Each module is checked by CPython itself: it parses, its syntax tree
//! is that of the same module emitted from harmless text (string constants and the class
//! name aside, so no statement was injected), it has no hidden character anywhere, it
//! imports, builds, runs a forward pass and its `__main__` block, its docstring reads the
//! title back exactly, and the sentinel never appears.
//!
//! Python: tests/common/python.rs. These tests fail, naming what is missing, when there is
//! none (a core-only run skips them by name).

use std::path::{Path, PathBuf};
use std::process::Command;

use archcheck::emit::python::{self, BUILTINS, KEYWORDS};
use archcheck::emit::{class_name, pytorch_module};
use archcheck::ir::{Graph, Place};
use serde_json::{Value, json};

mod common;

/// Runs `script` with `args` in `cwd`; its last stdout line is JSON. `None` in a core-only
/// run (the skip is recorded by name); a full run without a Python with torch fails.
fn run_python(script: &str, args: &[&Path], cwd: &Path) -> Option<Value> {
    let py = common::python::test_python_or_skip()?;
    let stdout = common::python::run_script(&py, script, args, Some(cwd));
    Some(common::python::last_json_line(&stdout))
}

/// If any of these ever runs, the sentinel file appears (in the harness's directory) and
/// the import stops with status 99.
const PAYLOADS: &[&str] = &[
    "open('PWNED','w');raise SystemExit(99)#",
    "\"\"\";open('PWNED','w');raise SystemExit(99);\"\"\"",
    "''';open('PWNED','w');raise SystemExit(99);'''",
    "\");open('PWNED','w');raise SystemExit(99);(\"",
];

/// What could end a comment, a string or a line, or change how the file is read.
const BREAKERS: &[&str] = &[
    "\r",
    "\r\n",
    "\n",
    "\n\r",
    "\x00",
    "\x0b",
    "\x0c",
    "\x1c",
    "\x1d",
    "\x1e",
    "\u{85}",
    "\u{2028}",
    "\u{2029}",
    "\"\"\"",
    "'''",
    "\"",
    "'",
    "\\",
    "\\\n",
    "\\\r",
    "\t",
    "\u{202e}",
    "\u{2066}\u{2069}",
    "\u{feff}",
    "\x1b[2K",
    "\n# coding: utf-7\n+AAo-",
    "coding: utf-7 +AAo-",
    "\r# -*- coding: unicode_escape -*-\r\\n",
    "coding=unicode_escape \\n",
];

/// Hostile texts: each breaker before each payload, and some combinations.
fn hostile_texts() -> Vec<String> {
    let mut out = Vec::new();
    for b in BREAKERS {
        for p in PAYLOADS {
            out.push(format!("x{b}{p}"));
        }
    }
    out.extend(combined_texts());
    out
}

/// Every breaker before one payload (in turn), and the combinations: fewer texts for the
/// tests that start a process per text.
fn short_hostile_texts() -> Vec<String> {
    let mut out: Vec<String> = BREAKERS
        .iter()
        .zip(PAYLOADS.iter().cycle())
        .map(|(b, p)| format!("x{b}{p}"))
        .collect();
    out.extend(combined_texts());
    out
}

fn combined_texts() -> Vec<String> {
    vec![
        BREAKERS.concat(),
        format!("{}{}", BREAKERS.join(PAYLOADS[0]), PAYLOADS[1]),
        format!("\\{}\\", PAYLOADS[1]),
    ]
}

/// A small net with every kind of text the emitter writes: a row of its own type, a row
/// with a labelled type cell and branches, an aux head, a head; SAME padding (a helper).
fn spec_yaml(name: &str, title: &str, label: &str) -> String {
    format!(
        r#"archcheck: 1
name: {name}
title: {title}
input: {{channels: 3, size: 16}}
classes: 4
columns:
  type: type
  out: count
conventions:
  padding: same
  batch_norm: true
templates:
  conv:
    layers:
      - conv: {{out: "{{out}}", kernel: 3, stride: 2}}
  mix:
    branches:
      a:
        layers:
          - conv: {{out: 4, kernel: 1}}
      b:
        layers:
          - max_pool: {{kernel: 3, stride: 1}}
rows:
  - {{type: conv, out: 8}}
  - {{type: {label}}}
aux_heads:
  side:
    after: conv
    layers:
      - global_avg_pool
      - linear: {{name: fc, out: "{{classes}}"}}
head:
  - global_avg_pool
  - linear: {{name: fc, out: "{{classes}}"}}
variants:
  v2:
    description: the same net
"#,
        name = yaml_quote(name),
        title = yaml_quote(title),
        label = yaml_quote(label),
    )
}

/// A YAML double-quoted scalar holding exactly `s`.
fn yaml_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            c if (c as u32) <= 0xFF => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) <= 0xFFFF => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// One module for the harness: its file, the class it must define, the module emitted from
/// harmless text that it must equal but for strings and names, and the docstring's first
/// line where the title is known.
struct Module {
    label: String,
    file: PathBuf,
    class: String,
    reference: PathBuf,
    doc: Option<String>,
    /// The graph's output names, which the `__main__` block prints.
    outputs: Vec<String>,
}

impl Module {
    fn json(&self) -> Value {
        json!({
            "label": self.label,
            "file": self.file,
            "class": self.class,
            "reference": self.reference,
            "doc": self.doc,
            "outputs": self.outputs,
            "channels": 3,
            "size": 16,
        })
    }
}

const HARNESS: &str = r##"
import ast, builtins, contextlib, importlib.util, io, json, os, runpy, sys, tokenize, traceback, unicodedata
import torch

torch.set_num_threads(1)
HIDDEN = {"Cc", "Cf", "Zl", "Zp"}


class Normalize(ast.NodeTransformer):
    """Strings, the class name and the aux output variables made the same in every module."""

    def __init__(self, cls):
        self.cls = cls

    def visit_Constant(self, n):
        if isinstance(n.value, str):
            n.value = "S"
        return n

    def visit_ClassDef(self, n):
        if n.name == self.cls:
            n.name = "C"
        self.generic_visit(n)
        return n

    def visit_Name(self, n):
        if n.id == self.cls:
            n.id = "C"
        elif n.id.startswith("out_"):
            n.id = "out_"
        return n

    # A layer's path component is written as an attribute (an identifier), a getattr or an
    # add_module with a string literal, or a _modules key (a name that hides an attribute
    # of nn.Module), as its text allows (src/emit/tree.rs): all are the same component.
    OWN = {"aux_logits", "num_classes", "training", "append", "add_module", "_modules"}

    def visit_Attribute(self, n):
        self.generic_visit(n)
        if on_self(n.value) and n.attr not in self.OWN:
            n.attr = "A"
        return n

    def visit_Call(self, n):
        self.generic_visit(n)
        if isinstance(n.func, ast.Name) and n.func.id == "getattr" and len(n.args) == 2 and on_self(n.args[0]):
            return ast.Attribute(value=n.args[0], attr="A", ctx=ast.Load())
        return n

    def visit_Subscript(self, n):
        self.generic_visit(n)
        if isinstance(n.value, ast.Attribute) and n.value.attr == "_modules" and on_self(n.value.value):
            return ast.Attribute(value=n.value.value, attr="A", ctx=n.ctx)
        return n

    def visit_Expr(self, n):
        self.generic_visit(n)
        c = n.value
        if (isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute) and c.func.attr == "add_module"
                and len(c.args) == 2 and on_self(c.func.value)):
            target = ast.Attribute(value=c.func.value, attr="A", ctx=ast.Store())
            return ast.Assign(targets=[target], value=c.args[1], type_comment=None)
        return n


def on_self(n):
    """Whether n is self or a submodule reached from it."""
    while True:
        if isinstance(n, ast.Name):
            return n.id == "self"
        if isinstance(n, (ast.Attribute, ast.Subscript)):
            n = n.value
        else:
            return False


def tree(path, cls):
    # Bytes, as importlib compiles them: a coding line would take effect.
    with open(path, "rb") as f:
        source = f.read()
    return source, ast.dump(Normalize(cls).visit(ast.parse(source, path)))


manifest = json.load(open(sys.argv[1]))
refs = {}
failures = []
for m in manifest:
    label = m["label"]
    fail = lambda msg: failures.append("%s: %s" % (label, msg))
    try:
        source, dump = tree(m["file"], m["class"])
    except Exception:
        fail("does not parse:\n" + traceback.format_exc())
        continue
    if m["reference"] not in refs:
        refs[m["reference"]] = tree(m["reference"], "REFERENCE")[1]
    ref_dump = refs[m["reference"]]
    ref_dump = ref_dump.replace("'REFERENCE'", "'C'")
    if dump != ref_dump:
        at = next(i for i, (a, b) in enumerate(zip(dump + "$", ref_dump + "#")) if a != b)
        fail("its syntax tree differs from the harmless module's at ...%s... (harmless: ...%s...)"
             % (dump[max(at - 150, 0):at + 150], ref_dump[max(at - 150, 0):at + 150]))
    text = source.decode("utf-8")
    hidden = sorted({hex(ord(c)) for c in text if c != "\n" and unicodedata.category(c) in HIDDEN})
    if hidden:
        fail("hidden characters in the source: %s" % hidden)
    # Every comment token is one line (tokenize sees the lines Python sees).
    for tok in tokenize.tokenize(io.BytesIO(source).readline):
        if tok.type == tokenize.COMMENT and tok.start[0] != tok.end[0]:
            fail("a comment spans lines: %r" % tok.string)
    try:
        spec = importlib.util.spec_from_file_location("emitted", m["file"])
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        cls = getattr(mod, m["class"])
        assert issubclass(cls, torch.nn.Module), cls
        if m["doc"] is not None and not cls.__doc__.startswith(m["doc"] + "\n\n    Input:"):
            fail("docstring %r does not start with the title %r" % (cls.__doc__, m["doc"]))
        model = mod.build().eval()
        assert type(model) is cls
        with torch.no_grad():
            y = model(torch.zeros(1, m["channels"], m["size"], m["size"]))
        assert tuple(y.shape) == (1, 4), y.shape
        model.train()
        with torch.no_grad():
            ys = model(torch.zeros(2, m["channels"], m["size"], m["size"]))
        assert isinstance(ys, tuple) and all(tuple(t.shape) == (2, 4) for t in ys), ys
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            runpy.run_path(m["file"], run_name="__main__")
        # Its last line (splitlines would also split at U+2028 and the like, which JSON keeps).
        report = json.loads(printed.getvalue().strip().split("\n")[-1])
        assert report["parameters"] == sum(p.numel() for p in model.parameters()), report
        assert list(report["outputs"]) == m["outputs"], (report, m["outputs"])
    except BaseException:
        fail("import, build or forward failed:\n" + traceback.format_exc())
    if os.path.exists("PWNED"):
        fail("the payload ran: PWNED exists")
        os.remove("PWNED")
print(json.dumps({"modules": len(manifest), "failures": failures}))
"##;

/// Emits nothing itself: writes the manifest, runs the harness in a scratch directory and
/// checks that every module passed.
fn check_modules(dir: &Path, modules: &[Module]) {
    let manifest = dir.join("manifest.json");
    let entries: Vec<Value> = modules.iter().map(Module::json).collect();
    std::fs::write(&manifest, serde_json::to_string(&entries).unwrap()).unwrap();
    let run_dir = dir.join("run");
    std::fs::create_dir_all(&run_dir).unwrap();
    let Some(result) = run_python(HARNESS, &[&manifest], &run_dir) else {
        return;
    };
    assert_eq!(result["modules"].as_u64(), Some(modules.len() as u64), "{result}");
    let failures: Vec<&str> = result["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} modules failed:\n{}",
        failures.len(),
        modules.len(),
        failures.join("\n\n")
    );
    assert!(!run_dir.join("PWNED").exists(), "the payload ran");
}

/// The docstring's first line for a title (`pytorch_module` trims it; an empty one is the
/// class name).
fn doc_of(title: &str, class: &str) -> String {
    let t = title.trim();
    if t.is_empty() { class.to_string() } else { t.to_string() }
}

#[test]
fn hostile_text_stays_inert_in_library_modules() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let base = common::lower_inline(&spec_yaml("net", "a net", "mix (a)"), Some("v2"));
    let reference = dir.join("reference.py");
    std::fs::write(&reference, pytorch_module(&base, "REFERENCE", "harmless")).unwrap();
    let mut modules = Vec::new();
    let mut add = |label: String, g: &Graph, class: &str, title: &str| {
        let file = dir.join(format!("m{}.py", modules.len()));
        std::fs::write(&file, pytorch_module(g, class, title)).unwrap();
        let class = read_class(&file);
        modules.push(Module {
            label,
            doc: Some(doc_of(title, &class)),
            outputs: g.outputs.iter().map(|o| o.name.clone()).collect(),
            file,
            class,
            reference: reference.clone(),
        });
    };
    for (i, text) in hostile_texts().iter().enumerate() {
        // The title, as the header comment and the docstring carry it.
        add(format!("title {i} {text:?}"), &base, "Net", text);
        // Every name in the graph: nodes (rows, branches, layers), outputs, aux heads, variant.
        let mut g = base.clone();
        // Each path prefix renamed once, kept unique, so that the module tree keeps its shape
        // (layers that share a scope still share it) and each layer has its own module.
        let mut renamed: std::collections::HashMap<String, String> = std::collections::HashMap::new();
        for n in g.nodes.iter_mut() {
            let (mut old, mut new) = (String::new(), String::new());
            for part in n.name.split('.') {
                let parent = new.clone();
                if !old.is_empty() {
                    old.push('.');
                }
                old.push_str(part);
                let k = renamed.len();
                new = renamed
                    .entry(old.clone())
                    .or_insert_with(|| {
                        let mine = format!("{part}{text}{k}");
                        if parent.is_empty() {
                            mine
                        } else {
                            format!("{parent}.{mine}")
                        }
                    })
                    .clone();
            }
            n.name = new;
            if let Place::Aux { head } = &mut n.place {
                *head = format!("{head}{text}");
            }
        }
        for o in &mut g.outputs {
            o.name = format!("{}{text}", o.name);
        }
        g.variant = Some(text.clone());
        add(format!("names {i} {text:?}"), &g, "Net", "names");
        // The class name, given as it is: pytorch_module makes it an identifier.
        add(format!("class {i} {text:?}"), &base, text, "");
    }
    // Class names that are identifiers but would hide what the module uses: the forward
    // pass and the __main__ block fail if one does.
    for class in [
        "class", "F", "nn", "torch", "math", "super", "sum", "__name__", "build", "Scope", "_put", "x",
    ] {
        add(format!("class {class:?}"), &base, class, "t");
    }
    check_modules(dir, &modules);
}

/// The class a module's `build` returns (its line `    return NAME(**kw)`).
fn read_class(file: &Path) -> String {
    let text = std::fs::read_to_string(file).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("    return ") && l.ends_with("(**kw)"))
        .unwrap_or_else(|| panic!("no build in {}", file.display()));
    line["    return ".len()..line.len() - "(**kw)".len()].to_string()
}

#[test]
fn hostile_specs_and_file_names_stay_inert_through_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let run_emit = |spec: &Path, variant: Option<&str>, out: &Path| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_archcheck"));
        cmd.arg("emit").arg(spec).arg("--pytorch").arg("-o").arg(out);
        if let Some(v) = variant {
            cmd.args(["--variant", v]);
        }
        cmd.output().unwrap()
    };
    let emit = |spec: &Path, variant: Option<&str>, out: &Path| {
        let res = run_emit(spec, variant, out);
        assert!(
            res.status.success(),
            "archcheck emit {} failed: {}",
            spec.display(),
            String::from_utf8_lossy(&res.stderr)
        );
    };
    let specs = dir.join("specs");
    std::fs::create_dir_all(&specs).unwrap();
    let reference_spec = specs.join("reference.yaml");
    std::fs::write(&reference_spec, spec_yaml("REFERENCE", "harmless", "mix (a)")).unwrap();
    let reference = dir.join("reference.py");
    emit(&reference_spec, None, &reference);
    // The CLI's title: "{title} ({variant}), generated by archcheck from {file}".
    let mut modules = Vec::new();
    let mut add = |label: String, yaml: String, file_name: &str, variant: Option<&str>| {
        let spec = specs.join(file_name);
        std::fs::write(&spec, &yaml).unwrap();
        let out = dir.join(format!("m{}.py", modules.len()));
        emit(&spec, variant, &out);
        let parsed = archcheck::spec::load_str(&yaml, "x.yaml").unwrap();
        modules.push(Module {
            label,
            outputs: common::lower_inline(&yaml, variant)
                .outputs
                .iter()
                .map(|o| o.name.clone())
                .collect(),
            class: class_name(&parsed.name, variant),
            doc: Some(format!(
                "{} ({}), generated by archcheck from {}",
                parsed.title,
                variant.unwrap_or("the table as printed"),
                spec.display()
            ))
            .map(|t| t.trim().to_string()),
            file: out,
            reference: reference.clone(),
        });
    };
    // A process per spec (with the torch feature each loads libtorch): the title, the spec
    // name and the file name of one spec hold the same text.
    for (i, text) in short_hostile_texts().iter().enumerate() {
        // A file name holds anything but '/' and NUL.
        let file_name = if text.contains(['/', '\0']) {
            format!("n{i}.yaml")
        } else {
            format!("{text}.yaml")
        };
        let variant = (i % 2 == 1).then_some("v2");
        add(
            format!("title, spec name, file name {i} {text:?}"),
            spec_yaml(text, text, "mix (a)"),
            &file_name,
            variant,
        );
    }
    // Type cells reach the code only as row names, and a label is letters, digits, '-' and
    // '_' (Unicode letters too, which the row name drops): any other text is refused, exit
    // status 2 at the cell, and nothing is written.
    for (i, label) in ["ñ中", "Ⅻ-x_1", "ǅ"].iter().enumerate() {
        let yaml = spec_yaml("net", "t", &format!("mix ({label})"));
        add(format!("type cell {label:?}"), yaml, &format!("cell{i}.yaml"), None);
    }
    for (i, text) in short_hostile_texts().iter().enumerate() {
        let spec = specs.join(format!("c{i}.yaml"));
        std::fs::write(&spec, spec_yaml("net", "t", &format!("mix ({text})"))).unwrap();
        let out = dir.join(format!("refused{i}.py"));
        let res = run_emit(&spec, None, &out);
        let stderr = String::from_utf8_lossy(&res.stderr);
        assert_eq!(res.status.code(), Some(2), "type cell {text:?}: {stderr}");
        assert!(
            stderr.contains(&format!("c{i}.yaml:")),
            "type cell {text:?} not located: {stderr}"
        );
        assert!(!out.exists(), "type cell {text:?}: a module was written");
    }
    check_modules(dir, &modules);
}

/// The escaping functions against CPython's own reading, for every code point: a string
/// literal and a docstring read back as the text, a comment shows every character of
/// categories Cc, Cf, Zl, Zp escaped and nothing else, identifiers are identifiers that
/// are neither keywords nor builtins, and the keyword and builtin lists cover Python's.
#[test]
fn escaping_agrees_with_python() {
    let all: String = (0..=0x10FFFFu32).filter_map(char::from_u32).collect();
    let escaped: Vec<u32> = all
        .chars()
        .filter(|c| python::comment(&c.to_string()) != c.to_string())
        .map(|c| c as u32)
        .collect();
    let samples: Vec<String> = hostile_texts()
        .into_iter()
        .chain(
            [
                "", "1", "class", "match", "case", "_", "type", "print", "__init__", "____", "a b", "ñ", "x__",
            ]
            .map(String::from),
        )
        .chain(KEYWORDS.iter().chain(BUILTINS).map(|s| s.to_string()))
        .collect();
    let identifiers: Vec<String> = samples.iter().map(|s| python::identifier(s, "Net", &[])).collect();
    let tmp = tempfile::tempdir().unwrap();
    let source = tmp.path().join("literals.py");
    std::fs::write(
        &source,
        format!(
            "{}s = {}\nd = \"\"\"{}\"\"\"\n# {}\n",
            python::CODING_LINE,
            python::string_literal(&all),
            python::docstring_text(&all),
            python::comment(&all)
        ),
    )
    .unwrap();
    let data = tmp.path().join("data.json");
    std::fs::write(
        &data,
        serde_json::to_string(&json!({
            "escaped": escaped,
            "identifiers": identifiers,
            "keywords": KEYWORDS,
            "builtins": BUILTINS,
        }))
        .unwrap(),
    )
    .unwrap();
    let script = r#"
import ast, builtins, json, keyword, sys, unicodedata
src = open(sys.argv[1], "rb").read()
tree = ast.parse(src)
all_text = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
values = {t.targets[0].id: t.value.value for t in tree.body}
d = json.load(open(sys.argv[2]))
fails = []
if values.get("s") != all_text: fails.append("the string literal does not read back as every code point")
if values.get("d") != all_text: fails.append("the docstring does not read back as every code point")
if len(tree.body) != 2: fails.append("the comment produced statements")
lines = src.split(b"\n")
if len(lines) != 5: fails.append("%d lines, expected 4 and the end" % (len(lines) - 1))
if not (lines[1].isascii() and lines[2].isascii()): fails.append("the literals are not ASCII")
escaped = set(d["escaped"])
for cp in range(0x110000):
    if 0xD800 <= cp <= 0xDFFF: continue
    cat = unicodedata.category(chr(cp))
    if cat in ("Cc", "Cf", "Zl", "Zp") and cp not in escaped:
        fails.append("comment() keeps %s (%s)" % (hex(cp), cat))
    if cp in escaped and cat not in ("Cc", "Cf", "Zl", "Zp", "Cn"):
        fails.append("comment() escapes %s (%s)" % (hex(cp), cat))
names = set(dir(builtins))
for i in d["identifiers"]:
    if not i.isidentifier() or not i.isascii() or keyword.iskeyword(i) or keyword.issoftkeyword(i) or i in names:
        fails.append("not a usable identifier: %r" % i)
for k in keyword.kwlist + keyword.softkwlist:
    if k not in d["keywords"]: fails.append("keyword %r missing" % k)
for b in names:
    if not b.startswith("__") and b not in d["builtins"] and b not in d["keywords"]: fails.append("builtin %r missing" % b)
print(json.dumps({"failures": fails[:50]}))
"#;
    let Some(result) = run_python(script, &[&source, &data], tmp.path()) else {
        return;
    };
    let failures = result["failures"].as_array().unwrap();
    assert!(failures.is_empty(), "{failures:#?}");
}

/// One training script for the harness: its file, the harmless script it must equal but
/// for strings, and what its generated constants must read back as.
struct Script {
    label: String,
    file: PathBuf,
    reference: PathBuf,
    module_file: String,
    spec: Value,
    /// Whether the module is written beside it under `module_file` (a name without '/' or NUL).
    module_beside: bool,
}

const SCRIPT_HARNESS: &str = r##"
import ast, importlib.util, io, json, os, sys, tokenize, traceback, unicodedata
import torch

torch.set_num_threads(1)
HIDDEN = {"Cc", "Cf", "Zl", "Zp"}


class Strings(ast.NodeTransformer):
    def visit_Constant(self, n):
        if isinstance(n.value, str):
            n.value = "S"
        return n


def tree(path):
    with open(path, "rb") as f:
        source = f.read()
    return source, ast.dump(Strings().visit(ast.parse(source, path)))


refs = {}
failures = []
entries = json.load(open(sys.argv[1]))
for i, m in enumerate(entries):
    fail = lambda msg: failures.append("%s: %s" % (m["label"], msg))
    try:
        source, dump = tree(m["file"])
    except Exception:
        fail("does not parse:\n" + traceback.format_exc())
        continue
    if m["reference"] not in refs:
        refs[m["reference"]] = tree(m["reference"])[1]
    if dump != refs[m["reference"]]:
        fail("its syntax tree differs from the harmless script's")
    text = source.decode("utf-8")
    hidden = sorted({hex(ord(c)) for c in text if c != "\n" and unicodedata.category(c) in HIDDEN})
    if hidden:
        fail("hidden characters in the source: %s" % hidden)
    for tok in tokenize.tokenize(io.BytesIO(source).readline):
        if tok.type == tokenize.COMMENT and tok.start[0] != tok.end[0]:
            fail("a comment spans lines: %r" % tok.string)
    try:
        spec = importlib.util.spec_from_file_location("script%d" % i, m["file"])
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        if mod.MODULE_FILE != m["module_file"]:
            fail("MODULE_FILE reads %r, expected %r" % (mod.MODULE_FILE, m["module_file"]))
        if mod.SPEC != m["spec"]:
            fail("SPEC reads %r, expected %r" % (mod.SPEC, m["spec"]))
        if (mod.INPUT_SIZE, mod.INPUT_CHANNELS, mod.CLASSES, mod.AUX_HEADS) != ((16, 16), 3, 4, 1):
            fail("the network constants are wrong")
        if m["module_beside"]:
            model = mod.network_builder()(num_classes=4, aux_logits=True).train()
            ys = model(torch.zeros(2, 3, 16, 16))
            assert isinstance(ys, tuple) and all(tuple(t.shape) == (2, 4) for t in ys), ys
    except BaseException:
        fail("import or build failed:\n" + traceback.format_exc())
    if os.path.exists("PWNED"):
        fail("the payload ran: PWNED exists")
        os.remove("PWNED")
print(json.dumps({"scripts": len(entries), "failures": failures}))
"##;

fn check_scripts(dir: &Path, scripts: &[Script]) {
    let manifest = dir.join("scripts.json");
    let entries: Vec<Value> = scripts
        .iter()
        .map(|s| {
            json!({
                "label": s.label,
                "file": s.file,
                "reference": s.reference,
                "module_file": s.module_file,
                "spec": s.spec,
                "module_beside": s.module_beside,
            })
        })
        .collect();
    std::fs::write(&manifest, serde_json::to_string(&entries).unwrap()).unwrap();
    let run_dir = dir.join("run-scripts");
    std::fs::create_dir_all(&run_dir).unwrap();
    let Some(py) = common::python::test_python_with_or_skip(&["torch", "numpy", "safetensors"]) else {
        return;
    };
    let stdout = common::python::run_script(&py, SCRIPT_HARNESS, &[&manifest], Some(&run_dir));
    let result = common::python::last_json_line(&stdout);
    assert_eq!(result["scripts"].as_u64(), Some(scripts.len() as u64), "{result}");
    let failures: Vec<&str> = result["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} scripts failed:\n{}",
        failures.len(),
        scripts.len(),
        failures.join("\n\n")
    );
    assert!(!run_dir.join("PWNED").exists(), "the payload ran");
}

/// Hostile module file names, class names, titles, spec names, spec files and variants in
/// `train_script`: each script parses to the harmless script's tree, hides nothing, and
/// reads every text back exactly as its constants; where the module can be written under
/// the hostile name, the script finds and builds it.
#[test]
fn hostile_text_stays_inert_in_train_scripts() {
    use archcheck::emit::{ScriptTarget, train_script};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut base = common::lower_inline(&spec_yaml("net", "a net", "mix (a)"), Some("v2"));
    base.variant = Some("v2".into());
    let harmless = ScriptTarget {
        module_file: "net.py",
        class_name: "Net",
        title: "harmless",
        spec_name: "net",
        spec_file: "net.yaml",
    };
    let reference = dir.join("reference_train.py");
    std::fs::write(&reference, train_script(&base, &harmless)).unwrap();
    let mut scripts = Vec::new();
    for (i, text) in short_hostile_texts().iter().enumerate() {
        let sub = dir.join(format!("s{i}"));
        std::fs::create_dir_all(&sub).unwrap();
        let module_beside = !text.contains(['/', '\0']);
        let module_file = if module_beside { text.clone() } else { "net.py".into() };
        std::fs::write(sub.join(&module_file), pytorch_module(&base, text, text)).unwrap();
        let mut g = base.clone();
        g.variant = Some(text.clone());
        let target = ScriptTarget {
            module_file: text,
            class_name: text,
            title: text,
            spec_name: text,
            spec_file: text,
        };
        let file = sub.join("train.py");
        std::fs::write(&file, train_script(&g, &target)).unwrap();
        scripts.push(Script {
            label: format!("script {i} {text:?}"),
            file,
            reference: reference.clone(),
            module_file: text.clone(),
            spec: json!({"name": text, "variant": text, "file": text}),
            module_beside,
        });
    }
    check_scripts(dir, &scripts);
}

/// The same through `archcheck emit --pytorch -o FILE --train-script`, where the title,
/// spec name and the spec's and module's file names hold the hostile text.
#[test]
fn hostile_specs_and_file_names_stay_inert_in_train_scripts_through_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let emit = |spec: &Path, out: &Path| {
        let res = Command::new(env!("CARGO_BIN_EXE_archcheck"))
            .arg("emit")
            .arg(spec)
            .args(["--pytorch", "--train-script", "-o"])
            .arg(out)
            .output()
            .unwrap();
        assert!(
            res.status.success(),
            "archcheck emit {} failed: {}",
            spec.display(),
            String::from_utf8_lossy(&res.stderr)
        );
    };
    let reference_spec = dir.join("reference.yaml");
    std::fs::write(&reference_spec, spec_yaml("net", "harmless", "mix (a)")).unwrap();
    emit(&reference_spec, &dir.join("reference.py"));
    let reference = dir.join("reference_train.py");
    let mut scripts = Vec::new();
    for (i, text) in short_hostile_texts().iter().enumerate() {
        let sub = dir.join(format!("c{i}"));
        std::fs::create_dir_all(&sub).unwrap();
        let name = if text.contains(['/', '\0']) {
            format!("n{i}")
        } else {
            text.clone()
        };
        let spec = sub.join(format!("{name}.yaml"));
        std::fs::write(&spec, spec_yaml(text, text, "mix (a)")).unwrap();
        let module_file = format!("{name}.py");
        emit(&spec, &sub.join(&module_file));
        let parsed = archcheck::spec::load_str(&std::fs::read_to_string(&spec).unwrap(), "x.yaml").unwrap();
        scripts.push(Script {
            label: format!("cli {i} {text:?}"),
            file: sub.join(archcheck::emit::script_file_name(&module_file)),
            reference: reference.clone(),
            module_file,
            spec: json!({"name": parsed.name, "variant": null, "file": spec.display().to_string()}),
            module_beside: true,
        });
    }
    check_scripts(dir, &scripts);
}

/// The names a submodule must not take as an attribute (src/emit/tree.rs) cover every public
/// attribute of `nn.Module`, of an instance of it and of `nn.Sequential`, as torch has them.
#[test]
fn module_attribute_list_covers_torch() {
    let script = r#"
import json
import torch.nn as nn
names = set(dir(nn.Module)) | set(vars(nn.Module())) | set(dir(nn.Sequential))
print(json.dumps(sorted(n for n in names if not n.startswith("_"))))
"#;
    let dir = tempfile::tempdir().unwrap();
    let Some(names) = run_python(script, &[], dir.path()) else {
        return;
    };
    let missing: Vec<&str> = names
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .filter(|n| !archcheck::emit::MODULE_ATTRIBUTES.contains(n))
        .collect();
    assert!(missing.is_empty(), "MODULE_ATTRIBUTES lacks {missing:?}");
}
