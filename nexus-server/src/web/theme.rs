//! `POST /theme`: the theme button. The choice is a cookie kept for a year, so the server
//! renders the chosen theme from the first byte (no flash of the wrong one).

use poem::web::Form;
use poem::web::cookie::{Cookie, CookieJar, SameSite};
use poem::{Request, Response, handler};
use serde::Deserialize;

use super::guard;
use super::render::{local_path, redirect};
use super::viewer::{THEME_COOKIE, Theme, Viewer};

/// The theme form.
#[derive(Debug, Deserialize)]
pub struct ThemeForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
    theme: String,
    back: Option<String>,
}

/// Sets the theme and returns to the page the button was on.
#[handler]
pub async fn choose(
    req: &Request,
    viewer: Viewer,
    jar: &CookieJar,
    Form(form): Form<ThemeForm>,
) -> Response {
    if let Err(answer) = guard::csrf(&viewer, req, form.csrf.as_deref()) {
        return *answer;
    }
    let theme = Theme::parse(&form.theme);
    let mut cookie = Cookie::new_with_str(THEME_COOKIE, theme.attribute());
    cookie.set_path("/");
    cookie.set_same_site(SameSite::Lax);
    cookie.set_max_age(std::time::Duration::from_secs(365 * 24 * 3600));
    jar.add(cookie);
    redirect(req, &local_path(form.back.as_deref(), "/"))
}
