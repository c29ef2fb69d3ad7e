//! Generates the client from the committed OpenAPI document (docs/openapi.json) with
//! progenitor, into `$OUT_DIR/client.rs`.

use std::path::Path;

/// Operations left out of the client, with why: browser-only flows a program does not call.
const LEFT_OUT: [(&str, &str); 1] = [(
    "/api/v1/auth/oauth/google/callback",
    "Google redirects the browser here; it answers a session or a 303 redirect, which one \
     typed method cannot describe (progenitor wants one success and one error type)",
)];

fn main() {
    // Read when the script runs, not when it is compiled: one compiled script may serve
    // several checkouts sharing a target directory.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR");
    let document = Path::new(&manifest).join("../docs/openapi.json");
    println!("cargo::rerun-if-changed={}", document.display());
    let text = std::fs::read_to_string(&document)
        .unwrap_or_else(|e| panic!("{}: {e}", document.display()));
    let mut json: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("docs/openapi.json: {e}"));
    if let Some(paths) = json["paths"].as_object_mut() {
        for (path, _why) in LEFT_OUT {
            paths.remove(path);
        }
    }
    let spec: openapiv3::OpenAPI =
        serde_json::from_value(json).unwrap_or_else(|e| panic!("docs/openapi.json: {e}"));
    let mut settings = progenitor::GenerationSettings::default();
    // Each client carries its own credentials (a session token, or none) while many
    // clients share one connection pool: the hook signs each request.
    settings
        .with_interface(progenitor::InterfaceStyle::Builder)
        .with_tag(progenitor::TagStyle::Merged)
        .with_inner_type(quote::quote!(crate::Credentials))
        .with_pre_hook(quote::quote!(crate::sign));
    let mut generator = progenitor::Generator::new(&settings);
    let tokens = generator
        .generate_tokens(&spec)
        .unwrap_or_else(|e| panic!("docs/openapi.json cannot be generated: {e}"));
    let file: syn::File = syn::parse2(tokens).unwrap_or_else(|e| panic!("generated code: {e}"));
    let out = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("client.rs");
    std::fs::write(&out, prettyplease::unparse(&file))
        .unwrap_or_else(|e| panic!("{}: {e}", out.display()));
}
