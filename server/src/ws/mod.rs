//! The WebSocket endpoint: handshake authentication, then one `connection` task per socket.
//!
//! The handshake is refused with an HTTP status and a JSON [`tern_proto::ErrorBody`] when the
//! bearer token is missing, unknown, expired or revoked, or when the client asks for a protocol
//! version the relay does not speak. Only then is the connection upgraded, onto the relay's own
//! WebSocket codec (`wire/`: no buffer held while idle) with the hard frame limit from
//! [`crate::config::Limits`].

mod connection;
mod gaps;
mod in_flight;
mod inbound;
mod markers;
mod outbound;
mod outq;
mod sync;
mod wire;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use tern_proto::{
    choose_protocol, ErrorCode, COMPRESSION_HEADER, INSTANCE_HEADER, OLDEST_PROTOCOL_VERSION,
    PROTOCOL_HEADER, PROTOCOL_VERSION,
};

use crate::error::ApiError;
use crate::error::Error;
use crate::extract::{authenticate, bearer};
use crate::state::AppState;
use wire::handshake::Upgrade;
use wire::WireLimits;

/// Bytes of frames the socket gathers before writing: a connection feeds everything queued
/// for it and flushes once, so a burst of replies and pushes leaves in one write (the buffer
/// is freed once written).
const WRITE_BUFFER: usize = 16 * 1024;

/// `GET /v1/ws`.
pub async fn upgrade(State(state): State<AppState>, headers: HeaderMap, ws: Upgrade) -> Response {
    // The newest version both speak; a client that offers none speaks the relay's newest.
    let protocol = match headers.get(PROTOCOL_HEADER) {
        None => Some(PROTOCOL_VERSION),
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|offer| choose_protocol(offer, OLDEST_PROTOCOL_VERSION, PROTOCOL_VERSION)),
    };
    let Some(protocol) = protocol else {
        let spoken = if OLDEST_PROTOCOL_VERSION == PROTOCOL_VERSION {
            format!("version {PROTOCOL_VERSION}")
        } else {
            format!("versions {OLDEST_PROTOCOL_VERSION} to {PROTOCOL_VERSION}")
        };
        return ApiError(Error::refused(
            ErrorCode::UnsupportedVersion,
            format!("this relay speaks protocol {spoken}"),
        ))
        .into_response();
    };
    let compression = headers
        .get(COMPRESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("deflate"))
        });
    // A short printable tag; anything else is ignored (treated as "no tag").
    let instance = headers
        .get(INSTANCE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.chars().all(|c| c.is_ascii_graphic()))
        .map(str::to_owned);
    let session = match bearer(&headers) {
        Ok(token) => authenticate(&state, &token).await,
        Err(e) => Err(e),
    };
    let session = match session {
        Ok(s) => s,
        Err(e) => {
            state.metrics.error(e.code());
            return ApiError(e).into_response();
        }
    };
    // An upgrade is an authenticated request like any other of the session's.
    if !state.accounts.http_by_session.take(&session.session_id) {
        state.metrics.error(ErrorCode::RateLimited);
        return ApiError(Error::refused(
            ErrorCode::RateLimited,
            "too many requests from this device; slow down",
        ))
        .into_response();
    }
    let limits = &state.config.limits;
    let wire = WireLimits {
        max_message: limits.hard_frame_bytes,
        write_buffer: WRITE_BUFFER,
    };
    let mut res = ws.accept(wire, move |socket| {
        connection::serve(socket, state, session, instance, protocol, compression)
    });
    if compression {
        res.headers_mut().insert(
            COMPRESSION_HEADER,
            axum::http::HeaderValue::from_static("deflate"),
        );
    }
    res
}
