//! An HTTP client for one server that answers `(status, JSON body)`; a body that is not
//! JSON reads as `null`.

use reqwest::StatusCode;
use serde_json::Value;

#[derive(Clone)]
pub struct Http {
    pub base: String,
    pub client: reqwest::Client,
}

impl Http {
    /// A client of the server at `base` (`http://127.0.0.1:PORT`) that does not follow
    /// redirects, so a test sees them.
    pub fn new(base: impl Into<String>) -> Self {
        nexus_exchanges::http::install_tls_provider();
        Self {
            base: base.into(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post(&self, path: &str, body: &Value, token: Option<&str>) -> (StatusCode, Value) {
        let mut req = self.client.post(self.url(path)).json(body);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        answer(req).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        let mut req = self.client.get(self.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        answer(req).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> (StatusCode, Value) {
        answer(self.client.delete(self.url(path)).bearer_auth(token)).await
    }

    /// The body of `GET path` as text.
    pub async fn text(&self, path: &str) -> String {
        self.client
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// The value of the first `/metrics` line starting with `line_start` (0 when none).
    pub async fn metric(&self, line_start: &str) -> f64 {
        self.text("/metrics")
            .await
            .lines()
            .find(|l| l.starts_with(line_start))
            .and_then(|l| l.rsplit(' ').next())
            .map_or(0.0, |v| v.parse().unwrap())
    }
}

async fn answer(req: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}
