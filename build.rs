//! Writes the OpenAPI document of `GET /openapi.json` at build time, from the one source of it
//! (`ivr_core::openapi::document`, with the flows compiled into this worker), so the worker serves
//! a constant text: building the document at run time put about 21 KB of gzipped code in the
//! wasm for one rarely called route (BENCHMARKS.md, "Size").

fn main() {
    let document = ivr_core::openapi::document(env!("CARGO_PKG_VERSION"), &flows::registry());
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let text = serde_json::to_string(&document).expect("the document is JSON");
    std::fs::write(out.join("openapi.json"), text).expect("OUT_DIR is writable");
    println!("cargo:rerun-if-changed=build.rs");
}
