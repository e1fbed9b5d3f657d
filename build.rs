//! Writes the OpenAPI document of `GET /openapi.json` and the flow catalogue of `GET /flows` at
//! build time, from the one source of each (`ivr_core::openapi::document` and
//! `ivr_core::flow::catalogue`, with the flows compiled into this worker), so the worker serves
//! constant texts instead of carrying the code that builds them for rarely called routes.
//! scripts/build.sh puts them into the entry's `worker/documents.mjs`, out of the wasm
//! (`src/http.rs`, `Document`).

fn main() {
    // The build of the feature `test-flows` serves the project's test flows instead of yours.
    let registry = match std::env::var_os("CARGO_FEATURE_TEST_FLOWS") {
        Some(_) => test_flows::registry(),
        None => flows::registry(),
    };
    let document = ivr_core::openapi::document(env!("CARGO_PKG_VERSION"), &registry);
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let text = serde_json::to_string(&document).expect("the document is JSON");
    std::fs::write(out.join("openapi.json"), text).expect("OUT_DIR is writable");
    let flows = ivr_core::flow::catalogue::catalogue(&registry);
    let text = serde_json::to_string(&flows).expect("the catalogue is JSON");
    std::fs::write(out.join("flows.json"), text).expect("OUT_DIR is writable");
    println!("cargo:rerun-if-changed=build.rs");
}
