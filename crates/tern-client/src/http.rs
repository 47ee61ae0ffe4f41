//! The relay's HTTP account endpoints: register, log in, log out (everywhere), change the
//! password, list and revoke sessions.

use serde::de::DeserializeOwned;
use serde::Serialize;
use tern_proto::{
    ChangePasswordRequest, DeleteAccountRequest, ErrorBody, LoginRequest, LoginResponse,
    RegisterRequest, RegisterResponse, SessionId, SessionInfo, SessionsResponse,
};

use crate::config::ClientConfig;
use crate::error::{Error, Result};
use crate::keychain::{DeviceCredential, Token};

fn client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()?)
}

async fn decode<T: DeserializeOwned>(res: reqwest::Response) -> Result<T> {
    let status = res.status();
    let bytes = res.bytes().await?;
    if status.is_success() {
        return serde_json::from_slice(&bytes)
            .map_err(|e| Error::Internal(format!("unexpected reply: {e}")));
    }
    match serde_json::from_slice::<ErrorBody>(&bytes) {
        Ok(body) => Err(Error::Relay {
            code: body.code,
            message: body.message,
        }),
        Err(_) => Err(Error::Internal(format!("relay answered HTTP {status}"))),
    }
}

async fn post<B: Serialize, T: DeserializeOwned>(
    config: &ClientConfig,
    path: &str,
    body: &B,
) -> Result<T> {
    decode(
        client()?
            .post(config.http_url(path))
            .json(body)
            .send()
            .await?,
    )
    .await
}

/// `POST` with the bearer token (and a JSON body when given), expecting no content back.
async fn post_authed(
    config: &ClientConfig,
    token: &Token,
    path: &str,
    body: Option<&(impl Serialize + ?Sized)>,
) -> Result<()> {
    let mut req = client()?
        .post(config.http_url(path))
        .bearer_auth(token.expose());
    if let Some(body) = body {
        req = req.json(body);
    }
    let res = req.send().await?;
    if res.status().is_success() {
        return Ok(());
    }
    decode::<serde_json::Value>(res).await.map(|_| ())
}

/// Create an account.
pub async fn register(
    config: &ClientConfig,
    username: &str,
    password: &str,
) -> Result<RegisterResponse> {
    post(
        config,
        "/v1/register",
        &RegisterRequest {
            username: username.into(),
            password: password.into(),
            invite: None,
        },
    )
    .await
}

/// Log in, presenting this device's credential from an earlier login if it has one; returns
/// the relay's answer including the token and a new device credential.
pub async fn login(
    config: &ClientConfig,
    username: &str,
    password: &str,
    device_credential: Option<&DeviceCredential>,
) -> Result<LoginResponse> {
    post(
        config,
        "/v1/login",
        &LoginRequest {
            username: username.into(),
            password: password.into(),
            device_name: config.device_name.clone(),
            device_credential: device_credential.map(|c| c.expose().to_owned()),
        },
    )
    .await
}

/// Change the password; the relay signs out every other device.
pub async fn change_password(
    config: &ClientConfig,
    token: &Token,
    old_password: &str,
    new_password: &str,
) -> Result<()> {
    let body = ChangePasswordRequest {
        old_password: old_password.into(),
        new_password: new_password.into(),
    };
    post_authed(config, token, "/v1/password", Some(&body)).await
}

/// Delete the account (the password proves it is the owner).
pub async fn delete_account(config: &ClientConfig, token: &Token, password: &str) -> Result<()> {
    let body = DeleteAccountRequest {
        password: password.into(),
    };
    post_authed(config, token, "/v1/account/delete", Some(&body)).await
}

/// The account's signed-in devices.
pub async fn sessions(config: &ClientConfig, token: &Token) -> Result<Vec<SessionInfo>> {
    let res = client()?
        .get(config.http_url("/v1/sessions"))
        .bearer_auth(token.expose())
        .send()
        .await?;
    Ok(decode::<SessionsResponse>(res).await?.sessions)
}

/// Sign out one of the account's devices.
pub async fn revoke_session(
    config: &ClientConfig,
    token: &Token,
    session: SessionId,
) -> Result<()> {
    let path = format!("/v1/sessions/{session}/revoke");
    post_authed(config, token, &path, None::<&()>).await
}

/// Revoke this token (`all`: every token of the user).
pub async fn logout(config: &ClientConfig, token: &Token, all: bool) -> Result<()> {
    let path = if all { "/v1/logout_all" } else { "/v1/logout" };
    post_authed(config, token, path, None::<&()>).await
}
