//! Times each stage of `derive` on one spec: `cargo run --release --example stage_times -- SPEC`.
use std::time::Instant;
fn main() {
    let path = std::env::args().nth(1).expect("spec path");
    let t = Instant::now();
    let text = std::fs::read_to_string(&path).unwrap();
    let marks = archcheck::spec::marks(&text).unwrap();
    let t_marks = t.elapsed();
    let _v: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let t_serde = t.elapsed();
    drop(marks);
    let spec = archcheck::spec::load_str(&text, &path).unwrap();
    let t_load = t.elapsed();
    let opts = archcheck::ir::LowerOptions::default();
    let g = archcheck::ir::lower(&spec, &opts).unwrap();
    let t_lower = t.elapsed();
    let _costs = archcheck::count::costs(&g, 1);
    let t_cost = t.elapsed();
    // check needs the row figures and the domain derive computes; time it within derive.
    let diags = archcheck::derive::derive(spec.clone(), &opts, 1).unwrap().diagnostics;
    let t_check = t.elapsed();
    let d = archcheck::derive::derive(spec, &opts, 1).unwrap();
    let t_derive = t.elapsed();
    let v = archcheck::report::json::value(&d, 0);
    let t_json = t.elapsed();
    let s = serde_json::to_string_pretty(&v).unwrap();
    let t_ser = t.elapsed();
    let table = archcheck::report::table::render(&d, &archcheck::source::Source::new(path.clone(), text.clone()));
    let t_table = t.elapsed();
    println!(
        "nodes {} diags {} json {} table {}",
        g.nodes.len(),
        diags.len(),
        s.len(),
        table.len()
    );
    println!(
        "marks {:?} serde {:?} load {:?} lower {:?} cost {:?} check {:?} derive(all) {:?} json-value {:?} json-text {:?} table {:?}",
        t_marks,
        t_serde - t_marks,
        t_load - t_serde,
        t_lower - t_load,
        t_cost - t_lower,
        t_check - t_cost,
        t_derive - t_check,
        t_json - t_derive,
        t_ser - t_json,
        t_table - t_ser
    );
}
