//! Compiles the parser `tree-sitter generate` wrote (src/parser.c, committed).

fn main() {
    let src = std::path::Path::new("src");
    let mut c = cc::Build::new();
    c.std("c11").include(src).warnings(false);
    c.file(src.join("parser.c"));
    println!("cargo:rerun-if-changed=src/parser.c");
    c.compile("tree-sitter-volley");
}
