//! HTTP endpoints on the relay's port: accounts (register in [`crate::register`], login in
//! [`crate::login`], logout, logout everywhere; password and sessions in [`crate::account`]),
//! health, metrics, and the WebSocket upgrade.
//! Every refusal is a JSON [`ErrorBody`](tern_proto::ErrorBody).

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::error::ApiError;
use crate::extract::Authenticated;
use crate::state::AppState;
use crate::{account, login, register, transfers, ws};

/// Largest HTTP request body; larger ones get `413 body_too_large`.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The relay's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/register", post(register::register))
        .route("/v1/login", post(login::login))
        .route("/v1/logout", post(logout))
        .route("/v1/logout_all", post(logout_all))
        .route("/v1/password", post(account::change_password))
        .route("/v1/account/delete", post(account::delete))
        .route("/v1/sessions", get(account::sessions))
        .route("/v1/sessions/{id}/revoke", post(account::revoke))
        .route("/health", get(health))
        .route(tern_proto::WS_PATH, get(ws::upgrade))
        .route("/v1/uploads", post(transfers::create))
        .route(
            "/v1/uploads/{id}",
            axum::routing::head(transfers::offset)
                .patch(transfers::append)
                .delete(transfers::cancel)
                .layer(
                    // Chunks are streamed to disk and bounded by the upload's declared size.
                    axum::extract::DefaultBodyLimit::disable(),
                ),
        )
        .route("/v1/blobs/{id}", get(transfers::download))
        .fallback(no_such_path)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// A path the relay does not serve: `404 not_found`, as JSON like every refusal.
async fn no_such_path() -> ApiError {
    crate::error::Error::refused(tern_proto::ErrorCode::NotFound, "no such path").into()
}

/// A method a path does not take: `405`, with a JSON body like every refusal.
async fn method_not_allowed() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        Json(tern_proto::ErrorBody {
            code: tern_proto::ErrorCode::BadRequest,
            message: "that path does not take this method".into(),
        }),
    )
        .into_response()
}

/// The routes of the separate metrics listener: `/metrics` and `/health`.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn logout(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
) -> Result<StatusCode, ApiError> {
    let id = session.session_id;
    state
        .store
        .call(move |txn, _| txn.revoke_session(id, tern_proto::now_ms()))
        .await?;
    state.bus.revoked(&state.hub, &[id]);
    tracing::info!(user = %session.user_id, session = %id, "logged out");
    Ok(StatusCode::NO_CONTENT)
}

async fn logout_all(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
) -> Result<StatusCode, ApiError> {
    let user = session.user_id;
    let ids = state
        .store
        .call(move |txn, _| txn.revoke_all(user, tern_proto::now_ms()))
        .await?;
    state.bus.revoked(&state.hub, &ids);
    tracing::info!(%user, sessions = ids.len(), "logged out everywhere");
    Ok(StatusCode::NO_CONTENT)
}

/// How long one round of `/health` checks answers for: the endpoint is open to anyone, and
/// each round reads the database and asks the object store.
const HEALTH_FRESH: Duration = Duration::from_secs(1);

/// One round of `/health` checks: when, and what it found.
pub struct Checked {
    at: std::time::Instant,
    status: StatusCode,
    body: serde_json::Value,
}

async fn health(State(state): State<AppState>) -> Response {
    if state.shutting_down.load(Ordering::Relaxed) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"status": "shutting_down"})),
        )
            .into_response();
    }
    // One round at a time: probes that come while it runs wait for it and share its answer.
    let mut last = state.health.lock().await;
    let fresh = last
        .as_ref()
        .filter(|c| c.at.elapsed() < HEALTH_FRESH)
        .map(|c| (c.status, c.body.clone()));
    let (status, mut body) = match fresh {
        Some(answer) => answer,
        None => {
            let (status, body) = check(&state).await;
            *last = Some(Checked {
                at: std::time::Instant::now(),
                status,
                body: body.clone(),
            });
            (status, body)
        }
    };
    drop(last);
    if status == StatusCode::OK {
        body["connections"] = state.hub.connection_count().into();
    }
    // In a cluster: whether NATS is connected (a flag, read live). Without it the relay still
    // serves its own connections (and catches up when it returns), so it stays in rotation.
    if let Some(up) = state.bus.is_up() {
        body["bus"] = if up { "ok" } else { "unavailable" }.into();
    }
    (status, Json(body)).into_response()
}

/// The checks behind `/health`: the database and the object store.
async fn check(state: &AppState) -> (StatusCode, serde_json::Value) {
    // A read proves the database answers; it goes to the read connection, so probes never
    // queue in front of message commits.
    let read = tokio::time::timeout(
        Duration::from_secs(2),
        state.store.read(|txn| txn.current_version()),
    )
    .await;
    let (status, mut body) = match read {
        Ok(Ok(_)) => (
            StatusCode::OK,
            serde_json::json!({"status": "ok", "store": "ok"}),
        ),
        // The read queue is full (a flood of token checks): the database is answering them,
        // so the relay is up; it is not a reason to take it out of rotation.
        Ok(Err(e)) if e.code() == tern_proto::ErrorCode::Busy => (
            StatusCode::OK,
            serde_json::json!({"status": "ok", "store": "ok", "busy": true}),
        ),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({"status": "database_unavailable", "store": "unavailable"}),
        ),
    };
    // Attachments in an object store: say whether it answers (messages flow either way, so it
    // does not take the relay out of rotation).
    if let (StatusCode::OK, Some(objects)) = (status, &state.objects) {
        let up = matches!(
            tokio::time::timeout(Duration::from_secs(2), objects.check()).await,
            Ok(Ok(()))
        );
        body["blob_store"] = if up { "ok" } else { "unavailable" }.into();
    }
    (status, body)
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
