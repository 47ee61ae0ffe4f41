//! HTTP endpoints on the relay's port: accounts (register, login, logout, logout everywhere),
//! health, metrics, and the WebSocket upgrade.
//!
//! Failed logins are rate limited per client address and per account; only failures consume a
//! token, so a user who types their password right is never locked out by their own success.
//! Unknown usernames still cost one argon2id verification, so timing does not reveal which
//! accounts exist.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tern_proto::{
    ErrorBody, ErrorCode, LoginRequest, LoginResponse, RegisterRequest, RegisterResponse,
};

use crate::auth;
use crate::error::{Error, Result};
use crate::hub::CloseReason;
use crate::state::AppState;
use crate::store::accounts;
use crate::ws;

/// An [`Error`] rendered as an HTTP response with a JSON [`ErrorBody`].
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.0.code();
        let status = match code {
            ErrorCode::Unauthorized
            | ErrorCode::InvalidToken
            | ErrorCode::TokenExpired
            | ErrorCode::TokenRevoked
            | ErrorCode::InvalidCredentials => StatusCode::UNAUTHORIZED,
            ErrorCode::UsernameTaken => StatusCode::CONFLICT,
            ErrorCode::TooManyAttempts | ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::SessionLimit | ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        };
        if code == ErrorCode::Internal {
            tracing::error!(error = %self.0, "request failed");
        }
        (
            status,
            Json(ErrorBody {
                code,
                message: self.0.client_message(),
            }),
        )
            .into_response()
    }
}

/// The relay's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/register", post(register))
        .route("/v1/login", post(login))
        .route("/v1/logout", post(logout))
        .route("/v1/logout_all", post(logout_all))
        .route("/health", get(health))
        .route(tern_proto::WS_PATH, get(ws::upgrade))
        .layer(axum::extract::DefaultBodyLimit::max(16 * 1024))
        .with_state(state)
}

/// The routes of the separate metrics listener: `/metrics` and `/health`.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .with_state(state)
}

fn valid_username(name: &str) -> bool {
    (3..=32).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Parse a JSON body into a clear `bad_request` instead of axum's plain-text rejection.
fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T> {
    serde_json::from_slice(body)
        .map_err(|e| Error::refused(ErrorCode::BadRequest, format!("invalid JSON body: {e}")))
}

/// Run an argon2id computation on the blocking pool, at most `concurrent_password_hashes` at once.
async fn with_kdf_permit<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    let _permit = state
        .kdf_permits
        .acquire()
        .await
        .map_err(|_| Error::Internal("kdf closed".into()))?;
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(format!("kdf task: {e}")))?
}

async fn register(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<RegisterResponse>), ApiError> {
    let req: RegisterRequest = parse(&body)?;
    if !valid_username(&req.username) {
        return Err(Error::refused(
            ErrorCode::BadRequest,
            "usernames have 3 to 32 characters: letters, digits, '_', '.', '-'",
        )
        .into());
    }
    if req.password.chars().count() < 8 || req.password.len() > 1024 {
        return Err(
            Error::refused(ErrorCode::BadRequest, "passwords have 8 to 1024 characters").into(),
        );
    }
    let password = req.password;
    let hash = with_kdf_permit(&state, move || auth::hash_password(&password)).await?;
    let username = req.username;
    let (user_id, username) = state
        .store
        .call(move |txn, _| {
            Ok((
                accounts::create_user(txn, &username, &hash, tern_proto::now_ms())?,
                username,
            ))
        })
        .await?;
    tracing::info!(user = user_id, "registered");
    Ok((
        StatusCode::CREATED,
        Json(RegisterResponse { user_id, username }),
    ))
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    body: axum::body::Bytes,
) -> Result<Json<LoginResponse>, ApiError> {
    let req: LoginRequest = parse(&body)?;
    let account = req.username.to_lowercase();
    if !state.login_by_address.allows(&addr.ip()) || !state.login_by_account.allows(&account) {
        state.metrics.error(ErrorCode::TooManyAttempts);
        return Err(Error::refused(
            ErrorCode::TooManyAttempts,
            "too many failed login attempts; wait a minute",
        )
        .into());
    }
    let name = req.username.clone();
    let user = state
        .store
        .call(move |txn, _| accounts::find_user(txn, &name))
        .await?;
    let stored = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| auth::dummy_hash().to_owned());
    let password = req.password;
    let ok = with_kdf_permit(&state, move || {
        Ok(auth::verify_password(&password, &stored))
    })
    .await?;
    let Some(user) = user.filter(|_| ok) else {
        state.login_by_address.take(&addr.ip());
        state.login_by_account.take(&account);
        state.metrics.error(ErrorCode::InvalidCredentials);
        return Err(
            Error::refused(ErrorCode::InvalidCredentials, "wrong username or password").into(),
        );
    };
    let (token, token_hash) = auth::new_token();
    let now = tern_proto::now_ms();
    let expires_at = now + state.config.token_ttl.as_millis() as i64;
    let device = req.device_name.chars().take(64).collect::<String>();
    let max = state.config.limits.max_sessions_per_user;
    let user_id = user.id;
    let session_id = state
        .store
        .call(move |txn, _| {
            accounts::create_session(txn, user_id, &token_hash, &device, now, expires_at, max)
        })
        .await?;
    tracing::info!(user = user.id, session = session_id, "logged in");
    Ok(Json(LoginResponse {
        token: token.expose().to_owned(),
        expires_at,
        session_id,
        user_id: user.id,
        username: user.username,
    }))
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<StatusCode, ApiError> {
    let session = ws::authenticate(&state, &ws::bearer(&headers)?).await?;
    let id = session.session_id;
    state
        .store
        .call(move |txn, _| accounts::revoke_session(txn, id, tern_proto::now_ms()))
        .await?;
    state.hub.kick_sessions(&[id], CloseReason::REVOKED);
    tracing::info!(user = session.user_id, session = id, "logged out");
    Ok(StatusCode::NO_CONTENT)
}

async fn logout_all(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let session = ws::authenticate(&state, &ws::bearer(&headers)?).await?;
    let user = session.user_id;
    let ids = state
        .store
        .call(move |txn, _| accounts::revoke_all(txn, user, tern_proto::now_ms()))
        .await?;
    state.hub.kick_sessions(&ids, CloseReason::REVOKED);
    tracing::info!(user, sessions = ids.len(), "logged out everywhere");
    Ok(StatusCode::NO_CONTENT)
}

async fn health(State(state): State<AppState>) -> Response {
    if state.shutting_down.load(Ordering::Relaxed) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"status": "shutting_down"})),
        )
            .into_response();
    }
    // A read proves the database answers; it goes to the read connection, so probes never
    // queue in front of message commits.
    match tokio::time::timeout(
        Duration::from_secs(2),
        state.store.read(crate::store::current_version),
    )
    .await
    {
        Ok(Ok(_)) => {
            Json(serde_json::json!({"status": "ok", "connections": state.hub.connection_count()}))
                .into_response()
        }
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"status": "database_unavailable"})),
        )
            .into_response(),
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        state.metrics.render(),
    )
}
