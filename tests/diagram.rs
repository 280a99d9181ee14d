//! `archcheck diagram`: the SVG parses back as XML (roxmltree), holds one node per layer at
//! the chosen depth (the layers of derive's JSON report, its rows at depth 1), shows every
//! row finding's code, and stays well-formed whatever the spec's text holds; DOT and Mermaid
//! hold the same boxes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use archcheck::derive::derive;
use archcheck::ir::{LowerOptions, Op};
use serde_json::Value;

fn archcheck(args: &[&str]) -> (i32, Vec<u8>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_archcheck"))
        .args(args)
        .output()
        .expect("run archcheck");
    (
        out.status.code().unwrap_or(-1),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn with_variant<'a>(mut args: Vec<&'a str>, variant: Option<&'a str>) -> Vec<&'a str> {
    if let Some(v) = variant {
        args.extend(["--variant", v]);
    }
    args
}

/// derive's JSON report of the spec.
fn report(spec: &str, variant: Option<&str>) -> Value {
    let (code, out, err) = archcheck(&with_variant(vec!["derive", spec, "--format", "json"], variant));
    assert!(code == 0 || code == 1, "{err}");
    serde_json::from_slice(&out).unwrap()
}

/// The SVG's boxes by `data-node` (each once), and all its text.
fn svg_nodes(svg: &str) -> (BTreeMap<String, usize>, String) {
    let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("not well-formed: {e}"));
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let mut nodes = BTreeMap::new();
    for g in doc.descendants().filter(|n| n.has_tag_name("g")) {
        if g.attribute("class").is_some_and(|c| c.split(' ').any(|w| w == "node")) {
            *nodes
                .entry(g.attribute("data-node").expect("data-node").to_string())
                .or_insert(0) += 1;
        }
    }
    let text: String = doc
        .descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect::<Vec<_>>()
        .join("\n");
    (nodes, text)
}

/// What derive's report says the boxes are at `depth`.
fn expected(spec: &str, variant: Option<&str>, r: &Value, depth: u32) -> BTreeSet<String> {
    let layers = r["layers"].as_array().unwrap();
    let mut want: BTreeSet<String> = ["input".to_string()].into();
    if depth >= 2 {
        want.extend(layers.iter().map(|l| l["name"].as_str().unwrap().to_string()));
        // Merges are drawn as merges: every concatenation, sum and product.
        let s = archcheck::spec::load_file(Path::new(spec)).unwrap();
        let opts = LowerOptions {
            variant: variant.map(String::from),
            ..Default::default()
        };
        let d = derive(s, &opts, 1).unwrap();
        want.extend(
            d.graph
                .nodes
                .iter()
                .filter(|n| matches!(n.op, Op::Concat | Op::Add | Op::Mul))
                .map(|n| n.name.clone()),
        );
        return want;
    }
    let rows = r["rows"].as_array().unwrap();
    let name_of: BTreeMap<&str, &str> = rows
        .iter()
        .map(|row| (row["label"].as_str().unwrap(), row["name"].as_str().unwrap()))
        .collect();
    want.extend(rows.iter().map(|row| row["name"].as_str().unwrap().to_string()));
    for l in layers {
        let place = l["place"].as_str().unwrap();
        if place == "head" {
            want.insert("head".into());
        } else if let Some(aux) = place.strip_prefix("auxiliary ") {
            want.insert(aux.into());
        } else if let Some(row) = place.strip_prefix("after ") {
            want.insert(format!("{}_after", name_of[row]));
        }
    }
    want
}

fn check(spec: &str, variant: Option<&str>) {
    let r = report(spec, variant);
    for depth in [1u32, 2] {
        let d = depth.to_string();
        let (code, out, err) = archcheck(&with_variant(vec!["diagram", spec, "--depth", &d], variant));
        assert_eq!(code, r["summary"]["exit_code"].as_i64().unwrap() as i32, "{err}");
        let svg = String::from_utf8(out).unwrap();
        let (nodes, text) = svg_nodes(&svg);
        let label = format!("{spec} {variant:?} depth {depth}");
        for (id, n) in &nodes {
            assert_eq!(*n, 1, "{label}: {id} drawn {n} times");
        }
        let got: BTreeSet<String> = nodes.keys().cloned().collect();
        assert_eq!(got, expected(spec, variant, &r, depth), "{label}");
        // Every finding of a row shows its code, with the printed value beside the derived.
        for x in r["diagnostics"].as_array().unwrap() {
            let code = x["code"].as_str().unwrap();
            assert!(text.contains(code), "{label}: {code} not shown");
            if let (Some(s), Some(v)) = (x["stated"].as_str(), x["derived"].as_str())
                && x["severity"] == "error"
            {
                assert!(text.contains(&format!("printed {s}, derived {v}")), "{label}: {x}");
            }
        }
        // DOT and Mermaid: the same boxes.
        for format in ["dot", "mermaid"] {
            let (_, out, err) = archcheck(&with_variant(
                vec!["diagram", spec, "--depth", &d, "--format", format],
                variant,
            ));
            let text = String::from_utf8(out).unwrap();
            let boxes = text
                .lines()
                .filter(|l| {
                    let l = l.trim_start();
                    l.starts_with('n') && (l.contains(" [label=") || l.contains("[\"") || l.contains("([\""))
                })
                .count();
            assert_eq!(boxes, got.len(), "{label} {format}: {err}\n{text}");
        }
    }
}

#[test]
fn googlenet_as_printed() {
    check("specs/googlenet.yaml", None);
}

#[test]
fn googlenet_torchvision() {
    check("specs/googlenet.yaml", Some("torchvision"));
}

#[test]
fn googlenet_zjzstu() {
    check("specs/googlenet.yaml", Some("zjzstu"));
}

#[test]
fn googlenet_bn_as_printed() {
    check("specs/googlenet_bn.yaml", None);
}

#[test]
fn googlenet_bn_variants() {
    for v in ["caffe", "slim", "zjzstu"] {
        check("specs/googlenet_bn.yaml", Some(v));
    }
}

#[test]
fn inception_v3_as_printed() {
    check("specs/inception_v3.yaml", None);
}

#[test]
fn inception_v3_torchvision() {
    check("specs/inception_v3.yaml", Some("inception_v3"));
}

#[test]
fn padding_nets() {
    for spec in [
        "tests/onnx/same_net.yaml",
        "tests/onnx/caffe_net.yaml",
        "tests/onnx/nin_net.yaml",
    ] {
        check(spec, None);
    }
}

/// Markup and control characters in the spec's text stay text.
#[test]
fn hostile_text_stays_well_formed() {
    let dir = tempfile::tempdir().unwrap();
    let spec = std::fs::read_to_string("tests/onnx/caffe_net.yaml").unwrap();
    let hostile = spec.replace(
        "name: caffe_net\n",
        "name: caffe_net\ntitle: \"<svg> & </text> \\\" ' \\u0001 \\u001b[31m ]]> <!--\"\n",
    );
    let path = dir.path().join("hostile.yaml");
    std::fs::write(&path, hostile).unwrap();
    let p = path.to_string_lossy().into_owned();
    for depth in ["1", "2"] {
        let (code, out, err) = archcheck(&["diagram", &p, "--depth", depth]);
        assert_eq!(code, 0, "{err}");
        let (_, text) = svg_nodes(&String::from_utf8(out).unwrap());
        assert!(text.contains("<svg> & </text>"), "{text}");
    }
    for format in ["dot", "mermaid"] {
        let (code, out, err) = archcheck(&["diagram", &p, "--format", format]);
        assert_eq!(code, 0, "{err}");
        assert!(!String::from_utf8(out).unwrap().contains('\u{1}'));
    }
}

/// Residual sums drawn as merges, at ResNet-152's size too.
#[test]
fn resnet_variants() {
    for v in ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"] {
        check("specs/resnet.yaml", Some(v));
    }
}

/// Sequential-numbered layers (features.0 …) and cells of several printed lines.
#[test]
fn vgg11_bn() {
    check("specs/vgg.yaml", Some("vgg11_bn"));
}

/// Dense blocks: a concatenation per dense layer, named instances (`denselayer1` …).
#[test]
fn densenet121() {
    check("specs/densenet.yaml", Some("densenet121"));
}

/// Squeeze-and-excitation products and residual sums inside repeated blocks.
#[test]
fn efficientnet_as_printed_and_b0() {
    check("specs/efficientnet.yaml", None);
    check("specs/efficientnet.yaml", Some("efficientnet_b0"));
}

/// MobileNetV2: inverted residuals (an add only where the stride is 1 and the channels
/// agree), depthwise convs, as printed and with torchvision's names.
#[test]
fn mobilenet_v2() {
    check("specs/mobilenet_v2.yaml", None);
    check("specs/mobilenet_v2.yaml", Some("mobilenet_v2"));
}
