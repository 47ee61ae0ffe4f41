//! Attachments in an S3-compatible object store (`--blob-store`), against a private S3 server
//! (moto's, installed by scripts/setup.sh, started here on a free port): a resumable upload
//! lands on the relay's disk, moves to the bucket once complete (the local copy goes), is
//! downloaded whole and by range from there — also by a relay whose own blob folder is empty —
//! and its object is deleted with it.
//!
//! One test in its own binary: the object store reads its endpoint and credentials from the
//! process environment, set here once.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::blobs::{get, patch, sha};
use common::*;
use serde_json::json;
use tern_proto::ServerFrame;

const BUCKET: &str = "tern-test";

/// A private S3 server; killed when dropped.
struct S3 {
    child: Child,
    url: String,
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto_server() -> std::path::PathBuf {
    if let Ok(p) = std::env::var("TERN_MOTO_SERVER") {
        return p.into();
    }
    let tools = std::env::var("TERN_TOOLS_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| {
            std::path::PathBuf::from(std::env::var("HOME").expect("HOME")).join(".cache/tern-tools")
        });
    tools.join("moto/bin/moto_server")
}

async fn start_s3(http: &reqwest::Client) -> S3 {
    let bin = moto_server();
    assert!(
        bin.is_file(),
        "{} is missing: run scripts/setup.sh (it installs the S3 test server)",
        bin.display()
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(&bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto_server");
    let s3 = S3 {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..300 {
        if let Ok(res) = http.put(format!("{}/{BUCKET}", s3.url)).send().await {
            if res.status().is_success() {
                return s3;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the S3 server did not start");
}

/// Keys in the bucket.
async fn keys(http: &reqwest::Client, s3: &S3) -> String {
    http.get(format!("{}/{BUCKET}?list-type=2", s3.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

fn with_store(c: &mut tern_server::config::Config) {
    c.blob_store = Some(format!("s3://{BUCKET}/attachments"));
}

#[tokio::test]
async fn attachments_live_in_the_object_store_and_any_relay_serves_them() {
    let http = reqwest::Client::new();
    let s3 = start_s3(&http).await;
    for (k, v) in [
        ("AWS_ENDPOINT", s3.url.as_str()),
        ("AWS_ALLOW_HTTP", "true"),
        ("AWS_ACCESS_KEY_ID", "tern"),
        ("AWS_SECRET_ACCESS_KEY", "tern-secret"),
        ("AWS_REGION", "us-east-1"),
    ] {
        std::env::set_var(k, v);
    }
    let relay = Relay::start_with(with_store).await;
    relay.register("alice").await;
    relay.register("bob").await;
    let (alice_token, bob_token) = (relay.login("alice").await, relay.login("bob").await);
    let health: serde_json::Value = relay
        .http
        .get(relay.url("/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["blob_store"], "ok", "{health}");

    // 20 MiB in two chunks, as after an interruption: more than one 8 MiB part.
    let bytes: Vec<u8> = (0..20 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let (status, body) = relay
        .post(
            "/v1/uploads",
            json!({"size": bytes.len(), "sha256": sha(&bytes), "content_type": "application/octet-stream"}),
            Some(&alice_token),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["upload_id"].as_str().unwrap().to_owned();
    let half = bytes.len() / 2;
    assert_eq!(
        patch(&relay, &alice_token, &id, 0, &bytes[..half]).await.0,
        200
    );
    let local = relay.dir.path().join("relay.db-blobs").join(&id);
    assert_eq!(
        std::fs::metadata(&local).unwrap().len(),
        half as u64,
        "in progress: on disk"
    );
    assert_eq!(
        patch(&relay, &alice_token, &id, half, &bytes[half..])
            .await
            .0,
        200
    );
    assert!(!local.exists(), "complete: moved off the relay's disk");
    assert!(keys(&http, &s3)
        .await
        .contains(&format!("attachments/{id}")));
    let res = relay
        .http
        .head(relay.url(&format!("/v1/uploads/{id}")))
        .bearer_auth(&alice_token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["upload-offset"],
        bytes.len().to_string().as_str()
    );

    let mut alice = Client::connect(&relay.ws_url(), &alice_token).await;
    let conv = alice.start_direct("bob").await;
    let reply = alice
        .request(json!({"type": "send", "conversation_id": conv, "client_id": "f1", "body": "",
                        "attachment": {"blob_id": id, "name": "data.bin", "content_type": "application/octet-stream",
                                       "size": bytes.len(), "sha256": sha(&bytes)}}))
        .await;
    let seq = match reply {
        ServerFrame::Ack { seq, .. } => seq,
        other => panic!("{other:?}"),
    };
    let res = get(&relay, &bob_token, &id, None).await;
    assert_eq!(res.status(), 200);
    assert!(
        res.bytes().await.unwrap() == bytes,
        "bit-identical from the store"
    );
    let res = get(&relay, &bob_token, &id, Some("bytes=10485750-10485769")).await;
    assert_eq!(res.status(), 206);
    assert_eq!(res.bytes().await.unwrap(), bytes[10_485_750..10_485_770]);

    // Another relay with an empty blob folder (here: the same database, a new folder) serves
    // it from the store.
    drop(alice);
    let dir = relay.stop().await;
    let mut config = test_config(dir.path());
    with_store(&mut config);
    config.blob_dir = dir.path().join("other-relay-blobs");
    let relay = Relay::start_in(dir, config).await;
    let bob_token = relay.login("bob").await;
    let res = get(&relay, &bob_token, &id, Some("bytes=-5")).await;
    assert_eq!(res.status(), 206);
    assert_eq!(res.bytes().await.unwrap(), bytes[bytes.len() - 5..]);

    // Deleted for everyone, then swept: the object goes too.
    let alice_token = relay.login("alice").await;
    let mut alice = Client::connect(&relay.ws_url(), &alice_token).await;
    alice
        .request(json!({"type": "send", "conversation_id": conv, "client_id": "d1", "kind": "delete", "target_seq": seq, "body": ""}))
        .await;
    drop(alice);
    let dir = relay.stop().await;
    let mut config = test_config(dir.path());
    with_store(&mut config);
    config.limits.upload_ttl = Duration::ZERO;
    let _relay = Relay::start_in(dir, config).await;
    let mut gone = false;
    for _ in 0..100 {
        if !keys(&http, &s3).await.contains(&id) {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(gone, "the swept attachment's object is still in the bucket");

    // A relay that kept its attachments on disk, then configured with the store: its old
    // blobs move to the bucket at a sweep before their local copies go, and stay readable.
    let relay = Relay::start().await;
    relay.register("carol").await;
    let carol_token = relay.login("carol").await;
    let kept = vec![9u8; 50_000];
    let kept_id =
        common::blobs::upload(&relay, &carol_token, &kept, "application/octet-stream").await;
    let dir = relay.stop().await;
    let local = dir.path().join("relay.db-blobs").join(&kept_id);
    std::fs::File::options()
        .write(true)
        .open(&local)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - Duration::from_secs(2 * 86_400))
        .unwrap();
    let mut config = test_config(dir.path());
    with_store(&mut config);
    let relay = Relay::start_in(dir, config).await;
    let mut moved = false;
    for _ in 0..100 {
        if !local.exists() {
            moved = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(moved, "the local copy goes once the store has the blob");
    assert!(keys(&http, &s3)
        .await
        .contains(&format!("attachments/{kept_id}")));
    let res = get(&relay, &carol_token, &kept_id, None).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.bytes().await.unwrap(), kept);
}
