//! The account pages: sign up, sign in, sign out, verify the address, forgot and reset
//! the password. Each form posts to its own page, which calls the API's operation and
//! shows its error beside the field it names.

use std::sync::Arc;

use askama::Template;
use poem::http::StatusCode;
use poem::web::cookie::CookieJar;
use poem::web::{Data, Form, Query};
use poem::{Request, Response, handler};
use poem_openapi::payload::Json;
use serde::Deserialize;

use super::call::{Failure, outcome};
use super::guard;
use super::render::{Chrome, html, local_path, page, redirect};
use super::viewer::{Viewer, flash};
use crate::api::client_ip::ClientIp;
use crate::api::{ApiState, AuthApi, bodies};

/// A field of an account form.
#[derive(Debug, Clone, Default)]
pub struct FieldView {
    /// The form name.
    pub name: &'static str,
    /// The visible label.
    pub label: &'static str,
    /// The input type.
    pub ty: &'static str,
    /// The value to show again (never a password).
    pub value: String,
    /// Help below the field.
    pub help: &'static str,
    /// The error for this field.
    pub error: String,
    /// The browser's autofill hint.
    pub autocomplete: &'static str,
}

fn email_field(value: &str) -> FieldView {
    FieldView {
        name: "email",
        label: "Email",
        ty: "email",
        value: value.to_owned(),
        autocomplete: "email",
        ..FieldView::default()
    }
}

fn password_field(autocomplete: &'static str, help: &'static str) -> FieldView {
    FieldView {
        name: "password",
        label: "Password",
        ty: "password",
        help,
        autocomplete,
        ..FieldView::default()
    }
}

/// One account form page.
#[derive(Template)]
#[template(path = "auth/form.html")]
struct AuthForm {
    chrome: Chrome,
    heading: &'static str,
    intro: &'static str,
    action: String,
    hidden: Vec<(&'static str, String)>,
    fields: Vec<FieldView>,
    submit: &'static str,
    links: Vec<(&'static str, &'static str)>,
    error: Option<String>,
    done: Option<String>,
    show_form: bool,
    google: bool,
}

impl AuthForm {
    fn new(viewer: &Viewer, heading: &'static str, action: impl Into<String>) -> Self {
        Self {
            chrome: Chrome::new(viewer, heading),
            heading,
            intro: "",
            action: action.into(),
            hidden: Vec::new(),
            fields: Vec::new(),
            submit: heading,
            links: Vec::new(),
            error: None,
            done: None,
            show_form: true,
            google: false,
        }
    }

    /// Shows `failure` beside its field, or above the form.
    fn failed(mut self, failure: &Failure) -> Response {
        let names: Vec<&str> = self.fields.iter().map(|f| f.name).collect();
        match failure.field(&names) {
            Some(name) => {
                if let Some(f) = self.fields.iter_mut().find(|f| f.name == name) {
                    f.error = capitalised(failure.problem());
                }
            }
            None => self.error = Some(capitalised(&failure.message)),
        }
        let status = if failure.status.is_server_error() {
            failure.status
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        html(status, &self)
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect::<String>())
        .unwrap_or_default()
}

/// Fields posted by the account forms.
#[derive(Debug, Default, Deserialize)]
pub struct AccountForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    token: String,
    next: Option<String>,
}

/// `?next=` and `?token=`.
#[derive(Debug, Default, Deserialize)]
pub struct LinkQuery {
    next: Option<String>,
    token: Option<String>,
}

fn signup_page(viewer: &Viewer, email: &str) -> AuthForm {
    let mut form = AuthForm::new(viewer, "Sign up", "/signup");
    form.intro = "Create your account: we email you a link to confirm the address.";
    form.fields = vec![
        email_field(email),
        password_field("new-password", "At least 8 characters."),
    ];
    form.links = vec![("/login", "Already have an account? Sign in")];
    form
}

/// `GET /signup`.
#[handler]
pub fn signup_form(viewer: Viewer) -> Response {
    page(&signup_page(&viewer, ""))
}

/// `POST /signup`.
#[handler]
pub async fn signup(
    req: &Request,
    viewer: Viewer,
    client: ClientIp,
    state: Data<&Arc<ApiState>>,
    Form(form): Form<AccountForm>,
) -> Response {
    if let Err(answer) = guard::csrf(&viewer, req, form.csrf.as_deref()) {
        return *answer;
    }
    let body = bodies::SignUp {
        email: form.email.clone().into(),
        password: form.password.into(),
    };
    let answer = AuthApi.signup(Data(&state), Json(body), client).await;
    let mut page_ = signup_page(&viewer, &form.email);
    match outcome(answer).await {
        Ok(_) => {
            page_.show_form = false;
            page_.done = Some(format!(
                "Check your inbox: we sent a link to {} to confirm the address.",
                form.email.trim()
            ));
            page(&page_)
        }
        Err(failure) => page_.failed(&failure),
    }
}

fn login_page(viewer: &Viewer, state: &ApiState, email: &str, next: Option<&str>) -> AuthForm {
    let mut form = AuthForm::new(viewer, "Sign in", "/login");
    form.fields = vec![email_field(email), password_field("current-password", "")];
    if let Some(next) = next {
        form.hidden.push(("next", local_path(Some(next), "/app")));
    }
    form.links = vec![
        ("/forgot", "Forgot your password?"),
        ("/signup", "New here? Sign up"),
    ];
    form.google = state.oidc.is_some();
    form
}

/// `GET /login`.
#[handler]
pub fn login_form(
    req: &Request,
    viewer: Viewer,
    state: Data<&Arc<ApiState>>,
    Query(q): Query<LinkQuery>,
) -> Response {
    if viewer.user.is_some() {
        return redirect(req, &local_path(q.next.as_deref(), "/app"));
    }
    page(&login_page(&viewer, &state, "", q.next.as_deref()))
}

/// `POST /login`.
#[handler]
pub async fn login(
    req: &Request,
    viewer: Viewer,
    client: ClientIp,
    state: Data<&Arc<ApiState>>,
    jar: &CookieJar,
    Form(form): Form<AccountForm>,
) -> Response {
    if let Err(answer) = guard::csrf(&viewer, req, form.csrf.as_deref()) {
        return *answer;
    }
    let body = bodies::Credentials {
        email: form.email.clone().into(),
        password: form.password.into(),
    };
    let answer = AuthApi
        .login(Data(&state), Json(body), client, req, jar)
        .await;
    match outcome(answer).await {
        Ok(_) => redirect(req, &local_path(form.next.as_deref(), "/app")),
        Err(failure) => {
            login_page(&viewer, &state, &form.email, form.next.as_deref()).failed(&failure)
        }
    }
}

/// `POST /logout`.
#[handler]
pub async fn logout(
    req: &Request,
    viewer: Viewer,
    client: ClientIp,
    state: Data<&Arc<ApiState>>,
    jar: &CookieJar,
    Form(form): Form<AccountForm>,
) -> Response {
    if let Err(answer) = guard::csrf(&viewer, req, form.csrf.as_deref()) {
        return *answer;
    }
    if let Some(session) = viewer.session() {
        let answer = AuthApi.logout(Data(&state), session, client, jar).await;
        if let Err(failure) = outcome(answer).await {
            tracing::warn!(code = %failure.code, "sign-out failed");
        }
    }
    flash(jar, "success", "You are signed out.");
    redirect(req, "/login")
}

fn verify_page(viewer: &Viewer, token: &str) -> AuthForm {
    let mut form = AuthForm::new(viewer, "Confirm your email address", "/verify");
    form.intro = "Choose the password you will sign in with to finish signing up.";
    form.submit = "Confirm";
    form.hidden.push(("token", token.to_owned()));
    form.fields = vec![password_field("new-password", "At least 8 characters.")];
    form
}

/// `GET /verify?token=…` (and `/verify-email`, where the emails' links point).
#[handler]
pub fn verify_form(viewer: Viewer, Query(q): Query<LinkQuery>) -> Response {
    page(&verify_page(
        &viewer,
        q.token.as_deref().unwrap_or_default(),
    ))
}

/// `POST /verify`.
#[handler]
pub async fn verify(
    req: &Request,
    viewer: Viewer,
    client: ClientIp,
    state: Data<&Arc<ApiState>>,
    jar: &CookieJar,
    Form(form): Form<AccountForm>,
) -> Response {
    if let Err(answer) = guard::csrf(&viewer, req, form.csrf.as_deref()) {
        return *answer;
    }
    let body = bodies::Verify {
        token: form.token.clone().into(),
        password: Some(form.password.into()),
    };
    let answer = AuthApi.verify(Data(&state), Json(body), client).await;
    match outcome(answer).await {
        Ok(_) => {
            flash(
                jar,
                "success",
                "Your email address is confirmed. Sign in to start.",
            );
            redirect(req, "/login")
        }
        Err(failure) => verify_page(&viewer, &form.token).failed(&failure),
    }
}

fn forgot_page(viewer: &Viewer, email: &str) -> AuthForm {
    let mut form = AuthForm::new(viewer, "Forgot your password?", "/forgot");
    form.intro = "We email you a link to choose a new one.";
    form.submit = "Email me a link";
    form.fields = vec![email_field(email)];
    form.links = vec![("/login", "Back to sign in")];
    form
}

/// `GET /forgot`.
#[handler]
pub fn forgot_form(viewer: Viewer) -> Response {
    page(&forgot_page(&viewer, ""))
}

/// `POST /forgot`.
#[handler]
pub async fn forgot(
    req: &Request,
    viewer: Viewer,
    client: ClientIp,
    state: Data<&Arc<ApiState>>,
    Form(form): Form<AccountForm>,
) -> Response {
    if let Err(answer) = guard::csrf(&viewer, req, form.csrf.as_deref()) {
        return *answer;
    }
    let body = bodies::Forgot {
        email: form.email.clone().into(),
    };
    let answer = AuthApi.forgot(Data(&state), Json(body), client).await;
    let mut page_ = forgot_page(&viewer, &form.email);
    match outcome(answer).await {
        Ok(_) => {
            page_.show_form = false;
            page_.done = Some(
                "If an account has this address, a link to reset its password is on its way."
                    .to_owned(),
            );
            page(&page_)
        }
        Err(failure) => page_.failed(&failure),
    }
}

fn reset_page(viewer: &Viewer, token: &str) -> AuthForm {
    let mut form = AuthForm::new(viewer, "Choose a new password", "/reset");
    form.submit = "Change password";
    form.hidden.push(("token", token.to_owned()));
    form.fields = vec![password_field(
        "new-password",
        "At least 8 characters. Every session of the account is signed out.",
    )];
    form
}

/// `GET /reset?token=…` (and `/reset-password`).
#[handler]
pub fn reset_form(viewer: Viewer, Query(q): Query<LinkQuery>) -> Response {
    page(&reset_page(&viewer, q.token.as_deref().unwrap_or_default()))
}

/// `POST /reset`.
#[handler]
pub async fn reset(
    req: &Request,
    viewer: Viewer,
    client: ClientIp,
    state: Data<&Arc<ApiState>>,
    jar: &CookieJar,
    Form(form): Form<AccountForm>,
) -> Response {
    if let Err(answer) = guard::csrf(&viewer, req, form.csrf.as_deref()) {
        return *answer;
    }
    let body = bodies::Reset {
        token: form.token.clone().into(),
        password: form.password.into(),
    };
    let answer = AuthApi.reset(Data(&state), Json(body), client).await;
    match outcome(answer).await {
        Ok(_) => {
            flash(jar, "success", "Your password is changed. Sign in with it.");
            redirect(req, "/login")
        }
        Err(failure) => reset_page(&viewer, &form.token).failed(&failure),
    }
}
