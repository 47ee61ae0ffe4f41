//! Attachments through a real relay over HTTP: a resumable upload (chunks at the relay's
//! offset only, the hash checked on completion), a message that refers to it, downloads with
//! ranges for the conversation's members only, served as attachments and never as a page,
//! and the limits (size, quota, names) with clear errors.

mod common;

use common::blobs::{get, patch, reserve, sha, upload};
use common::*;
use serde_json::{json, Value};
use tern_proto::ServerFrame;

async fn offset(relay: &Relay, token: &str, id: &str) -> u64 {
    let res = relay
        .http
        .head(relay.url(&format!("/v1/uploads/{id}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.headers()["upload-offset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

fn descriptor(id: &str, name: &str, bytes: &[u8], content_type: &str) -> Value {
    json!({"blob_id": id, "name": name, "content_type": content_type, "size": bytes.len(), "sha256": sha(bytes)})
}

#[tokio::test]
async fn an_interrupted_upload_resumes_at_the_relays_offset_and_arrives_bit_identical() {
    let relay = Relay::start().await;
    relay.register("alice").await;
    relay.register("bob").await;
    let (alice_token, bob_token) = (relay.login("alice").await, relay.login("bob").await);
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let id = reserve(&relay, &alice_token, &bytes, "application/octet-stream").await;

    let (status, body) = patch(&relay, &alice_token, &id, 0, &bytes[..100_000]).await;
    assert_eq!((status, body["offset"].as_u64()), (200, Some(100_000)));
    // The link drops; the client asks where to go on, and a chunk at a stale offset is refused.
    assert_eq!(offset(&relay, &alice_token, &id).await, 100_000);
    let (status, body) = patch(&relay, &alice_token, &id, 50_000, &bytes[50_000..]).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("offset_mismatch"))
    );
    // Someone else cannot see or extend it.
    let (status, _) = patch(&relay, &bob_token, &id, 100_000, &bytes[100_000..]).await;
    assert_eq!(status, 404);
    let (status, body) = patch(&relay, &alice_token, &id, 100_000, &bytes[100_000..]).await;
    assert_eq!(
        (status, body["complete"].as_bool()),
        (200, Some(true)),
        "{body}"
    );

    // Not downloadable by bob until a message in a shared conversation refers to it.
    assert_eq!(get(&relay, &bob_token, &id, None).await.status(), 404);
    let mut alice = Client::connect(&relay.ws_url(), &alice_token).await;
    let conv = alice.start_direct("bob").await;
    let reply = alice
        .request(json!({"type": "send", "conversation_id": conv, "client_id": "f1", "body": "",
                        "attachment": descriptor(&id, "data.bin", &bytes, "application/octet-stream")}))
        .await;
    assert!(matches!(reply, ServerFrame::Ack { .. }), "{reply:?}");
    let res = get(&relay, &bob_token, &id, None).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-disposition"], "attachment");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert_eq!(res.bytes().await.unwrap(), bytes);
    // A resumed download: the rest from a byte on.
    let res = get(&relay, &bob_token, &id, Some("bytes=299990-")).await;
    assert_eq!(res.status(), 206);
    assert_eq!(res.headers()["content-range"], "bytes 299990-299999/300000");
    assert_eq!(res.bytes().await.unwrap(), bytes[299_990..]);
    let res = get(&relay, &bob_token, &id, Some("bytes=300000-")).await;
    assert_eq!(res.status(), 416, "a range beyond the end");
    assert_eq!(res.headers()["content-range"], "bytes */300000");
    let res = get(&relay, &bob_token, &id, Some("bytes=9-2")).await;
    assert_eq!(res.status(), 416, "a range backwards");
    // Several ranges, or another unit: ignored, as HTTP allows; the whole file.
    for ignored in ["bytes=0-1,5-6", "lines=0-3"] {
        let res = get(&relay, &bob_token, &id, Some(ignored)).await;
        assert_eq!(res.status(), 200, "{ignored}");
        assert_eq!(res.bytes().await.unwrap(), bytes, "{ignored}");
    }
}

#[tokio::test]
async fn only_current_members_download_and_a_file_is_never_served_as_a_page() {
    let relay = Relay::start().await;
    for u in ["alice", "bob", "carol", "dave"] {
        relay.register(u).await;
    }
    let alice_token = relay.login("alice").await;
    let (bob_token, carol_token, dave_token) = (
        relay.login("bob").await,
        relay.login("carol").await,
        relay.login("dave").await,
    );
    let mut alice = Client::connect(&relay.ws_url(), &alice_token).await;
    let group = alice.create_group("team", &["bob", "carol"]).await;
    let page = b"<html><script>alert(1)</script></html>".to_vec();
    let id = upload(&relay, &alice_token, &page, "text/html").await;
    let reply = alice
        .request(
            json!({"type": "send", "conversation_id": group, "client_id": "p1", "body": "look",
                        "attachment": descriptor(&id, "page.html", &page, "text/html")}),
        )
        .await;
    assert!(matches!(reply, ServerFrame::Ack { .. }), "{reply:?}");
    let res = get(&relay, &bob_token, &id, None).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/octet-stream");
    assert_eq!(
        get(&relay, &dave_token, &id, None).await.status(),
        404,
        "not a member"
    );

    // Carol is removed: she can no longer fetch the group's files.
    alice
        .request(json!({"type": "remove_member", "conversation_id": group, "username": "carol"}))
        .await;
    assert_eq!(get(&relay, &carol_token, &id, None).await.status(), 404);
    // Dave cannot attach alice's upload in a chat of his own either.
    let mut dave = Client::connect(&relay.ws_url(), &dave_token).await;
    let dm = dave.start_direct("bob").await;
    dave.expect_error(
        json!({"type": "send", "conversation_id": dm, "client_id": "steal", "body": "",
               "attachment": descriptor(&id, "page.html", &page, "text/html")}),
        "not_found",
    )
    .await;
    // Deleting the message for everyone takes the file away from the members too.
    let seq = match alice
        .request(json!({"type": "history", "conversation_id": group, "limit": 10}))
        .await
    {
        ServerFrame::History { messages, .. } => {
            messages
                .iter()
                .find(|m| m.attachment.is_some())
                .unwrap()
                .seq
        }
        other => panic!("{other:?}"),
    };
    alice
        .request(json!({"type": "send", "conversation_id": group, "client_id": "d1", "kind": "delete", "target_seq": seq, "body": ""}))
        .await;
    assert_eq!(get(&relay, &bob_token, &id, None).await.status(), 404);
}

#[tokio::test]
async fn limits_and_bad_input_get_clear_errors() {
    let relay = Relay::start_with(|c| {
        c.limits.max_attachment_bytes = 1000;
        c.limits.attachment_quota_bytes = 1500;
    })
    .await;
    relay.register("alice").await;
    relay.register("bob").await;
    let token = relay.login("alice").await;
    let big = vec![1u8; 1001];
    let (status, body) = relay
        .post(
            "/v1/uploads",
            json!({"size": big.len(), "sha256": sha(&big), "content_type": "x/y"}),
            Some(&token),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("attachment_too_large"))
    );
    let ok = vec![2u8; 900];
    upload(&relay, &token, &ok, "application/octet-stream").await;
    let (status, body) = relay
        .post(
            "/v1/uploads",
            json!({"size": 900, "sha256": sha(&ok), "content_type": "x/y"}),
            Some(&token),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("quota_exceeded"))
    );

    // A body that does not match its hash is discarded.
    let liar = vec![3u8; 100];
    let (status, body) = relay
        .post(
            "/v1/uploads",
            json!({"size": 100, "sha256": sha(b"something else"), "content_type": "x/y"}),
            Some(&token),
        )
        .await;
    assert_eq!(status, 201);
    let id = body["upload_id"].as_str().unwrap().to_owned();
    let (status, body) = patch(&relay, &token, &id, 0, &liar).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("hash_mismatch"))
    );
    assert_eq!(
        offset(&relay, &token, &id).await,
        0,
        "the bytes were dropped"
    );
    // More than declared is refused.
    let (status, body) = patch(&relay, &token, &id, 0, &[0u8; 101]).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("attachment_too_large"))
    );
    // Path tricks in ids and names.
    assert_eq!(
        get(&relay, &token, "..%2F..%2Fetc%2Fpasswd", None)
            .await
            .status(),
        404
    );
    let mut alice = Client::connect(&relay.ws_url(), &token).await;
    let conv = alice.start_direct("bob").await;
    let small = vec![4u8; 10];
    let id = upload(&relay, &token, &small, "application/octet-stream").await;
    for name in [
        "../../etc/passwd",
        "a\\b",
        "",
        "..",
        "invoice_\u{202e}fdp.exe",
    ] {
        alice
            .expect_error(
                json!({"type": "send", "conversation_id": conv, "client_id": format!("n{name}"), "body": "",
                       "attachment": descriptor(&id, name, &small, "application/octet-stream")}),
                "bad_request",
            )
            .await;
    }
    // A file name of 255 characters is taken, of 256 not; a thumbnail of 16 KiB is taken, a
    // byte more not.
    let named = |cid: &str, name: &str, thumbnail: usize| {
        let mut d = descriptor(&id, name, &small, "application/octet-stream");
        d["thumbnail"] = json!("A".repeat(thumbnail));
        json!({"type": "send", "conversation_id": conv, "client_id": cid, "body": "", "attachment": d})
    };
    alice
        .expect_error(named("long-name", &"n".repeat(256), 0), "bad_request")
        .await;
    alice
        .expect_error(named("big-thumb", "a.bin", 16 * 1024 + 1), "bad_request")
        .await;
    let mut ok = named("at-limits", &"n".repeat(255), 16 * 1024);
    ok["id"] = json!(77_777);
    alice.send_json(ok).await;
    alice
        .expect(|f| {
            matches!(f, ServerFrame::Ack { client_id, .. } if client_id.as_str() == "at-limits")
                .then_some(())
        })
        .await;
    // Without a token, nothing.
    let res = relay
        .http
        .get(relay.url(&format!("/v1/blobs/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

/// A file whose sending was cancelled gives its room in the quota back at once: its uploader
/// deletes the upload (bytes and all). Not someone else's, and not one a message refers to.
#[tokio::test]
async fn a_cancelled_upload_gives_its_quota_back_and_only_its_uploader_may_cancel_it() {
    let relay = Relay::start_with(|c| {
        c.limits.max_attachment_bytes = 1000;
        c.limits.attachment_quota_bytes = 1500;
    })
    .await;
    relay.register("alice").await;
    relay.register("bob").await;
    let (alice, bob) = (relay.login("alice").await, relay.login("bob").await);
    let delete = |token: &str, id: &str| {
        relay
            .http
            .delete(relay.url(&format!("/v1/uploads/{id}")))
            .bearer_auth(token)
            .send()
    };
    // Half of a 900-byte file went up; the user cancels it.
    let first = vec![5u8; 900];
    let id = reserve(&relay, &alice, &first, "application/octet-stream").await;
    let (status, _) = patch(&relay, &alice, &id, 0, &first[..450]).await;
    assert_eq!(status, 200);
    assert_eq!(
        delete(&bob, &id).await.unwrap().status(),
        404,
        "not bob's to cancel"
    );
    assert_eq!(delete(&alice, &id).await.unwrap().status(), 204);
    assert_eq!(
        relay
            .http
            .head(relay.url(&format!("/v1/uploads/{id}")))
            .bearer_auth(&alice)
            .send()
            .await
            .unwrap()
            .status(),
        404,
        "gone"
    );
    // Its room is free again: another 900 bytes fit in the 1,500-byte quota.
    let second = vec![6u8; 900];
    let id = upload(&relay, &alice, &second, "application/octet-stream").await;
    // Sent in a message: no longer the uploader's to cancel.
    let mut client = Client::connect(&relay.ws_url(), &alice).await;
    let conv = client.start_direct("bob").await;
    let ack = client
        .request(json!({"type": "send", "conversation_id": conv, "client_id": "f", "body": "",
                        "attachment": descriptor(&id, "f.bin", &second, "application/octet-stream")}))
        .await;
    assert!(
        matches!(ack, tern_proto::ServerFrame::Ack { .. }),
        "{ack:?}"
    );
    let refused = delete(&alice, &id).await.unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(
        get(&relay, &bob, &id, None).await.status(),
        200,
        "still there"
    );

    // Bob can read alice's file, but cannot make it his own message's: a reference of his
    // would keep it, on alice's quota, after she deleted hers.
    let mut bob_ws = Client::connect(&relay.ws_url(), &bob).await;
    bob_ws.accept(conv).await;
    let club = bob_ws.create_group("club", &[]).await;
    bob_ws
        .expect_error(
            json!({"type": "send", "conversation_id": club, "client_id": "pin", "body": "",
                   "attachment": descriptor(&id, "f.bin", &second, "application/octet-stream")}),
            "not_found",
        )
        .await;
}

#[tokio::test]
async fn an_upload_whose_bytes_all_arrived_is_completed_when_the_client_asks_where_it_stands() {
    let relay = Relay::start().await;
    relay.register("alice").await;
    let token = relay.login("alice").await;
    let bytes = vec![9u8; 5000];
    let id = reserve(&relay, &token, &bytes, "application/octet-stream").await;
    // As if the relay died after writing the last byte but before marking the upload done.
    std::fs::write(relay.dir.path().join("relay.db-blobs").join(&id), &bytes).unwrap();
    assert_eq!(
        get(&relay, &token, &id, None).await.status(),
        404,
        "not complete yet"
    );
    assert_eq!(offset(&relay, &token, &id).await, 5000);
    let res = get(&relay, &token, &id, None).await;
    assert_eq!(
        res.status(),
        200,
        "completed (hash checked) by the offset query"
    );
    assert_eq!(res.bytes().await.unwrap(), bytes);
}

/// A chunk sent while another request is still writing the same upload is refused like any
/// chunk not at the relay's offset: `409 offset_mismatch` with `Upload-Offset`, so a client
/// that resumes on 409 finds where to go on.
#[tokio::test]
async fn a_chunk_beside_one_still_being_written_gets_409_with_the_offset() {
    use tokio::io::AsyncWriteExt;
    let relay = Relay::start().await;
    relay.register("alice").await;
    let token = relay.login("alice").await;
    let bytes: Vec<u8> = (0..200_000u32).map(|i| (i * 13 % 251) as u8).collect();
    let id = reserve(&relay, &token, &bytes, "application/octet-stream").await;

    // The first request announces the whole file, sends 1,000 bytes and stalls.
    let mut slow = tokio::net::TcpStream::connect(relay.addr).await.unwrap();
    let head = format!(
        "PATCH /v1/uploads/{id} HTTP/1.1\r\nHost: relay\r\nAuthorization: Bearer {token}\r\n\
         Upload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n\
         Content-Length: {}\r\n\r\n",
        bytes.len()
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    slow.write_all(&bytes[..1_000]).await.unwrap();
    slow.flush().await.unwrap();
    eventually_async("the first request is writing", || async {
        offset(&relay, &token, &id).await == 1_000
    })
    .await;

    let res = relay
        .http
        .patch(relay.url(&format!("/v1/uploads/{id}")))
        .bearer_auth(&token)
        .header("upload-offset", 1_000)
        .body(bytes[1_000..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    assert_eq!(res.headers()["upload-offset"], "1000");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "offset_mismatch", "{body}");
    // Nothing of the refused chunk was written.
    assert_eq!(offset(&relay, &token, &id).await, 1_000);
    drop(slow);
}

/// Wait up to 10 s for `check` to hold.
async fn eventually_async<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}

/// The sweep removes an upload (unused for a day) while its last chunk is on its way: the
/// chunk is refused and its bytes do not stay behind, on disk with no upload to count them
/// against a quota or to remove them later.
#[tokio::test]
async fn an_upload_swept_while_its_last_chunk_arrives_leaves_no_bytes_behind() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let relay = Relay::start().await;
    relay.register("alice").await;
    let token = relay.login("alice").await;
    let bytes: Vec<u8> = (0..200_000u32).map(|i| (i * 13 % 251) as u8).collect();
    let id = reserve(&relay, &token, &bytes, "application/octet-stream").await;
    let (status, _) = patch(&relay, &token, &id, 0, &bytes[..100_000]).await;
    assert_eq!(status, 200);

    // The last chunk, its headers and half its body sent, the rest held back.
    let rest = &bytes[100_000..];
    let mut socket = tokio::net::TcpStream::connect(relay.addr).await.unwrap();
    let head = format!(
        "PATCH /v1/uploads/{id} HTTP/1.1\r\nHost: relay\r\nAuthorization: Bearer {token}\r\nUpload-Offset: 100000\r\nContent-Type: application/offset+octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        rest.len()
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(&rest[..50_000]).await.unwrap();
    socket.flush().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // The sweep's work, done meanwhile.
    relay
        .stored
        .rows(&format!("DELETE FROM uploads WHERE id = '{id}'"));
    socket.write_all(&rest[50_000..]).await.unwrap();
    let mut answer = String::new();
    socket.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    assert!(answer.contains("not_found"), "{answer}");
    let file = relay.dir.path().join("relay.db-blobs").join(&id);
    assert!(!file.exists(), "the bytes went with the upload");
}

/// Files in the blob folder that no upload accounts for (a partial upload whose row another
/// relay of a cluster swept, bytes left by a relay stopped mid-sweep) are removed once
/// nothing has written to them for the upload TTL; a complete upload's file stays.
#[tokio::test]
async fn files_no_upload_accounts_for_are_removed_and_blobs_stay() {
    let relay = Relay::start().await;
    relay.register("alice").await;
    let token = relay.login("alice").await;
    let bytes = vec![5u8; 10_000];
    let kept = upload(&relay, &token, &bytes, "application/octet-stream").await;
    let dir = relay.stop().await;
    let blobs = dir.path().join("relay.db-blobs");
    let orphan = blobs.join("0123456789abcdef0123456789abcdef");
    std::fs::write(&orphan, b"left behind").unwrap();
    let fresh = blobs.join("fedcba9876543210fedcba9876543210");
    std::fs::write(&fresh, b"being written").unwrap();
    let two_days_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 86_400);
    for file in [&orphan, &blobs.join(&kept)] {
        std::fs::File::options()
            .write(true)
            .open(file)
            .unwrap()
            .set_modified(two_days_ago)
            .unwrap();
    }

    // The sweep runs as the relay starts.
    let config = test_config(dir.path());
    let relay = Relay::start_in(dir, config).await;
    eventually_async("the orphan is removed", || async { !orphan.exists() }).await;
    assert!(blobs.join(&kept).exists(), "a complete upload's bytes stay");
    assert!(fresh.exists(), "a file written lately is left alone");
    let res = get(&relay, &token, &kept, None).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.bytes().await.unwrap(), bytes);
}
