//! The web app's static files, compiled into the binary and served under a name holding a
//! hash of their content (`/assets/app.3fa2c1d0.css`), so browsers keep them for a year
//! and a new build's files are new URLs.

use std::sync::LazyLock;

use poem::http::StatusCode;
use poem::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use poem::web::Path;
use poem::{Response, handler};
use sha2::{Digest, Sha256};

/// One file.
#[derive(Debug)]
pub struct Asset {
    /// Its name in the repository (`app.css`).
    pub name: &'static str,
    /// The URL it is served at, hash included.
    pub url: String,
    content_type: &'static str,
    bytes: &'static [u8],
}

/// Where the files are served.
pub const PREFIX: &str = "/assets/";

const FILES: [(&str, &str, &[u8]); 3] = [
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/app.js"),
    ),
    (
        "htmx.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/vendor/htmx-2.0.11.min.js"),
    ),
];

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|&(name, content_type, bytes)| {
            let digest = Sha256::digest(bytes);
            let hash: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
            let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
            Asset {
                name,
                url: format!("{PREFIX}{stem}.{hash}.{ext}"),
                content_type,
                bytes,
            }
        })
        .collect()
});

/// The URL of the file `name` (`app.css`, `app.js`, `htmx.min.js`).
///
/// # Panics
/// When `name` is not one of the files: a typo in a template is a bug found by any test
/// that renders the page.
#[must_use]
pub fn url(name: &str) -> &'static str {
    ASSETS
        .iter()
        .find(|a| a.name == name)
        .map(|a| a.url.as_str())
        .unwrap_or_else(|| panic!("no asset named {name}"))
}

/// Every file, for tests and the size budget.
#[must_use]
pub fn all() -> &'static [Asset] {
    &ASSETS
}

impl Asset {
    /// The file's bytes.
    #[must_use]
    pub fn bytes(&self) -> &'static [u8] {
        self.bytes
    }
}

/// `GET /assets/:file`: the file whose hashed name this is, cached for a year; an old or
/// unknown name is a 404 (a page from an older build reloads and gets the new names).
#[handler]
pub fn serve(Path(file): Path<String>) -> Response {
    let wanted = format!("{PREFIX}{file}");
    match ASSETS.iter().find(|a| a.url == wanted) {
        Some(asset) => Response::builder()
            .header(CONTENT_TYPE, asset.content_type)
            .header(CACHE_CONTROL, "public, max-age=31536000, immutable")
            .body(asset.bytes),
        None => Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body("no such file"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_content_hash() {
        let css = url("app.css");
        assert!(
            css.starts_with("/assets/app.") && css.ends_with(".css"),
            "{css}"
        );
        assert_eq!(css.len(), "/assets/app.12345678.css".len());
        assert_ne!(url("app.js"), url("htmx.min.js"));
    }
}
