//! Pages act through the API's own operations, called in the process (no HTTP to itself):
//! the same validation, plan limits, audit entries and error codes as `/api/v1`. An
//! operation's error answer becomes a [`Failure`], whose message names the field the
//! form shows it beside.

use poem::http::StatusCode;
use poem::{IntoResponse, Response};

use crate::api::ErrorBody;

/// An operation's error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The HTTP status the API would answer with.
    pub status: StatusCode,
    /// The stable code (`invalid_field`, `plan_limit`, …).
    pub code: String,
    /// What was wrong.
    pub message: String,
}

impl Failure {
    /// The form field the message names (`symbol: …` names `symbol`), if one of `fields`.
    #[must_use]
    pub fn field<'f>(&self, fields: &[&'f str]) -> Option<&'f str> {
        let (head, _) = self.message.split_once(": ")?;
        let head = head.split(['.', '[']).next().unwrap_or(head);
        fields.iter().copied().find(|f| *f == head)
    }

    /// The message without its field name.
    #[must_use]
    pub fn problem(&self) -> &str {
        self.message
            .split_once(": ")
            .map_or(self.message.as_str(), |(_, p)| p)
    }
}

/// The outcome of an API operation: its successful answer, or its error as a [`Failure`].
///
/// # Errors
/// The operation's error answer (status 400 and above).
pub async fn outcome(answer: impl IntoResponse) -> Result<Response, Failure> {
    let response = answer.into_response();
    let status = response.status();
    if status.is_success() || status.is_redirection() {
        return Ok(response);
    }
    let bytes = response.into_body().into_bytes().await.unwrap_or_default();
    let body: ErrorBody = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
        ErrorBody::new(
            "error",
            String::from_utf8_lossy(&bytes)
                .chars()
                .take(300)
                .collect::<String>(),
        )
    });
    Err(Failure {
        status,
        code: body.code,
        message: body.message,
    })
}

/// The JSON body of a successful answer, read into `T`.
///
/// # Errors
/// A body that is not `T` (a bug: the operation's schema is `T`), as a 500 [`Failure`].
pub async fn json<T: serde::de::DeserializeOwned>(response: Response) -> Result<T, Failure> {
    let bytes = response.into_body().into_bytes().await.unwrap_or_default();
    serde_json::from_slice(&bytes).map_err(|e| Failure {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        code: "internal".into(),
        message: format!("unexpected answer: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use poem::web::Json;

    use super::*;

    #[tokio::test]
    async fn an_error_answer_names_its_field() {
        let answer = Json(ErrorBody::new("invalid_field", "symbol: not BASE/QUOTE"))
            .with_status(StatusCode::UNPROCESSABLE_ENTITY);
        let failure = outcome(answer).await.expect_err("an error");
        assert_eq!(failure.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(failure.field(&["name", "symbol"]), Some("symbol"));
        assert_eq!(failure.problem(), "not BASE/QUOTE");
        let nested = Failure {
            message: "sizing.method.percent: above 0".into(),
            ..failure.clone()
        };
        assert_eq!(nested.field(&["sizing"]), Some("sizing"));
        assert_eq!(nested.field(&["symbol"]), None);
    }

    #[tokio::test]
    async fn a_success_is_kept() {
        let ok = outcome(Json(serde_json::json!({"a": 1})))
            .await
            .expect("ok");
        let v: serde_json::Value = json(ok).await.expect("json");
        assert_eq!(v["a"], 1);
    }
}
