//! The WebSocket opening handshake (RFC 6455 §4.2), HTTP/1.1: an extractor that checks the
//! request and takes hyper's upgrade handle, and the `101 Switching Protocols` answer. A request
//! that is not a WebSocket handshake is refused `400 bad_request` before anything else runs.

use std::future::Future;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use hyper_util::rt::TokioIo;
use sha1::{Digest, Sha1};
use tern_proto::ErrorCode;

use super::{Wire, WireLimits};
use crate::error::{ApiError, Error};

/// The socket a connection serves: the upgraded HTTP connection under the relay's codec.
pub type Socket = Wire<TokioIo<hyper::upgrade::Upgraded>>;

/// A checked WebSocket handshake request, ready to be accepted.
pub struct Upgrade {
    key: HeaderValue,
    on_upgrade: hyper::upgrade::OnUpgrade,
}

impl<S: Send + Sync> FromRequestParts<S> for Upgrade {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let refuse = |what: &str| {
            ApiError(Error::refused(
                ErrorCode::BadRequest,
                format!("not a WebSocket handshake: {what}"),
            ))
        };
        if parts.method != Method::GET {
            return Err(refuse("the method is not GET"));
        }
        if !has_token(&parts.headers, header::CONNECTION, "upgrade") {
            return Err(refuse("no `Connection: upgrade`"));
        }
        if !has_token(&parts.headers, header::UPGRADE, "websocket") {
            return Err(refuse("no `Upgrade: websocket`"));
        }
        if !has_token(&parts.headers, header::SEC_WEBSOCKET_VERSION, "13") {
            return Err(refuse("WebSocket version 13 is required"));
        }
        // The key is 16 random bytes in base64 (RFC 6455 §4.1).
        let key = match parts.headers.get(header::SEC_WEBSOCKET_KEY) {
            Some(key) if valid_key(key.as_bytes()) => key.clone(),
            _ => return Err(refuse("no valid Sec-WebSocket-Key")),
        };
        let on_upgrade = parts
            .extensions
            .remove::<hyper::upgrade::OnUpgrade>()
            .ok_or_else(|| refuse("the connection cannot be upgraded"))?;
        Ok(Upgrade { key, on_upgrade })
    }
}

impl Upgrade {
    /// Answer `101 Switching Protocols` and, once the client has it, run `serve` on the socket.
    pub fn accept<F, Fut>(self, limits: WireLimits, serve: F) -> Response
    where
        F: FnOnce(Socket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let on_upgrade = self.on_upgrade;
        tokio::spawn(async move {
            match on_upgrade.await {
                Ok(upgraded) => serve(Wire::new(TokioIo::new(upgraded), limits)).await,
                Err(e) => tracing::debug!(error = %e, "WebSocket upgrade failed"),
            }
        });
        Response::builder()
            .status(StatusCode::SWITCHING_PROTOCOLS)
            .header(header::CONNECTION, "upgrade")
            .header(header::UPGRADE, "websocket")
            .header(
                header::SEC_WEBSOCKET_ACCEPT,
                accept_key(self.key.as_bytes()),
            )
            .body(axum::body::Body::empty())
            .expect("a valid response")
    }
}

/// `Sec-WebSocket-Accept` for a client's key.
fn accept_key(key: &[u8]) -> String {
    let mut sha1 = Sha1::new();
    sha1.update(key);
    sha1.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    base64::engine::general_purpose::STANDARD.encode(sha1.finalize())
}

/// Whether `key` is 16 bytes in base64.
fn valid_key(key: &[u8]) -> bool {
    base64::engine::general_purpose::STANDARD
        .decode(key)
        .is_ok_and(|k| k.len() == 16)
}

/// Whether the header's comma-separated tokens include `token` (case-insensitive).
fn has_token(headers: &HeaderMap, name: HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|v| {
        v.to_str()
            .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_accept_key_is_the_rfc_example() {
        // RFC 6455 §1.3.
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn a_key_is_sixteen_bytes_in_base64() {
        assert!(valid_key(b"dGhlIHNhbXBsZSBub25jZQ=="));
        assert!(!valid_key(b""));
        assert!(!valid_key(b"not base64!"));
        assert!(!valid_key(b"c2hvcnQ="), "five bytes");
    }

    #[test]
    fn tokens_are_matched_whole_and_in_any_case() {
        let mut h = HeaderMap::new();
        h.append(header::CONNECTION, "keep-alive, Upgrade".parse().unwrap());
        assert!(has_token(&h, header::CONNECTION, "upgrade"));
        h.insert(header::UPGRADE, "websockets".parse().unwrap());
        assert!(!has_token(&h, header::UPGRADE, "websocket"));
    }
}
