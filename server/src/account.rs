//! A signed-in user's account security over HTTP: change the password (`POST /v1/password`),
//! list the signed-in devices (`GET /v1/sessions`) and sign one out
//! (`POST /v1/sessions/{id}/revoke`), and delete the account (`POST /v1/account/delete`).
//!
//! A password change proves the old password first — charged like a failed login to the
//! account-wide ceiling before it is checked and refunded when right, so a stolen token cannot
//! be used to guess the password faster than a login could — then stores the new hash and
//! revokes every other session of the account: their connections close with 4001 at once on
//! this relay, and within a heartbeat on any other relay sharing the database.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use tern_proto::{ChangePasswordRequest, ErrorCode, SessionId, SessionsResponse};

use crate::error::{ApiError, Error};
use crate::extract::Authenticated;
use crate::json_body::JsonBody;
use crate::register::PASSWORD_CHARS;
use crate::state::AppState;

/// The relay's copy of a session's last connection is rounded down to this (coarse on
/// purpose: the list shows "today", not a timeline of a device's connections).
pub const LAST_SEEN_GRANULARITY_MS: i64 = 3_600_000;

/// `POST /v1/password`.
pub async fn change_password(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    JsonBody(req): JsonBody<ChangePasswordRequest>,
) -> Result<StatusCode, ApiError> {
    if !PASSWORD_CHARS.contains(&req.new_password.chars().count()) {
        return Err(
            Error::refused(ErrorCode::BadRequest, "passwords have 8 to 1024 characters").into(),
        );
    }
    prove_password(&state, &session, req.old_password).await?;
    let guards = &state.accounts;
    let hash = guards.kdf.rehash(&state.metrics, req.new_password).await?;
    let (user_id, keep) = (session.user_id, session.session_id);
    let revoked = state
        .store
        .call(move |txn, _| {
            txn.set_password_hash(user_id, &hash, None)?;
            txn.revoke_others(user_id, Some(keep), tern_proto::now_ms())
        })
        .await?;
    state.bus.revoked(&state.hub, &revoked);
    tracing::info!(
        user = %user_id,
        revoked = revoked.len(),
        "password changed; other sessions revoked"
    );
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/account/delete`: delete the caller's account after proving the password. Every
/// session is revoked (connections closed with 4001), the user leaves every conversation,
/// and their username stays taken for `deleted_name_hold` before anyone can register it.
pub async fn delete(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    JsonBody(req): JsonBody<tern_proto::DeleteAccountRequest>,
) -> Result<StatusCode, ApiError> {
    prove_password(&state, &session, req.password).await?;
    let user = session.user_id;
    let sessions = state
        .store
        .call(move |txn, out| {
            crate::ops::privacy::delete_account(txn, user, tern_proto::now_ms(), out)
        })
        .await?;
    state.bus.revoked(&state.hub, &sessions);
    tracing::info!(%user, "account deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// Check the signed-in user's password, charged to the account-wide login limit before the
/// check and refunded when right (`invalid_credentials` when wrong).
async fn prove_password(
    state: &AppState,
    session: &crate::store::AuthSession,
    password: String,
) -> Result<(), ApiError> {
    let account = session.username.to_lowercase();
    let guards = &state.accounts;
    if !guards.login_by_account.take(&account) {
        state.metrics.error(ErrorCode::TooManyAttempts);
        return Err(Error::refused(
            ErrorCode::TooManyAttempts,
            "too many wrong passwords; wait a minute",
        )
        .into());
    }
    let name = session.username.clone();
    let user = state
        .store
        .read(move |c| c.find_user(&name))
        .await?
        .ok_or_else(|| Error::Internal("a signed-in user has no account row".into()))?;
    let ok = {
        let _turn = guards.checking.turn(account.clone()).await;
        guards
            .kdf
            .verify(&state.metrics, password, user.password_hash)
            .await
    };
    match ok {
        Ok(true) => {
            guards.login_by_account.refund(&account);
            Ok(())
        }
        Ok(false) => {
            state.metrics.error(ErrorCode::InvalidCredentials);
            Err(Error::refused(ErrorCode::InvalidCredentials, "the password is wrong").into())
        }
        Err(e) => {
            guards.login_by_account.refund(&account);
            Err(e.into())
        }
    }
}

/// `GET /v1/sessions`: the account's active sessions, the caller's marked `current`.
pub async fn sessions(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
) -> Result<Json<SessionsResponse>, ApiError> {
    let user = session.user_id;
    // Read on a read connection: a listing never queues in front of message commits.
    let mut sessions = state
        .store
        .read(move |conn| conn.sessions(user, tern_proto::now_ms()))
        .await?;
    for s in &mut sessions {
        s.current = s.session_id == session.session_id;
    }
    Ok(Json(SessionsResponse { sessions }))
}

/// `POST /v1/sessions/{id}/revoke`: sign out one of the account's devices (its connections
/// close with 4001). `404 not_found` for a session that is not the caller's or not active.
pub async fn revoke(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    // Not a number: no such session (a JSON refusal, not the framework's plain text).
    let id = id
        .parse::<i64>()
        .map(SessionId)
        .map_err(|_| Error::refused(ErrorCode::NotFound, "no such active session"))?;
    let user = session.user_id;
    let revoked = state
        .store
        .call(move |txn, _| txn.revoke_own_session(user, id, tern_proto::now_ms()))
        .await?;
    if !revoked {
        return Err(Error::refused(ErrorCode::NotFound, "no such active session").into());
    }
    state.bus.revoked(&state.hub, &[id]);
    tracing::info!(%user, session = %id, "session revoked");
    Ok(StatusCode::NO_CONTENT)
}

/// Hash `password` again at the configured cost and store it in place of `checked`, the
/// outdated hash a login proved it right against, unless the password changed meanwhile. A
/// failure leaves the old hash, which still works.
pub async fn upgrade_hash(
    state: &AppState,
    user: tern_proto::UserId,
    checked: String,
    password: String,
) {
    let hash = match state.accounts.kdf.rehash(&state.metrics, password).await {
        Ok(h) => h,
        Err(e) => {
            tracing::warn!(%user, error = %e, "password hash upgrade skipped");
            return;
        }
    };
    let stored = state
        .store
        .call(move |txn, _| txn.set_password_hash(user, &hash, Some(&checked)))
        .await;
    match stored {
        Ok(true) => tracing::info!(%user, "password hash upgraded to the configured cost"),
        Ok(false) => tracing::info!(%user, "password changed meanwhile; no upgrade"),
        Err(e) => tracing::warn!(%user, error = %e, "password hash upgrade not stored"),
    }
}
