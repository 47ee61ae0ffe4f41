//! `POST /v1/login`: check a password and open a session.
//!
//! Failed attempts are charged to three buckets before the password is checked — per
//! (account, client address), per client address, and the account-wide ceiling — and all are
//! given back when the password is right, so a user typing it correctly is never held back by
//! their own success. Taking the tokens before the argon2id check is what bounds concurrent
//! guesses: checking first and charging after a failure let hundreds of simultaneous guesses
//! through a limit of ten. Only one check per account runs at a time, so a refund after a
//! success never races guesses already past the buckets. A request that is cancelled while its
//! password is being checked stays charged.
//!
//! Every successful login returns a fresh `device_credential`. Presented at the next login it
//! exempts the device from the account-wide ceiling (not from the per-address limits), so an
//! attacker flooding an account from many addresses cannot lock its owner out. The relay keeps
//! only SHA-256 hashes of credentials, a bounded number per user.
//!
//! Unknown usernames still cost one argon2id verification, so timing does not reveal which
//! accounts exist.

use axum::extract::State;
use axum::Json;
use tern_proto::{ErrorCode, LoginRequest, LoginResponse};

use crate::auth;
use crate::client_addr::AddrKey;
use crate::error::ApiError;
use crate::error::{Error, Result};
use crate::extract::ClientAddr;
use crate::guards::AccountGuards;
use crate::json_body::JsonBody;
use crate::state::AppState;

/// The buckets one attempt was charged to, to give back if the attempt does not count.
struct Charges<'a> {
    guards: &'a AccountGuards,
    account: String,
    key: AddrKey,
    account_address: bool,
    address: bool,
    ceiling: bool,
}

impl Charges<'_> {
    fn refund(self) {
        let g = self.guards;
        if self.account_address {
            g.login_by_account_address
                .refund(&(self.account.clone(), self.key));
        }
        if self.address {
            g.login_by_address.refund(&self.key);
        }
        if self.ceiling {
            g.login_by_account.refund(&self.account);
        }
    }
}

fn too_many_attempts(state: &AppState) -> ApiError {
    state.metrics.error(ErrorCode::TooManyAttempts);
    Error::refused(
        ErrorCode::TooManyAttempts,
        "too many failed login attempts; wait a minute",
    )
    .into()
}

/// The handler: charge the limits, find the account, check the password, open a session.
pub async fn login(
    State(state): State<AppState>,
    addr: ClientAddr,
    JsonBody(req): JsonBody<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let mut charges = charge_address(&state, &req.username, addr.key())?;
    let (user, known_credential) = match find_account(&state, &req).await {
        Ok(found) => found,
        Err(e) => {
            charges.refund();
            return Err(e.into());
        }
    };
    if known_credential.is_none() {
        charges.ceiling = state.accounts.login_by_account.take(&charges.account);
        if !charges.ceiling {
            charges.refund();
            return Err(too_many_attempts(&state));
        }
    }
    let ok = match check_password(&state, &charges.account, &req.password, &user).await {
        Ok(ok) => ok,
        Err(e) => {
            // Busy: no password was checked, so the attempt does not count.
            charges.refund();
            return Err(e.into());
        }
    };
    let Some(user) = user.filter(|_| ok) else {
        return Err(wrong_password(&state));
    };
    let account = charges.account.clone();
    charges.refund();
    let (mut id, mut checked) = (user.id, user.password_hash.clone());
    let opened = match open_session(&state, user, &req.device_name, known_credential).await {
        Ok(opened) => opened,
        Err(e) if e.code() == ErrorCode::InvalidCredentials => {
            // The account changed while the password was checked: a password change or a
            // deletion (refused again below), or another login's upgrade of the same hash
            // (right again): checked once more against the account as it is now.
            let (again, credential) = find_account(&state, &req).await?;
            let ok = check_password(&state, &account, &req.password, &again).await?;
            let Some(user) = again.filter(|_| ok) else {
                return Err(wrong_password(&state));
            };
            (id, checked) = (user.id, user.password_hash.clone());
            open_session(&state, user, &req.device_name, credential).await?
        }
        Err(e) => return Err(e.into()),
    };
    // After the session: it is opened only on the hash the password was checked against.
    if state.accounts.kdf.outdated(&checked) {
        crate::account::upgrade_hash(&state, id, checked, req.password.clone()).await;
    }
    Ok(Json(opened))
}

/// The answer to a wrong username or password (counted).
fn wrong_password(state: &AppState) -> ApiError {
    state.metrics.error(ErrorCode::InvalidCredentials);
    Error::refused(ErrorCode::InvalidCredentials, "wrong username or password").into()
}

/// Take the per-(account, address) and per-address tokens, or refuse.
fn charge_address<'a>(
    state: &'a AppState,
    username: &str,
    key: AddrKey,
) -> Result<Charges<'a>, ApiError> {
    let guards = &*state.accounts;
    let mut charges = Charges {
        guards,
        // No username is longer than 32 characters; cutting longer ones keeps an attacker
        // from filling the limiter's map with 16 KiB keys.
        account: username.chars().take(32).collect::<String>().to_lowercase(),
        key,
        account_address: false,
        address: false,
        ceiling: false,
    };
    charges.account_address = guards
        .login_by_account_address
        .take(&(charges.account.clone(), charges.key));
    if !charges.account_address {
        return Err(too_many_attempts(state));
    }
    charges.address = guards.login_by_address.take(&charges.key);
    if !charges.address {
        charges.refund();
        return Err(too_many_attempts(state));
    }
    Ok(charges)
}

/// The account (if any) and the hash of the device credential presented, if it is valid.
/// Read on the store's read connection: a login flood never queues in front of commits.
async fn find_account(
    state: &AppState,
    req: &LoginRequest,
) -> Result<(Option<crate::store::UserRow>, Option<[u8; 32]>)> {
    let name = req.username.clone();
    let presented = req.device_credential.as_deref().map(auth::hash_token);
    state
        .store
        .read(move |conn| {
            let user = conn.find_user(&name)?;
            let valid = match (&user, &presented) {
                (Some(user), Some(hash)) => conn.device_credential_valid(user.id, hash)?,
                _ => false,
            };
            Ok((user, presented.filter(|_| valid)))
        })
        .await
}

/// Verify the password (against a dummy hash for unknown accounts), one check per account at
/// a time.
async fn check_password(
    state: &AppState,
    account: &str,
    password: &str,
    user: &Option<crate::store::UserRow>,
) -> Result<bool> {
    let _turn = state.accounts.checking.turn(account.to_owned()).await;
    let stored = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| auth::DUMMY_HASH.to_owned());
    let checked = state
        .accounts
        .kdf
        .verify(&state.metrics, password.to_owned(), stored)
        .await;
    if let Err(e) = &checked {
        if e.code() != ErrorCode::Internal {
            state.metrics.error(e.code());
        }
    }
    checked
}

/// Create the session and a fresh device credential (replacing the one presented).
async fn open_session(
    state: &AppState,
    user: crate::store::UserRow,
    device_name: &str,
    known_credential: Option<[u8; 32]>,
) -> Result<LoginResponse> {
    let (token, token_hash) = auth::new_token();
    let (credential, credential_hash) = auth::new_device_credential();
    let now = tern_proto::now_ms();
    let expires_at = now + state.config.token_ttl.as_millis() as i64;
    let device = device_name.chars().take(64).collect::<String>();
    let limits = &state.config.limits;
    let (max_sessions, max_credentials) = (
        limits.max_sessions_per_user,
        limits.max_device_credentials_per_user,
    );
    let (user_id, checked) = (user.id, user.password_hash.clone());
    let session_id = state
        .store
        .call(move |txn, _| {
            let session = txn.create_session(
                user_id,
                &checked,
                &token_hash,
                &device,
                now,
                expires_at,
                max_sessions,
            )?;
            txn.issue_device_credential(
                user_id,
                &credential_hash,
                known_credential.as_ref().map(|h| &h[..]),
                now,
                max_credentials,
            )?;
            Ok(session)
        })
        .await?;
    tracing::info!(user = %user.id, session = %session_id, "logged in");
    Ok(LoginResponse {
        token: token.expose().to_owned(),
        expires_at,
        session_id,
        user_id: user.id,
        username: user.username,
        device_credential: credential.expose().to_owned(),
    })
}
