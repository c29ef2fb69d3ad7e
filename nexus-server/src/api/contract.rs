//! What the OpenAPI document says about every operation beyond the answers its handler
//! gives, read off the operation's shape, so that no operation can forget them:
//!
//! - poem-openapi answers before the handler runs when a parameter or the body does not
//!   parse (`400`), the body is not JSON (`415`); the body limit answers `413`. These
//!   errors reach [`super::error::into_response`], which writes the shared [`ErrorBody`].
//! - A signed-in operation answers `401` without a session and `503` when the session
//!   cannot be looked up; one that changes something needs, with the session cookie, the
//!   `X-CSRF-Token` header (`403` without it). The document says so in the operation's
//!   `security`: the bearer token alone, or the cookie *and* the CSRF header.
//! - A path answers any other method `405` with an `Allow` header naming its methods
//!   ([`allow_methods`]).
//!
//! An answer the handler documents itself keeps its description; the ones added here are
//! only for statuses it does not list.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, LazyLock};

use poem::http::{Method, StatusCode, header};
use poem::{Endpoint, IntoResponse, Request, Response};
use poem_openapi::OpenApi;
use poem_openapi::registry::{
    MetaApi, MetaMediaType, MetaOperation, MetaResponse, MetaSecurityScheme, Registry,
};
use poem_openapi::types::Type;

use super::ErrorBody;
use super::config_schema::CLOSED;

/// The security scheme of the session cookie (the name poem-openapi gives
/// [`super::session::SessionCookie`]).
pub const COOKIE_SCHEME: &str = "SessionCookie";
/// The security scheme of the CSRF header that goes with the cookie on writes.
pub const CSRF_SCHEME: &str = "CsrfToken";

const BAD_PARAMETER: &str = "A parameter is not of its documented type or outside its \
    documented range (`bad_request`; the message names the parameter).";
const BAD_BODY: &str = "The request does not parse: the body is not JSON of the documented \
    shape, or a parameter is not of its documented type or range (`bad_request`; the \
    message says what).";
const TOO_LARGE: &str = "The body is larger than the server accepts: 64 KiB, 1 MiB for \
    Stripe's events (`payload_too_large`).";
const MEDIA_TYPE: &str = "The body is not sent as JSON: `Content-Type` is missing or not \
    `application/json` (`unsupported_media_type`).";
const UNAUTHORIZED: &str = "No session: the token or cookie is missing, unknown, expired or \
    revoked (`unauthorized`).";
const CSRF: &str = "A request authenticated by the session cookie without the `X-CSRF-Token` \
    header repeating the `nexus_csrf` cookie (`forbidden`).";
const UNAVAILABLE: &str = "The database is unreachable (`unavailable`).";

/// The API `T` with what every operation answers besides its handler's answers.
pub struct Documented<T>(pub T);

impl<T: OpenApi> OpenApi for Documented<T> {
    fn meta() -> Vec<MetaApi> {
        let mut apis = T::meta();
        for operation in apis
            .iter_mut()
            .flat_map(|api| api.paths.iter_mut())
            .flat_map(|path| path.operations.iter_mut())
        {
            complete(operation);
        }
        apis
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
        <ErrorBody as Type>::register(registry);
        registry.create_security_scheme(
            CSRF_SCHEME,
            MetaSecurityScheme {
                ty: "apiKey",
                description: Some(
                    "The value of the `nexus_csrf` cookie, repeated in this header by \
                     browsers on every request authenticated by the session cookie that \
                     changes something (double-submit CSRF protection).",
                ),
                name: Some(super::session::CSRF_HEADER),
                key_in: Some("header"),
                scheme: None,
                bearer_format: None,
                flows: None,
                openid_connect_url: None,
            },
        );
    }

    fn add_routes(
        self,
        route_table: &mut HashMap<String, HashMap<Method, poem::endpoint::BoxEndpoint<'static>>>,
    ) {
        self.0.add_routes(route_table);
    }
}

/// Adds the answers `operation` gives before or around its handler, and the CSRF header
/// to its cookie security when it changes something.
fn complete(operation: &mut MetaOperation) {
    let has_body = operation.request.is_some();
    let has_params = !operation.params.is_empty();
    let signed_in = !operation.security.is_empty();
    let writes = !matches!(
        operation.method,
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if has_body {
        add(operation, 400, BAD_BODY);
        add(operation, 413, TOO_LARGE);
        add(operation, 415, MEDIA_TYPE);
    } else if has_params {
        add(operation, 400, BAD_PARAMETER);
    }
    if signed_in {
        add(operation, 401, UNAUTHORIZED);
        add(operation, 503, UNAVAILABLE);
        if writes {
            add(operation, 403, CSRF);
            for requirement in &mut operation.security {
                if requirement.contains_key(COOKIE_SCHEME) {
                    requirement.insert(CSRF_SCHEME, Vec::new());
                }
            }
        }
    }
    operation.responses.responses.sort_by_key(|r| r.status);
}

/// Documents `status` with the shared error body, unless the operation already does.
fn add(operation: &mut MetaOperation, status: u16, description: &'static str) {
    let responses = &mut operation.responses.responses;
    if responses.iter().any(|r| r.status == Some(status)) {
        return;
    }
    responses.push(MetaResponse {
        description,
        status: Some(status),
        status_range: None,
        content: vec![MetaMediaType {
            content_type: "application/json; charset=utf-8",
            schema: <ErrorBody as Type>::schema_ref(),
        }],
        headers: Vec::new(),
    });
}

/// The document `spec` (as poem-openapi prints it) with every security requirement that
/// names the session cookie and the CSRF header naming the cookie first: poem-openapi
/// keeps a requirement in a `HashMap`, which would print the two in either order.
///
/// Also prints `additionalProperties` pointing at [`CLOSED`] as `additionalProperties:
/// false` (no other properties), which poem-openapi's registry cannot hold.
pub(crate) fn canonical(spec: &str) -> String {
    let csrf = format!("\"{CSRF_SCHEME}\": [],");
    let cookie = format!("\"{COOKIE_SCHEME}\": []");
    let closed = format!("\"$ref\": \"#/components/schemas/{CLOSED}\"");
    let indent = |line: &str| line[..line.len() - line.trim_start().len()].to_owned();
    let lines: Vec<&str> = spec.lines().collect();
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let next = |n: usize| lines.get(i + n).map_or("", |l| l.trim());
        if line.trim() == csrf && next(1) == cookie {
            out.push(format!("{}{cookie},", indent(line)));
            out.push(format!("{}\"{CSRF_SCHEME}\": []", indent(lines[i + 1])));
            i += 2;
        } else if line.trim() == format!("\"{CLOSED}\": {{") {
            // The placeholder schema itself: up to its closing brace.
            let depth = indent(line).len();
            i += 1;
            while i < lines.len()
                && !(indent(lines[i]).len() == depth && lines[i].trim().starts_with('}'))
            {
                i += 1;
            }
            i += 1;
        } else if line.trim() == "\"additionalProperties\": {"
            && next(1) == closed
            && next(2).starts_with('}')
        {
            let comma = if next(2).ends_with(',') { "," } else { "" };
            out.push(format!(
                "{}\"additionalProperties\": false{comma}",
                indent(line)
            ));
            i += 3;
        } else {
            out.push(line.to_owned());
            i += 1;
        }
    }
    out.join("\n")
}

/// Each path of the API (poem's syntax, `/api/v1/bots/:id`) and the methods it answers:
/// `HEAD` wherever `GET` is, as poem answers it.
fn methods_by_path() -> HashMap<String, String> {
    let mut routes = HashMap::new();
    super::apis(None).add_routes(&mut routes);
    routes
        .into_iter()
        .map(|(path, methods)| {
            let mut names: BTreeSet<&str> = methods.keys().map(Method::as_str).collect();
            if names.contains("GET") {
                names.insert("HEAD");
            }
            let order = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];
            let mut sorted: Vec<&str> = order.into_iter().filter(|m| names.contains(m)).collect();
            sorted.extend(names.iter().filter(|m| !order.contains(m)));
            (path, sorted.join(", "))
        })
        .collect()
}

/// A router from each path of the API to its `Allow` value, matching paths exactly as
/// the API's own router does.
static ALLOW: LazyLock<poem::Route> = LazyLock::new(|| {
    methods_by_path()
        .into_iter()
        .fold(poem::Route::new(), |route, (path, allow)| {
            route.at(path, poem::endpoint::make_sync(move |_| allow.clone()))
        })
});

/// The `Allow` value of the API path `path`, if it is one.
async fn allowed(path: &str) -> Option<String> {
    let request = Request::builder().uri_str(path).finish();
    let response = ALLOW.get_response(request).await;
    if !response.status().is_success() {
        return None;
    }
    response.into_body().into_string().await.ok()
}

/// Answers `405 method_not_allowed` with the `Allow` header RFC 9110 requires: the methods
/// the path answers.
pub(crate) async fn allow_methods<E: Endpoint>(
    next: Arc<E>,
    req: Request,
) -> poem::Result<Response> {
    let path = req.uri().path().to_owned();
    match next.call(req).await {
        Ok(response) => Ok(response.into_response()),
        Err(e) if e.status() == StatusCode::METHOD_NOT_ALLOWED => {
            let mut response = super::error::into_response(e).await;
            if let Some(allow) = allowed(&path).await
                && let Ok(value) = allow.parse()
            {
                response.headers_mut().insert(header::ALLOW, value);
            }
            Ok(response)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    /// The document as served, read as JSON.
    fn document() -> Value {
        serde_json::from_str(&super::super::spec_json()).expect("the document is JSON")
    }

    /// Each operation: `METHOD /path` and its object.
    fn operations(doc: &Value) -> Vec<(String, Value)> {
        let mut all = Vec::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().expect("a path item") {
                all.push((
                    format!("{} {path}", method.to_uppercase()),
                    operation.clone(),
                ));
            }
        }
        all
    }

    #[test]
    fn every_operation_documents_what_answers_it_before_its_handler() {
        let doc = document();
        let error_body = serde_json::json!({"$ref": "#/components/schemas/ErrorBody"});
        for (name, op) in operations(&doc) {
            for field in ["operationId", "summary"] {
                assert!(op[field].is_string(), "{name}: {field}");
            }
            assert!(!op["tags"].as_array().expect("tags").is_empty(), "{name}");
            let responses = op["responses"].as_object().expect("responses");
            let has = |status: &str| responses.contains_key(status);
            let has_body = op.get("requestBody").is_some();
            let has_params = op.get("parameters").is_some();
            if has_body || has_params {
                assert!(has("400"), "{name}: 400");
                let text = responses["400"]["description"].as_str().unwrap_or_default();
                assert!(text.contains("bad_request"), "{name}: 400 says bad_request");
            }
            if has_body {
                assert!(has("413") && has("415"), "{name}: 413 and 415");
            }
            let security = op["security"].as_array().cloned().unwrap_or_default();
            if !security.is_empty() {
                assert!(has("401") && has("503"), "{name}: 401 and 503");
                let cookie = security
                    .iter()
                    .find(|r| r.get(super::COOKIE_SCHEME).is_some())
                    .expect("the cookie is one way in");
                let writes = !name.starts_with("GET ");
                assert_eq!(
                    cookie.get(super::CSRF_SCHEME).is_some(),
                    writes,
                    "{name}: the cookie needs the CSRF header exactly on writes"
                );
                if writes {
                    assert!(has("403"), "{name}: 403");
                }
            }
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    let schema = &response["content"]["application/json; charset=utf-8"]["schema"];
                    assert!(
                        *schema == error_body || status == "409",
                        "{name}: {status} answers the shared error body"
                    );
                }
            }
        }
    }

    #[test]
    fn every_request_body_has_an_example() {
        let doc = document();
        let schemas = &doc["components"]["schemas"];
        for (name, op) in operations(&doc) {
            let Some(body) = op.get("requestBody") else {
                continue;
            };
            for media in body["content"].as_object().expect("content").values() {
                let schema = &media["schema"];
                let named = schema["$ref"]
                    .as_str()
                    .and_then(|r| r.strip_prefix("#/components/schemas/"))
                    .map(|n| &schemas[n]);
                let example = named.unwrap_or(schema).get("example");
                assert!(example.is_some_and(Value::is_object), "{name}");
            }
        }
    }

    #[test]
    fn the_printed_document_closes_configuration_objects_and_hides_the_placeholder() {
        let text = super::super::spec_json();
        assert!(
            !text.contains(super::CLOSED),
            "the placeholder is not printed"
        );
        let doc: Value = serde_json::from_str(&text).expect("JSON");
        let sizing = &doc["components"]["schemas"]["Sizing"];
        assert_eq!(sizing["additionalProperties"], Value::Bool(false));
        assert_eq!(
            text,
            super::super::spec_json(),
            "printed the same way every time"
        );
    }
}
