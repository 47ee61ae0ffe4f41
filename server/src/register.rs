//! `POST /v1/register`: create an account, if the relay's registration policy and the
//! per-address registration limit allow it.
//!
//! Cheap refusals come before the expensive one: the name's format and whether it is taken,
//! and the invite code, are checked before the password is hashed. The per-address token is
//! taken before those checks (so they cannot be used to probe names or codes without limit)
//! and given back when no hash was computed.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use tern_proto::{ErrorCode, RegisterRequest, RegisterResponse};

use crate::auth;
use crate::config::Registration;
use crate::error::ApiError;
use crate::error::{Error, Result};
use crate::extract::ClientAddr;
use crate::json_body::JsonBody;
use crate::state::AppState;

/// Shortest and longest password, in characters (Unicode scalar values), both ends included.
pub const PASSWORD_CHARS: std::ops::RangeInclusive<usize> = 8..=1024;

fn valid_username(name: &str) -> bool {
    (3..=32).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// The handler: validate, take the address's token, check name and invite before hashing,
/// hash, create.
pub async fn register(
    State(state): State<AppState>,
    addr: ClientAddr,
    JsonBody(req): JsonBody<RegisterRequest>,
) -> Result<(StatusCode, Json<RegisterResponse>), ApiError> {
    let invite = validate(&state, &req)?;
    let key = addr.key();
    let guards = &state.accounts;
    if !guards.register_by_address.take(&key) {
        state.metrics.error(ErrorCode::RateLimited);
        return Err(Error::refused(
            ErrorCode::RateLimited,
            "too many registrations from this address; try again later",
        )
        .into());
    }
    let hash = match check_available(&state, &req.username, invite).await {
        Ok(()) => guards.kdf.hash(&state.metrics, req.password).await,
        Err(e) => Err(e),
    };
    let hash = match hash {
        Ok(hash) => hash,
        Err(e) => {
            // Nothing expensive happened: the attempt does not count.
            guards.register_by_address.refund(&key);
            if e.code() != ErrorCode::Internal {
                state.metrics.error(e.code());
            }
            return Err(e.into());
        }
    };
    let username = req.username;
    let (user_id, username) = state
        .store
        .call(move |txn, _| {
            if let Some(code) = invite {
                txn.use_invite(&code)?;
            }
            Ok((
                txn.create_user(&username, &hash, tern_proto::now_ms())?,
                username,
            ))
        })
        .await?;
    tracing::info!(user = %user_id, "registered");
    Ok((
        StatusCode::CREATED,
        Json(RegisterResponse { user_id, username }),
    ))
}

/// Refuse what no store lookup is needed to refuse; returns the invite's hash when invites are
/// required.
fn validate(state: &AppState, req: &RegisterRequest) -> Result<Option<[u8; 32]>> {
    if state.config.registration == Registration::Closed {
        state.metrics.error(ErrorCode::RegistrationClosed);
        return Err(Error::refused(
            ErrorCode::RegistrationClosed,
            "this relay does not accept new accounts",
        ));
    }
    if !valid_username(&req.username) {
        return Err(Error::refused(
            ErrorCode::BadRequest,
            "usernames have 3 to 32 characters: letters, digits, '_', '.', '-'",
        ));
    }
    if !PASSWORD_CHARS.contains(&req.password.chars().count()) {
        return Err(Error::refused(
            ErrorCode::BadRequest,
            "passwords have 8 to 1024 characters",
        ));
    }
    Ok(match state.config.registration {
        Registration::Invite => {
            Some(auth::hash_token(req.invite.as_deref().ok_or_else(
                crate::store::sqlite::accounts::invalid_invite,
            )?))
        }
        _ => None,
    })
}

/// The name is free and the invite (if any) usable — checked before the expensive hash, on
/// the read connection.
async fn check_available(state: &AppState, name: &str, invite: Option<[u8; 32]>) -> Result<()> {
    let name = name.to_owned();
    state
        .store
        .read(move |conn| {
            if conn.username_exists(&name)? {
                return Err(Error::refused(
                    ErrorCode::UsernameTaken,
                    format!("the username {name:?} is taken"),
                ));
            }
            if let Some(code) = invite {
                if !conn.invite_usable(&code)? {
                    return Err(crate::store::sqlite::accounts::invalid_invite());
                }
            }
            Ok(())
        })
        .await
}
