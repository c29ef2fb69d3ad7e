//! `/app/keys`: the user's exchange keys, masked, and a form adding one. The key is
//! checked with its venue by the API's own operation, whose answer the page shows: the
//! venue's refusal above the form, or what the key may do once it is stored. Secrets
//! are never written back into the form.

use std::sync::Arc;

use askama::Template;
use chrono::Utc;
use nexus_core::ExchangeId;
use nexus_core::ports::credentials::CredentialInfo;
use poem::http::StatusCode;
use poem::web::cookie::CookieJar;
use poem::web::{Data, Form, Path};
use poem::{Request, Response, handler};
use poem_openapi::payload::Json;
use poem_openapi::types::ParseFromJSON;
use serde::Deserialize;
use uuid::Uuid;

use super::call::{Failure, outcome};
use super::format::{When, when};
use super::guard;
use super::render::{Chrome, error_page, html, page, redirect};
use super::viewer::{Viewer, flash};
use crate::api::client_ip::ClientIp;
use crate::api::session::Session;
use crate::api::{ApiState, KeysApi};

/// The venues a key can be added for (Paper bots need none).
const VENUES: [(&str, &str); 3] = [
    ("binance", "Binance"),
    ("kraken", "Kraken"),
    ("coinbase", "Coinbase"),
];

/// The signed-in user's session for the API's operations, or the answer sending a
/// visitor to sign in.
///
/// # Errors
/// The redirect to the sign-in page.
pub fn session_of(viewer: &Viewer, req: &Request) -> Result<Session, Box<Response>> {
    guard::signed_in(viewer, req)?;
    viewer
        .session()
        .ok_or_else(|| Box::new(error_page(viewer, StatusCode::UNAUTHORIZED, None)))
}

/// A venue's name for people.
#[must_use]
pub fn venue_name(exchange: ExchangeId) -> &'static str {
    match exchange {
        ExchangeId::Binance => "Binance",
        ExchangeId::Kraken => "Kraken",
        ExchangeId::Coinbase => "Coinbase",
        ExchangeId::Paper => "Paper",
    }
}

/// `text` with its first letter in upper case (API messages start in lower case).
#[must_use]
pub fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect::<String>())
        .unwrap_or_default()
}

/// What a key may do, in words.
fn abilities(info: &CredentialInfo) -> String {
    let p = info.permissions;
    let mut may = Vec::new();
    if p.read {
        may.push("read balances");
    }
    if p.trade {
        may.push("trade");
    }
    if p.withdraw {
        may.push("withdraw funds");
    }
    match may.as_slice() {
        [] => "nothing".to_owned(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// One stored key as the list shows it.
struct KeyRow {
    id: String,
    venue: &'static str,
    label: String,
    masked: String,
    added: When,
    may: String,
    trade: bool,
    withdraw: bool,
}

impl KeyRow {
    fn new(info: &CredentialInfo, now: chrono::DateTime<Utc>) -> Self {
        Self {
            id: info.id.0.to_string(),
            venue: venue_name(info.exchange),
            label: info.label.clone(),
            masked: info.masked_key.clone(),
            added: when(info.created_at, now),
            may: abilities(info),
            trade: info.permissions.trade,
            withdraw: info.permissions.withdraw,
        }
    }
}

/// The add-a-key form: what to show again (never the secret or passphrase) and errors.
#[derive(Default)]
struct KeyForm {
    exchange: String,
    label: String,
    key: String,
    exchange_error: String,
    label_error: String,
    key_error: String,
    secret_error: String,
    passphrase_error: String,
    /// A refusal that names no field: (title, text).
    error: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "app/keys.html")]
struct KeysPage {
    chrome: Chrome,
    keys: Vec<KeyRow>,
    venues: Vec<(&'static str, &'static str)>,
    form: KeyForm,
    load_error: bool,
}

#[derive(Template)]
#[template(path = "app/key_delete.html")]
struct DeletePage {
    chrome: Chrome,
    key: KeyRow,
}

/// The fields of the add-a-key form. No `Debug`: it holds the secret.
#[derive(Deserialize)]
pub struct AddKeyForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
    #[serde(default)]
    exchange: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    secret: String,
    #[serde(default)]
    passphrase: String,
}

/// The CSRF field of the delete form.
#[derive(Debug, Deserialize)]
pub struct DeleteForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
}

async fn keys_page(state: &ApiState, viewer: &Viewer, form: KeyForm) -> KeysPage {
    let now = Utc::now();
    let (keys, load_error) = match &viewer.user {
        Some(user) => match state.store.list_credentials(user.user.id).await {
            Ok(keys) => (keys.iter().map(|k| KeyRow::new(k, now)).collect(), false),
            Err(e) => {
                tracing::warn!(error = %e, "exchange keys not listed");
                (Vec::new(), true)
            }
        },
        None => (Vec::new(), false),
    };
    KeysPage {
        chrome: Chrome::new(viewer, "Exchange keys"),
        keys,
        venues: VENUES.to_vec(),
        form: KeyForm {
            exchange: if form.exchange.is_empty() {
                "binance".to_owned()
            } else {
                form.exchange
            },
            ..form
        },
        load_error,
    }
}

/// `GET /app/keys`.
#[handler]
pub async fn list(req: &Request, viewer: Viewer, state: Data<&Arc<ApiState>>) -> Response {
    if let Err(answer) = guard::signed_in(&viewer, req) {
        return *answer;
    }
    page(&keys_page(&state, &viewer, KeyForm::default()).await)
}

/// Where the API's refusal of a key is shown: beside the field it names, or above the form.
fn refused(form: &mut KeyForm, failure: &Failure) {
    let problem = sentence(failure.problem());
    match failure.field(&["exchange", "label", "key", "secret", "passphrase"]) {
        Some("exchange") => form.exchange_error = problem,
        Some("label") => form.label_error = problem,
        Some("key") => form.key_error = problem,
        Some("secret") => form.secret_error = problem,
        Some("passphrase") => form.passphrase_error = problem,
        _ => {
            let title = match failure.code.as_str() {
                "invalid_exchange_key" => "The exchange refused the key",
                "key_cannot_trade" => "The key may not trade",
                "exchange_unavailable" => "The exchange could not be asked",
                "rate_limited" => "Too many keys checked",
                _ => "The key was not added",
            };
            form.error = Some((title.to_owned(), sentence(&failure.message)));
        }
    }
}

/// `POST /app/keys`: checks the key with its venue and stores it (the API's operation).
#[handler]
pub async fn add(
    req: &Request,
    viewer: Viewer,
    client: ClientIp,
    state: Data<&Arc<ApiState>>,
    jar: &CookieJar,
    Form(form): Form<AddKeyForm>,
) -> Response {
    let session = match session_of(&viewer, req) {
        Ok(session) => session,
        Err(answer) => return *answer,
    };
    if let Err(answer) = guard::csrf(&viewer, req, form.csrf.as_deref()) {
        return *answer;
    }
    let passphrase = form.passphrase.trim();
    let label = form.label.trim();
    // The body a JSON client would send, read by the operation's own parser.
    let body = serde_json::json!({
        "exchange": form.exchange,
        "key": form.key,
        "secret": form.secret,
        "passphrase": (!passphrase.is_empty()).then_some(passphrase),
        "label": (!label.is_empty()).then_some(label),
    });
    // What the form shows again if the key is refused: never the secret or passphrase.
    let mut again = KeyForm {
        exchange: form.exchange.clone(),
        label: form.label.clone(),
        key: form.key.clone(),
        ..KeyForm::default()
    };
    let answer = match ParseFromJSON::parse_from_json(Some(body)) {
        Ok(new_key) => {
            KeysApi
                .add(Data(&state), session, Json(new_key), client)
                .await
        }
        Err(e) => {
            again.exchange_error = format!("Choose one of the listed exchanges ({})", e.message());
            let page_ = keys_page(&state, &viewer, again).await;
            return html(StatusCode::UNPROCESSABLE_ENTITY, &page_);
        }
    };
    match outcome(answer).await {
        Ok(_) => {
            let venue = VENUES
                .iter()
                .find(|(v, _)| *v == form.exchange)
                .map_or("The exchange", |(_, name)| name);
            added_flash(&state, &viewer, jar, venue).await;
            redirect(req, "/app/keys")
        }
        Err(failure) => {
            refused(&mut again, &failure);
            let status = if failure.status.is_server_error() {
                failure.status
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            html(status, &keys_page(&state, &viewer, again).await)
        }
    }
}

/// The message after a key is stored: what the venue's check said it may do (read back
/// from the store: the newest key is the one just added).
async fn added_flash(state: &ApiState, viewer: &Viewer, jar: &CookieJar, venue: &str) {
    let newest = match &viewer.user {
        Some(user) => state
            .store
            .list_credentials(user.user.id)
            .await
            .ok()
            .and_then(|keys| keys.into_iter().max_by_key(|k| k.created_at)),
        None => None,
    };
    match newest {
        Some(key) if key.permissions.withdraw => flash(
            jar,
            "warning",
            &format!(
                "{venue} accepted the key ({}); it may {}. Nexus never needs withdrawals: \
                 create a key without withdrawal permission and replace this one.",
                key.masked_key,
                abilities(&key)
            ),
        ),
        Some(key) => flash(
            jar,
            "success",
            &format!(
                "{venue} accepted the key ({}); it may {}.",
                key.masked_key,
                abilities(&key)
            ),
        ),
        None => flash(jar, "success", &format!("{venue} accepted the key.")),
    }
}

/// The caller's key `id`, if it is theirs.
async fn own_key(state: &ApiState, viewer: &Viewer, id: Uuid) -> Option<CredentialInfo> {
    let user = viewer.user.as_ref()?;
    state
        .store
        .list_credentials(user.user.id)
        .await
        .ok()?
        .into_iter()
        .find(|k| k.id.0 == id)
}

/// `GET /app/keys/:id/delete`: the confirmation page (the list's dialog without scripts).
#[handler]
pub async fn confirm_delete(
    req: &Request,
    viewer: Viewer,
    state: Data<&Arc<ApiState>>,
    Path(id): Path<String>,
) -> Response {
    if let Err(answer) = guard::signed_in(&viewer, req) {
        return *answer;
    }
    let found = match Uuid::parse_str(&id) {
        Ok(id) => own_key(&state, &viewer, id).await,
        Err(_) => None,
    };
    match found {
        Some(key) => page(&DeletePage {
            chrome: Chrome::new(&viewer, "Delete an exchange key"),
            key: KeyRow::new(&key, Utc::now()),
        }),
        None => error_page(&viewer, StatusCode::NOT_FOUND, None),
    }
}

/// `POST /app/keys/:id/delete`.
#[handler]
pub async fn delete(
    req: &Request,
    viewer: Viewer,
    client: ClientIp,
    state: Data<&Arc<ApiState>>,
    jar: &CookieJar,
    Path(id): Path<String>,
    Form(form): Form<DeleteForm>,
) -> Response {
    let session = match session_of(&viewer, req) {
        Ok(session) => session,
        Err(answer) => return *answer,
    };
    if let Err(answer) = guard::csrf(&viewer, req, form.csrf.as_deref()) {
        return *answer;
    }
    let Ok(id) = Uuid::parse_str(&id) else {
        return error_page(&viewer, StatusCode::NOT_FOUND, None);
    };
    let known = own_key(&state, &viewer, id).await;
    let answer = KeysApi
        .delete(Data(&state), session, poem_openapi::param::Path(id), client)
        .await;
    match outcome(answer).await {
        Ok(_) => {
            let what = known.map_or_else(
                || "The key".to_owned(),
                |k| format!("The {} key {}", venue_name(k.exchange), k.label),
            );
            flash(
                jar,
                "success",
                &format!(
                    "{what} is deleted. Bots that used it skip their trades until given another key."
                ),
            );
            redirect(req, "/app/keys")
        }
        Err(failure) if failure.status == StatusCode::NOT_FOUND => {
            error_page(&viewer, StatusCode::NOT_FOUND, None)
        }
        Err(failure) => {
            flash(jar, "danger", &sentence(&failure.message));
            redirect(req, "/app/keys")
        }
    }
}

#[cfg(test)]
mod tests {
    use nexus_core::KeyPermissions;
    use nexus_core::ports::credentials::CredentialId;

    use super::*;

    fn key(read: bool, trade: bool, withdraw: bool) -> CredentialInfo {
        CredentialInfo {
            id: CredentialId(Uuid::nil()),
            user: nexus_core::UserId::new(Uuid::nil()),
            exchange: ExchangeId::Kraken,
            label: "main".into(),
            masked_key: "abcd…wxyz".into(),
            permissions: KeyPermissions {
                read,
                trade,
                withdraw,
            },
            created_at: Utc::now(),
        }
    }

    #[test]
    fn what_a_key_may_do_reads_as_a_sentence() {
        assert_eq!(
            abilities(&key(true, true, false)),
            "read balances and trade"
        );
        assert_eq!(
            abilities(&key(true, true, true)),
            "read balances, trade and withdraw funds"
        );
        assert_eq!(abilities(&key(false, true, false)), "trade");
        assert_eq!(abilities(&key(false, false, false)), "nothing");
        assert_eq!(sentence("binance refused"), "Binance refused");
        assert_eq!(sentence(""), "");
    }

    #[test]
    fn a_refusal_goes_beside_its_field_or_above_the_form() {
        let failure = |code: &str, message: &str| Failure {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: code.into(),
            message: message.into(),
        };
        let mut form = KeyForm::default();
        refused(
            &mut form,
            &failure("invalid_field", "secret: 1 to 8192 characters"),
        );
        assert_eq!(form.secret_error, "1 to 8192 characters");
        assert!(form.error.is_none());
        let mut form = KeyForm::default();
        refused(
            &mut form,
            &failure(
                "invalid_exchange_key",
                "binance refused the key: bad signature",
            ),
        );
        assert_eq!(
            form.error,
            Some((
                "The exchange refused the key".to_owned(),
                "Binance refused the key: bad signature".to_owned()
            ))
        );
    }
}
