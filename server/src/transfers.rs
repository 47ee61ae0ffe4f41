//! Attachment transfers over HTTP, authenticated with the bearer token. The upload protocol is
//! a small subset of tus (docs/protocol.md, "Attachments"):
//!
//! - `POST /v1/uploads` `{size, sha256, content_type}` reserves an upload (size and quota
//!   checked) and answers its id;
//! - `HEAD /v1/uploads/{id}` answers `Upload-Offset`: how many bytes the relay has — the place
//!   to resume from after any interruption;
//! - `PATCH /v1/uploads/{id}` with `Upload-Offset` appends the body there (a chunk that does
//!   not start at the relay's offset is refused with `offset_mismatch`, so bytes are never
//!   written twice or out of order); the chunk that completes the file has its SHA-256 checked
//!   against the declared one before the upload counts as complete;
//! - `GET /v1/blobs/{id}` downloads, with `Range`, for the uploader and for current members of
//!   a conversation where a message refers to it; always as an attachment, never rendered.
//!
//! The body is streamed to disk chunk by chunk; a relay holds one chunk per transfer, whatever
//! the file size. What the content is does not matter to the relay (it could be ciphertext).

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tern_proto::ErrorCode;

use crate::blobs::{self, served_type};
use crate::error::{ApiError, Error, Result};
use crate::extract::Authenticated;
use crate::json_body::JsonBody;
use crate::state::AppState;
use crate::store::UploadRow;

/// Bytes read from the disk per step of a download.
const READ_CHUNK: usize = 256 * 1024;

/// How long a cancel waits for a chunk being written, and how often it looks.
const CANCEL_PATIENCE: std::time::Duration = std::time::Duration::from_secs(10);
const CANCEL_POLL: std::time::Duration = std::time::Duration::from_millis(20);

fn refused(code: ErrorCode, message: impl Into<String>) -> ApiError {
    ApiError(Error::refused(code, message))
}

/// `POST /v1/uploads`.
#[derive(Debug, Deserialize)]
pub struct NewUpload {
    size: u64,
    sha256: String,
    #[serde(default)]
    content_type: String,
}

/// Where an upload stands.
#[derive(Debug, Serialize)]
pub struct UploadState {
    upload_id: String,
    offset: u64,
    size: u64,
    complete: bool,
}

/// Reserve an upload.
pub async fn create(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    JsonBody(req): JsonBody<NewUpload>,
) -> std::result::Result<(StatusCode, Json<UploadState>), ApiError> {
    let limits = &state.config.limits;
    if req.size == 0 || req.size > limits.max_attachment_bytes {
        return Err(refused(
            ErrorCode::AttachmentTooLarge,
            format!(
                "an attachment has 1 to {} bytes",
                limits.max_attachment_bytes
            ),
        ));
    }
    let sha = req.sha256.to_ascii_lowercase();
    if !tern_proto::is_sha256_hex(&sha) {
        return Err(refused(ErrorCode::BadRequest, "sha256 is 64 hex digits"));
    }
    let content_type = clean_type(&req.content_type);
    let id = blobs::new_id();
    let (user, size, quota) = (session.user_id, req.size, limits.attachment_quota_bytes);
    let new = UploadRow {
        id: id.clone(),
        user_id: user,
        size,
        sha256: sha,
        content_type,
        complete: false,
        created_at: tern_proto::now_ms(),
    };
    state
        .store
        .call(move |txn, _| txn.create_upload(&new, quota))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(UploadState {
            upload_id: id,
            offset: 0,
            size,
            complete: false,
        }),
    ))
}

/// A declared content type as stored: a plain `type/subtype` or `application/octet-stream`.
fn clean_type(declared: &str) -> String {
    let t = declared
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let ok = t.len() <= 100
        && t.split_once('/').is_some_and(|(a, b)| {
            !a.is_empty()
                && !b.is_empty()
                && t.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"/.+-".contains(&c))
        });
    if ok {
        t
    } else {
        "application/octet-stream".into()
    }
}

/// The caller's own upload, or `not_found` (also for someone else's: ids reveal nothing).
async fn own_upload(state: &AppState, user: tern_proto::UserId, id: &str) -> Result<UploadRow> {
    if !tern_proto::is_blob_id(id) {
        return Err(Error::refused(ErrorCode::NotFound, "no such upload"));
    }
    let id = id.to_owned();
    state
        .store
        .read(move |txn| txn.upload(&id))
        .await?
        .filter(|u| u.user_id == user)
        .ok_or_else(|| Error::refused(ErrorCode::NotFound, "no such upload"))
}

fn offset_headers(offset: u64, size: u64) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("upload-offset", HeaderValue::from(offset));
    h.insert("upload-length", HeaderValue::from(size));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h
}

/// `409 offset_mismatch`, with where the upload stands (`Upload-Offset`).
fn mismatch(offset: u64, size: u64, message: String) -> Response {
    (
        StatusCode::CONFLICT,
        offset_headers(offset, size),
        Json(tern_proto::ErrorBody {
            code: ErrorCode::OffsetMismatch,
            message,
        }),
    )
        .into_response()
}

/// `DELETE /v1/uploads/{id}`: the uploader gives up an upload that no message or picture
/// refers to (a file whose sending was cancelled, or refused for good): its bytes go, and it
/// no longer counts against the quota. `403 forbidden` once something refers to it.
pub async fn cancel(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path(id): Path<String>,
) -> std::result::Result<StatusCode, ApiError> {
    let upload = own_upload(&state, session.user_id, &id).await?;
    // A chunk being written finishes first (a moment: chunks are small), so that no write
    // puts bytes back after they were removed.
    let mut waited = std::time::Duration::ZERO;
    let _writing = loop {
        if let Some(claim) = state.writing.claim(&upload.id) {
            break claim;
        }
        if waited >= CANCEL_PATIENCE {
            return Err(refused(
                ErrorCode::Busy,
                "this upload is being written by another request; try again",
            ));
        }
        tokio::time::sleep(CANCEL_POLL).await;
        waited += CANCEL_POLL;
    };
    let (user, gone) = (session.user_id, upload.id.clone());
    if !state
        .store
        .call(move |txn, _| txn.drop_upload(user, &gone))
        .await?
    {
        return Err(refused(
            ErrorCode::Forbidden,
            "a message or picture refers to this upload",
        ));
    }
    remove_bytes(&state, &upload.id).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove what the relay holds of upload `id`, whose row is gone (cancelled, swept): its
/// object (with an object store) and its file on this disk. A failure is logged: a file left
/// behind goes with the blob folder's sweep.
pub(crate) async fn remove_bytes(state: &AppState, id: &str) {
    if let Some(objects) = &state.objects {
        if let Err(e) = objects.remove(id).await {
            tracing::warn!(error = %e, "could not remove an attachment object");
        }
    }
    if let Err(e) = state.blobs.discard(id).await {
        tracing::warn!(error = %e, "could not remove an attachment file");
    }
}

/// `HEAD /v1/uploads/{id}`: how far the relay got.
pub async fn offset(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path(id): Path<String>,
) -> std::result::Result<HeaderMap, ApiError> {
    let upload = own_upload(&state, session.user_id, &id).await?;
    if upload.complete {
        // Its bytes may live in the object store by now, not on this disk.
        return Ok(offset_headers(upload.size, upload.size));
    }
    let blobs = state.blobs.clone();
    let len = tokio::task::spawn_blocking(move || blobs.len(&id))
        .await
        .map_err(|e| Error::Internal(e.to_string()))??;
    // Every byte arrived but the relay stopped before marking the upload complete (killed, or
    // its database unreachable): finish it now, so "all bytes here" always means "complete".
    if len == upload.size && !upload.complete {
        if let Some(_writing) = state.writing.claim(&upload.id) {
            finish(&state, &upload).await?;
        }
    }
    Ok(offset_headers(len, upload.size))
}

/// `PATCH /v1/uploads/{id}`: append a chunk at `Upload-Offset`.
pub async fn append(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> std::result::Result<Response, ApiError> {
    let upload = own_upload(&state, session.user_id, &id).await?;
    let blobs = state.blobs.clone();
    let stored = |id: String| {
        let b = blobs.clone();
        async move {
            tokio::task::spawn_blocking(move || b.len(&id))
                .await
                .map_err(|e| Error::Internal(e.to_string()))?
        }
    };
    let Some(_writing) = state.writing.claim(&id) else {
        // Like any chunk not at the relay's offset: 409 with how far it is now (the other
        // request is still moving it on).
        let at = if upload.complete {
            upload.size
        } else {
            stored(id.clone()).await?
        };
        return Ok(mismatch(
            at,
            upload.size,
            "this upload is being written by another request".into(),
        ));
    };
    let claimed: u64 = headers
        .get("upload-offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| refused(ErrorCode::BadRequest, "Upload-Offset header required"))?;
    let mut offset = if upload.complete {
        upload.size
    } else {
        stored(id.clone()).await?
    };
    if upload.complete || claimed != offset {
        let message = format!("the relay has {offset} bytes of this upload");
        return Ok(mismatch(offset, upload.size, message));
    }
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk: Bytes = chunk.map_err(|e| Error::Internal(format!("upload body: {e}")))?;
        let room = upload.size - offset;
        if chunk.len() as u64 > room {
            return Err(refused(
                ErrorCode::AttachmentTooLarge,
                format!("the upload has room for {room} more bytes"),
            ));
        }
        let (b, i, at) = (blobs.clone(), id.clone(), offset);
        offset = tokio::task::spawn_blocking(move || b.append(&i, at, &chunk))
            .await
            .map_err(|e| Error::Internal(e.to_string()))??;
    }
    let complete = offset == upload.size;
    if complete {
        finish(&state, &upload).await?;
    }
    let status = StatusCode::OK;
    Ok((
        status,
        offset_headers(offset, upload.size),
        Json(UploadState {
            upload_id: id,
            offset,
            size: upload.size,
            complete,
        }),
    )
        .into_response())
}

/// The last byte arrived: make it durable, check the hash, mark the upload complete. A wrong
/// hash discards the bytes (the sender starts over).
async fn finish(state: &AppState, upload: &UploadRow) -> Result<()> {
    let (blobs, id) = (state.blobs.clone(), upload.id.clone());
    let sha = tokio::task::spawn_blocking(move || {
        blobs.sync(&id)?;
        blobs.sha256(&id)
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))??;
    if sha != upload.sha256 {
        state.blobs.discard(&upload.id).await?;
        return Err(Error::refused(
            ErrorCode::HashMismatch,
            "the bytes do not match the declared sha256; upload again from 0",
        ));
    }
    // With an object store, the bytes move there before the upload counts as complete; the
    // local copy goes only after (a relay killed in between moves it again).
    if let Some(objects) = &state.objects {
        objects
            .put_file(&upload.id, &state.blobs.path(&upload.id)?)
            .await?;
    }
    let id = upload.id.clone();
    let completed = state
        .store
        .call(move |txn, _| txn.complete_upload(&id))
        .await?;
    if !completed {
        // Swept while its last bytes came (unused for a day): the bytes go too, or they
        // would stay with no upload to count them or remove them.
        remove_bytes(state, &upload.id).await;
        return Err(Error::refused(
            ErrorCode::NotFound,
            "the upload was removed (unused for a day); start a new one",
        ));
    }
    if state.objects.is_some() {
        state.blobs.discard(&upload.id).await?;
    }
    Ok(())
}

/// Whether blob `id` is whole on this relay's disk (always, without an object store; with
/// one, only between the last byte and the move).
async fn on_disk(state: &AppState, id: &str, len: u64) -> Result<bool> {
    let (blobs, key) = (state.blobs.clone(), id.to_owned());
    Ok(tokio::task::spawn_blocking(move || blobs.len(&key))
        .await
        .map_err(|e| Error::Internal(e.to_string()))??
        == len)
}

/// A `Range: bytes=…` header for a file of `len` bytes: `None` for the whole file, `Err`
/// when invalid or unsatisfiable (416). As HTTP allows (RFC 9110, section 14.2), a range in
/// another unit and a request for several ranges are ignored: the whole file is sent.
fn range(headers: &HeaderMap, len: u64) -> std::result::Result<Option<(u64, u64)>, ()> {
    let Some(v) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    // Range units are case-insensitive.
    let Some(spec) = v
        .get(..6)
        .filter(|unit| unit.eq_ignore_ascii_case("bytes="))
        .map(|_| &v[6..])
    else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let (a, b) = spec.split_once('-').ok_or(())?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().map_err(|_| ())?;
            (len.saturating_sub(n), len.checked_sub(1).ok_or(())?)
        }
        (s, "") => (s.parse().map_err(|_| ())?, len.checked_sub(1).ok_or(())?),
        (s, e) => (
            s.parse().map_err(|_| ())?,
            e.parse::<u64>().map_err(|_| ())?.min(len.saturating_sub(1)),
        ),
    };
    if start > end || start >= len {
        return Err(());
    }
    Ok(Some((start, end)))
}

/// `GET /v1/blobs/{id}`.
pub async fn download(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> std::result::Result<Response, ApiError> {
    let not_found = || refused(ErrorCode::NotFound, "no such attachment");
    if !tern_proto::is_blob_id(&id) {
        return Err(not_found());
    }
    let (user, key) = (session.user_id, id.clone());
    let (upload, readable) = state
        .store
        .read(move |txn| Ok((txn.upload(&key)?, txn.blob_readable(user, &key)?)))
        .await?;
    let upload = upload.filter(|u| u.complete).ok_or_else(not_found)?;
    if !readable {
        return Err(not_found());
    }
    let len = upload.size;
    let (start, end, status) = match range(&headers, len) {
        Ok(None) => (0, len - 1, StatusCode::OK),
        Ok(Some((s, e))) => (s, e, StatusCode::PARTIAL_CONTENT),
        Err(()) => {
            let mut h = HeaderMap::new();
            h.insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes */{len}")).expect("ascii"),
            );
            return Ok((StatusCode::RANGE_NOT_SATISFIABLE, h).into_response());
        }
    };
    let remote = match &state.objects {
        Some(objects) if !on_disk(&state, &id, len).await? => Some(objects.clone()),
        _ => None,
    };
    let sniff = match &remote {
        Some(objects) => objects.head(&id, 16, len).await?,
        None => {
            let (blobs, key) = (state.blobs.clone(), id.clone());
            tokio::task::spawn_blocking(move || blobs.head(&key, 16))
                .await
                .map_err(|e| Error::Internal(e.to_string()))??
        }
    };
    let content_type = served_type(&upload.content_type, &sniff);
    let h = download_headers(content_type, (start, end, len), status);
    if let Some(objects) = remote {
        let body = objects.stream(&id, start, end).await?;
        return Ok((status, h, Body::from_stream(body)).into_response());
    }
    let body = local_stream(state.blobs.clone(), id, start, end);
    Ok((status, h, Body::from_stream(body)).into_response())
}

/// The headers of a download: what it is (never sniffed, never shown inline), its length and
/// range, and that it never changes (a blob id names fixed bytes).
fn download_headers(
    content_type: &'static str,
    (start, end, len): (u64, u64, u64),
    status: StatusCode,
) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment"),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(end - start + 1));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=31536000, immutable"),
    );
    if status == StatusCode::PARTIAL_CONTENT {
        h.insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&format!("bytes {start}-{end}/{len}")).expect("ascii"),
        );
    }
    h
}

/// Bytes `start..=end` of a blob in the blob folder, read in chunks off the event loop.
fn local_stream(
    blobs: blobs::Blobs,
    id: String,
    start: u64,
    end: u64,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> {
    futures_util::stream::unfold(start, move |at| {
        let (blobs, id) = (blobs.clone(), id.clone());
        async move {
            if at > end {
                return None;
            }
            let n = ((end - at + 1) as usize).min(READ_CHUNK);
            let read = tokio::task::spawn_blocking(move || blobs.read(&id, at, n))
                .await
                .map_err(|e| std::io::Error::other(e.to_string()))
                .and_then(|r| r.map_err(|e| std::io::Error::other(e.to_string())));
            match read {
                Ok(bytes) if bytes.is_empty() => None,
                Ok(bytes) => {
                    let next = at + bytes.len() as u64;
                    Some((Ok::<_, std::io::Error>(Bytes::from(bytes)), next))
                }
                Err(e) => Some((Err(e), end + 1)),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(v: &str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert(header::RANGE, HeaderValue::from_str(v).unwrap());
        m
    }

    #[test]
    fn ranges_are_read_as_http_says_impossible_ones_refused_and_others_ignored() {
        assert_eq!(range(&HeaderMap::new(), 10), Ok(None));
        assert_eq!(range(&h("bytes=0-4"), 10), Ok(Some((0, 4))));
        assert_eq!(range(&h("bytes=5-"), 10), Ok(Some((5, 9))));
        assert_eq!(range(&h("bytes=-3"), 10), Ok(Some((7, 9))));
        assert_eq!(range(&h("bytes=8-100"), 10), Ok(Some((8, 9))));
        assert_eq!(range(&h("bytes=10-"), 10), Err(()));
        assert_eq!(range(&h("bytes=4-2"), 10), Err(()));
        assert_eq!(range(&h("bytes=-0"), 10), Err(()));
        assert_eq!(
            range(&h("Bytes=2-3"), 10),
            Ok(Some((2, 3))),
            "units ignore case"
        );
        assert_eq!(range(&h("bytes=x-3"), 10), Err(()), "malformed");
        assert_eq!(
            range(&h("bytes=0-1,3-4"), 10),
            Ok(None),
            "several: the whole file"
        );
        assert_eq!(
            range(&h("items=0-1"), 10),
            Ok(None),
            "another unit: ignored"
        );
    }

    #[test]
    fn declared_types_are_plain_or_octet_stream() {
        assert_eq!(clean_type("image/png; charset=x"), "image/png");
        assert_eq!(
            clean_type("text/html\r\nX-Evil: 1"),
            "application/octet-stream"
        );
        assert_eq!(clean_type(""), "application/octet-stream");
    }
}
