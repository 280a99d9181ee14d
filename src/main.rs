use archcheck::ir::LowerOptions;
fn main() {
    let path = std::env::args().nth(1).unwrap();
    let variant = std::env::args().nth(2);
    let spec = match archcheck::spec::load_file(std::path::Path::new(&path)) { Ok(s) => s, Err(e) => { eprintln!("{e}"); std::process::exit(2) } };
    let d = match archcheck::derive::derive(spec, &LowerOptions { variant, ..Default::default() }, 1) { Ok(d) => d, Err(e) => { eprintln!("{e}"); std::process::exit(2) } };
    for (i, n) in d.graph.nodes.iter().enumerate() { println!("{:40} {:30} {:40} {:?} p={} m={}", n.name, n.op.describe(), n.shape.symbolic(), n.shape.at(224,224), d.per_node[i].params, d.per_node[i].macs); }
    println!("{:?} min {:?}", d.totals, d.min_input);
    for x in &d.diagnostics { println!("{:?} {} {}:{} {} | {:?} | {:?}", x.severity, x.code, x.line, x.col, x.message, x.arithmetic, x.readings); }
}
