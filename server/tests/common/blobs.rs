//! Attachment transfers as the relay tests drive them over HTTP: hashing, reserving and
//! appending to an upload, and downloading a blob (optionally a range).

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::Relay;

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Reserve an upload of `bytes`; its id.
pub async fn reserve(relay: &Relay, token: &str, bytes: &[u8], content_type: &str) -> String {
    let (status, body) = relay
        .post(
            "/v1/uploads",
            json!({"size": bytes.len(), "sha256": sha(bytes), "content_type": content_type}),
            Some(token),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["upload_id"].as_str().unwrap().to_owned()
}

/// Append `chunk` at `at`; the status and the JSON answer.
pub async fn patch(relay: &Relay, token: &str, id: &str, at: usize, chunk: &[u8]) -> (u16, Value) {
    let res = relay
        .http
        .patch(relay.url(&format!("/v1/uploads/{id}")))
        .bearer_auth(token)
        .header("upload-offset", at)
        .body(chunk.to_vec())
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Download blob `id`, whole or the `Range` given.
pub async fn get(relay: &Relay, token: &str, id: &str, range: Option<&str>) -> reqwest::Response {
    let mut req = relay
        .http
        .get(relay.url(&format!("/v1/blobs/{id}")))
        .bearer_auth(token);
    if let Some(r) = range {
        req = req.header("range", r);
    }
    req.send().await.unwrap()
}

/// Upload `bytes` in one go; the blob id.
pub async fn upload(relay: &Relay, token: &str, bytes: &[u8], content_type: &str) -> String {
    let id = reserve(relay, token, bytes, content_type).await;
    let (status, body) = patch(relay, token, &id, 0, bytes).await;
    assert_eq!(
        (status, body["complete"].as_bool()),
        (200, Some(true)),
        "{body}"
    );
    id
}
