//! The relay's axum extractors: who is asking ([`ClientAddr`], resolved through trusted
//! proxies) and on whose behalf ([`Authenticated`], from the bearer token). Handlers take them
//! as arguments; refusals are JSON [`ApiError`]s.
//!
//! Token checks run on the store's read connection ([`crate::store::Store::read`]), so a flood
//! of bogus tokens never queues in front of message commits.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use tern_proto::ErrorCode;

use crate::auth::hash_token;
use crate::client_addr::{resolve, AddrKey};
use crate::error::{ApiError, Error};
use crate::state::AppState;
use crate::store::AuthSession;

/// Extractor: the request's client address, resolved with the relay's trusted proxies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    /// The key per-address limits use.
    pub fn key(&self) -> AddrKey {
        AddrKey::from(self.0)
    }
}

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ConnectInfo(peer) = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .copied()
            .ok_or_else(|| Error::Internal("no peer address on the request".into()))?;
        Ok(ClientAddr(resolve(
            peer.ip(),
            &parts.headers,
            &state.config.trusted_proxies,
        )))
    }
}

/// Extractor: the login session named by the request's `Authorization: Bearer` token.
#[derive(Debug, Clone)]
pub struct Authenticated(pub AuthSession);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(&parts.headers)?;
        let session = authenticate(state, &token).await?;
        if !state.accounts.http_by_session.take(&session.session_id) {
            state.metrics.error(ErrorCode::RateLimited);
            return Err(Error::refused(
                ErrorCode::RateLimited,
                "too many requests from this device; slow down",
            )
            .into());
        }
        Ok(Authenticated(session))
    }
}

/// Read the bearer token from an `Authorization` header.
pub fn bearer(headers: &HeaderMap) -> Result<String, Error> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            Error::refused(
                ErrorCode::Unauthorized,
                "missing Authorization: Bearer token",
            )
        })?;
    value
        .strip_prefix("Bearer ")
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            Error::refused(
                ErrorCode::Unauthorized,
                "the Authorization header must be \"Bearer <token>\"",
            )
        })
}

/// Resolve a bearer token to its session.
pub async fn authenticate(state: &AppState, token: &str) -> Result<AuthSession, Error> {
    let hash = hash_token(token);
    // On the read connection: a flood of bogus tokens must not queue in front of commits.
    state
        .store
        .read(move |conn| conn.authenticate(&hash, tern_proto::now_ms()))
        .await
}
