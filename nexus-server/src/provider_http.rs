//! What the clients of outside providers (Stripe, Resend, OpenAI, Anthropic) share: the
//! checks of a configured API base and key, and an HTTP client that identifies Nexus and
//! never follows a redirect (one would resend the key elsewhere).

use std::time::Duration;

use reqwest::Url;

/// The `User-Agent` of every provider call.
pub const USER_AGENT: &str = concat!("nexus/", env!("CARGO_PKG_VERSION"));

/// `base` as an `http(s)` URL paths can be appended to, or why it is not one.
///
/// # Errors
/// What is wrong with it, in a few words.
pub fn api_base(base: &str) -> Result<Url, &'static str> {
    let url = Url::parse(base).map_err(|_| "not a URL")?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("the scheme is not http or https");
    }
    if url.cannot_be_a_base() || url.host().is_none() {
        return Err("it has no host");
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("it has a query or fragment");
    }
    Ok(url)
}

/// `base` with `path` appended (`https://api.example.com/v1` + `/emails`).
///
/// # Errors
/// When the joined text is no URL.
pub fn endpoint(base: &Url, path: &str) -> Result<Url, &'static str> {
    Url::parse(&format!("{}{path}", base.as_str().trim_end_matches('/')))
        .map_err(|_| "no path can be appended to it")
}

/// Whether `key` can be sent in a header: visible ASCII, not empty.
#[must_use]
pub fn header_safe(key: &str) -> bool {
    !key.is_empty()
        && key.bytes().all(|b| b.is_ascii_graphic())
        && reqwest::header::HeaderValue::from_str(key).is_ok()
}

/// An HTTP client with these timeouts, Nexus' `User-Agent` and no redirects.
///
/// # Errors
/// When no client can be built (no TLS roots).
pub fn client(timeout: Duration, connect_timeout: Duration) -> reqwest::Result<reqwest::Client> {
    nexus_exchanges::http::install_tls_provider();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(connect_timeout)
        .user_agent(USER_AGENT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bases_are_checked_and_paths_appended() {
        let base = api_base("https://api.example.com/v1/").unwrap();
        assert_eq!(
            endpoint(&base, "/chat/completions").unwrap().as_str(),
            "https://api.example.com/v1/chat/completions"
        );
        assert_eq!(
            api_base("ftp://x.io"),
            Err("the scheme is not http or https")
        );
        assert_eq!(api_base("nonsense"), Err("not a URL"));
        assert_eq!(
            api_base("https://x.io/?a=1"),
            Err("it has a query or fragment")
        );
        assert_eq!(
            api_base("mailto:a@x.io"),
            Err("the scheme is not http or https")
        );
        assert!(header_safe("sk_test_123") && !header_safe("") && !header_safe("a b"));
    }
}
