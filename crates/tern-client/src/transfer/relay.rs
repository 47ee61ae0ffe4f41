//! The relay's transfer endpoints as this client calls them (docs/protocol.md,
//! "Attachments"): reserve an upload, ask how far it got, append a chunk at an offset, and
//! download a byte range. Errors carry the relay's code, so the uploader can tell "resume from
//! the relay's offset" from "give up".

use std::time::Duration;

use serde::Deserialize;
use tern_proto::ErrorBody;

use crate::config::ClientConfig;
use crate::error::{Error, Result};
use crate::keychain::Token;

/// Bytes per upload request.
pub const CHUNK: usize = 1024 * 1024;

fn client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(Duration::from_secs(60))
        .build()?)
}

async fn refusal(res: reqwest::Response) -> Error {
    let status = res.status();
    match res.json::<ErrorBody>().await {
        Ok(body) => Error::Relay {
            code: body.code,
            message: body.message,
        },
        Err(_) => Error::Internal(format!("relay answered HTTP {status}")),
    }
}

#[derive(Deserialize)]
struct UploadState {
    upload_id: String,
    offset: u64,
    complete: bool,
}

/// Reserve an upload; its id.
pub async fn create(
    config: &ClientConfig,
    token: &Token,
    size: u64,
    sha256: &str,
    content_type: &str,
) -> Result<String> {
    let res = client()?
        .post(config.http_url("/v1/uploads"))
        .bearer_auth(token.expose())
        .json(&serde_json::json!({"size": size, "sha256": sha256, "content_type": content_type}))
        .send()
        .await?;
    if !res.status().is_success() {
        return Err(refusal(res).await);
    }
    Ok(res
        .json::<UploadState>()
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
        .upload_id)
}

/// Give up an upload the relay holds (its sending was cancelled, or refused for good): its
/// bytes go and it no longer counts against the quota. One already gone is no error.
pub async fn cancel(config: &ClientConfig, token: &Token, id: &str) -> Result<()> {
    let res = client()?
        .delete(config.http_url(&format!("/v1/uploads/{id}")))
        .bearer_auth(token.expose())
        .send()
        .await?;
    if res.status().is_success() || res.status() == reqwest::StatusCode::NOT_FOUND {
        return Ok(());
    }
    Err(refusal(res).await)
}

/// How many bytes of an upload the relay holds.
pub async fn offset(config: &ClientConfig, token: &Token, id: &str) -> Result<u64> {
    let res = client()?
        .head(config.http_url(&format!("/v1/uploads/{id}")))
        .bearer_auth(token.expose())
        .send()
        .await?;
    // A HEAD answer has no body: tell a forgotten upload by its status.
    if res.status() == reqwest::StatusCode::NOT_FOUND {
        return Err(Error::Relay {
            code: tern_proto::ErrorCode::NotFound,
            message: "the relay no longer has this upload".into(),
        });
    }
    if !res.status().is_success() {
        return Err(refusal(res).await);
    }
    res.headers()
        .get("upload-offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| Error::Internal("no Upload-Offset in the answer".into()))
}

/// Append `chunk` at `at`; the relay's new offset and whether the upload is complete. A
/// chunk at the wrong offset is refused with `offset_mismatch`.
pub async fn append(
    config: &ClientConfig,
    token: &Token,
    id: &str,
    at: u64,
    chunk: Vec<u8>,
) -> Result<(u64, bool)> {
    let res = client()?
        .patch(config.http_url(&format!("/v1/uploads/{id}")))
        .bearer_auth(token.expose())
        .header("upload-offset", at)
        .header("content-type", "application/offset+octet-stream")
        .body(chunk)
        .send()
        .await?;
    if !res.status().is_success() {
        return Err(refusal(res).await);
    }
    let state = res
        .json::<UploadState>()
        .await
        .map_err(|e| Error::Internal(e.to_string()))?;
    Ok((state.offset, state.complete))
}

/// Download blob `id` from byte `from` into `out` (appending), calling `progress` with the
/// bytes written so far. When the answer breaks off, what came is in `out` (flushed).
pub async fn download(
    config: &ClientConfig,
    token: &Token,
    id: &str,
    from: u64,
    out: &mut tokio::fs::File,
    mut progress: impl FnMut(u64),
) -> Result<()> {
    use tokio::io::AsyncWriteExt;
    let mut req = client()?
        .get(config.http_url(&format!("/v1/blobs/{id}")))
        .bearer_auth(token.expose());
    if from > 0 {
        req = req.header("range", format!("bytes={from}-"));
    }
    let res = req.send().await?;
    if !res.status().is_success() {
        return Err(refusal(res).await);
    }
    if from > 0 && res.status() != reqwest::StatusCode::PARTIAL_CONTENT {
        return Err(Error::Internal("the relay ignored the range".into()));
    }
    let mut written = from;
    let mut res = res;
    let broke = loop {
        match res.chunk().await {
            Ok(Some(chunk)) => {
                out.write_all(&chunk).await?;
                written += chunk.len() as u64;
                progress(written);
            }
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
    };
    // What came before a break is kept: the caller resumes after it.
    out.flush().await?;
    match broke {
        None => Ok(()),
        Some(e) => Err(e.into()),
    }
}
