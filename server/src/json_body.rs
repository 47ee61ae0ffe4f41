//! The body extractor of the JSON endpoints: `Content-Type: application/json` required, size
//! bounded, and every refusal answered with a JSON [`tern_proto::ErrorBody`].
//!
//! Requiring the JSON content type is what keeps a web page from posting to the relay: a
//! cross-site form or `fetch` without a CORS preflight can only send `text/plain`,
//! `application/x-www-form-urlencoded` or `multipart/form-data`. axum's own rejections answer
//! in plain text; clients are promised an `ErrorBody`, so they are mapped here.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;
use tern_proto::ErrorCode;

use crate::error::ApiError;
use crate::error::Error;

/// A request body parsed from JSON.
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

/// Whether a `Content-Type` value names JSON (parameters such as `charset` are allowed).
fn is_json(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(is_json);
        if !json {
            return Err(Error::refused(
                ErrorCode::UnsupportedMediaType,
                "send the body as Content-Type: application/json",
            )
            .into());
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Error::refused(ErrorCode::BodyTooLarge, "the request body is too large")
            } else {
                Error::refused(
                    ErrorCode::BadRequest,
                    format!("cannot read the body: {rejection}"),
                )
            }
        })?;
        // JSON is UTF-8 (RFC 8259). Checked whole, before parsing: the parser does not look
        // inside the strings of fields it skips, and a NUL must not hide behind one of those.
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| Error::refused(ErrorCode::BadRequest, "the body is not UTF-8"))?;
        if tern_proto::escapes_nul(text) {
            return Err(Error::refused(ErrorCode::BadRequest, tern_proto::NUL_REFUSED).into());
        }
        serde_json::from_str(text).map(JsonBody).map_err(|e| {
            Error::refused(ErrorCode::BadRequest, format!("invalid JSON body: {e}")).into()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_json_content_types_are_accepted() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("application/jsonp"));
        assert!(!is_json("text/plain; application/json"));
    }
}
