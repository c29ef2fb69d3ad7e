//! The API's version against its last release (docs/clients.md, Versioning): the committed
//! document (docs/openapi.json) is compared with the last released one
//! (docs/api-releases/<version>.json), and a breaking change (an operation, a field, an
//! enum value or a success status removed; a new required input) fails here unless the
//! version says so (a new major version; a new minor one before 1.0.0).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `MAJOR.MINOR.PATCH`.
fn version(text: &str) -> (u64, u64, u64) {
    let parts: Vec<u64> = text
        .split('.')
        .map(|p| {
            p.parse()
                .unwrap_or_else(|_| panic!("not a version: {text}"))
        })
        .collect();
    match parts[..] {
        [major, minor, patch] => (major, minor, patch),
        _ => panic!("not MAJOR.MINOR.PATCH: {text}"),
    }
}

/// Whether going from `old` to `new` may break clients, as semantic versioning says.
fn breaking_allowed(old: (u64, u64, u64), new: (u64, u64, u64)) -> bool {
    new.0 > old.0 || (old.0 == 0 && new.0 == 0 && new.1 > old.1)
}

/// A schema with its `$ref` (and an `allOf` of one) followed.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        return resolve(doc, &doc["components"]["schemas"][name]);
    }
    if let Some([one]) = schema["allOf"].as_array().map(Vec::as_slice) {
        return resolve(doc, one);
    }
    schema
}

fn strings(value: &Value) -> BTreeSet<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// What in `new` breaks a client written against `old`.
fn breaking_changes(old: &Value, new: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let methods = [
        "get", "put", "post", "delete", "patch", "head", "options", "trace",
    ];
    for (path, item) in old["paths"].as_object().into_iter().flatten() {
        for method in methods {
            let Some(before) = item.get(method) else {
                continue;
            };
            let what = format!("{} {path}", method.to_uppercase());
            let Some(after) = new["paths"].get(path).and_then(|i| i.get(method)) else {
                found.push(format!("{what}: removed"));
                continue;
            };
            // Inputs: a parameter or body property required now that was not before.
            let required = |doc: &Value, op: &Value| -> BTreeSet<String> {
                let mut names: BTreeSet<String> = op["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|p| p["required"] == json!(true))
                    .map(|p| {
                        format!(
                            "{} parameter {}",
                            p["in"].as_str().unwrap_or("?"),
                            p["name"]
                        )
                    })
                    .collect();
                if let Some(content) = op["requestBody"]["content"].as_object() {
                    if op["requestBody"]["required"] == json!(true) {
                        names.insert("a body".to_owned());
                    }
                    for media in content.values() {
                        let schema = resolve(doc, &media["schema"]);
                        names.extend(
                            strings(&schema["required"])
                                .into_iter()
                                .map(|n| format!("body property {n}")),
                        );
                    }
                }
                names
            };
            for input in required(new, after).difference(&required(old, before)) {
                found.push(format!("{what}: new required {input}"));
            }
            // Success answers a client handles.
            let successes = |op: &Value| -> BTreeSet<String> {
                op["responses"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(status, _)| status.clone())
                    .filter(|s| s.starts_with('2'))
                    .collect()
            };
            for status in successes(before).difference(&successes(after)) {
                found.push(format!("{what}: the {status} answer removed"));
            }
        }
    }
    // Fields and enum values of every named schema.
    for (name, before) in old["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
    {
        let Some(after) = new["components"]["schemas"].get(name) else {
            found.push(format!("schema {name}: removed"));
            continue;
        };
        let (before, after) = (resolve(old, before), resolve(new, after));
        for field in before["properties"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| k)
        {
            if after["properties"].get(field).is_none() {
                found.push(format!("schema {name}: field {field} removed"));
            }
        }
        for value in strings(&before["enum"]).difference(&strings(&after["enum"])) {
            found.push(format!("schema {name}: enum value {value} removed"));
        }
    }
    found
}

/// The released documents, oldest first: (version, path).
fn releases() -> Vec<((u64, u64, u64), PathBuf)> {
    let dir = repo().join("docs/api-releases");
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| (version(p.file_stem().unwrap().to_str().unwrap()), p))
        .collect();
    out.sort();
    out
}

#[test]
fn the_api_changes_compatibly_unless_its_version_says_otherwise() {
    let current = read(&repo().join("docs/openapi.json"));
    let now = version(current["info"]["version"].as_str().expect("info.version"));
    let (released, path) = releases().pop().expect("a released document");
    let last = read(&path);
    assert_eq!(
        version(last["info"]["version"].as_str().expect("info.version")),
        released,
        "{} is named after the version it holds",
        path.display()
    );
    assert!(
        now >= released,
        "docs/openapi.json is {now:?}, older than the release {released:?}"
    );
    let changes = breaking_changes(&last, &current);
    assert!(
        changes.is_empty() || breaking_allowed(released, now),
        "docs/openapi.json breaks clients of {released:?} without a new major version \
         (API_VERSION in nexus-server/src/api/mod.rs):\n  {}",
        changes.join("\n  ")
    );
}

#[test]
fn breaking_changes_are_found() {
    let old = json!({
        "paths": {
            "/a": {
                "get": {"parameters": [{"in": "query", "name": "x", "required": false}],
                        "responses": {"200": {}}},
                "post": {"requestBody": {"required": true, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/In"}}}},
                    "responses": {"201": {}}}
            },
            "/gone": {"get": {"responses": {"200": {}}}}
        },
        "components": {"schemas": {
            "In": {"type": "object", "required": ["a"], "properties": {"a": {}, "b": {}}},
            "Out": {"type": "object", "properties": {"id": {}, "name": {}}},
            "Kind": {"type": "string", "enum": ["x", "y"]}
        }}
    });
    assert!(breaking_changes(&old, &old).is_empty(), "the same document");
    // Additions are compatible: a new operation, field, enum value, optional input.
    let mut added = old.clone();
    added["paths"]["/new"] = json!({"get": {"responses": {"200": {}}}});
    added["components"]["schemas"]["Out"]["properties"]["extra"] = json!({});
    added["components"]["schemas"]["Kind"]["enum"] = json!(["x", "y", "z"]);
    added["paths"]["/a"]["get"]["parameters"]
        .as_array_mut()
        .unwrap()
        .push(json!({"in": "query", "name": "y", "required": false}));
    assert!(breaking_changes(&old, &added).is_empty());

    let mut broken = old.clone();
    broken["paths"].as_object_mut().unwrap().remove("/gone");
    broken["paths"]["/a"]["get"]["parameters"][0]["required"] = json!(true);
    broken["paths"]["/a"]["post"]["responses"] = json!({"200": {}});
    broken["components"]["schemas"]["In"]["required"] = json!(["a", "b"]);
    broken["components"]["schemas"]["Out"]["properties"]
        .as_object_mut()
        .unwrap()
        .remove("name");
    broken["components"]["schemas"]["Kind"]["enum"] = json!(["x"]);
    assert_eq!(
        breaking_changes(&old, &broken),
        [
            "GET /a: new required query parameter \"x\"",
            "POST /a: new required body property b",
            "POST /a: the 201 answer removed",
            "GET /gone: removed",
            "schema Kind: enum value y removed",
            "schema Out: field name removed",
        ]
    );
    assert!(breaking_allowed((1, 4, 0), (2, 0, 0)));
    assert!(!breaking_allowed((1, 4, 0), (1, 5, 0)));
    assert!(breaking_allowed((0, 4, 0), (0, 5, 0)));
    assert!(!breaking_allowed((0, 4, 0), (0, 4, 1)));
}
