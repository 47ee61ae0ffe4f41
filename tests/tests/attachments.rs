//! Attachments through the engine: a 50 MiB file sent while the relay is killed mid-upload and
//! the app is restarted arrives bit-identical, having crossed the wire little more than once;
//! the receiver downloads it, checked against its hash; a file forwarded to another chat is
//! sent again from the forwarder's copy, and that chat's members download it.

mod common;

use std::path::Path;
use std::time::Duration;
use tern_proto::ConversationId;

use common::*;
use sha2::{Digest, Sha256};
use tern_client::{Client, Event};

const SIZE: usize = 50 * 1024 * 1024;
/// Bytes per upload request (the engine's chunk).
const CHUNK: u64 = 1024 * 1024;

fn digest(bytes: &[u8]) -> Vec<u8> {
    Sha256::digest(bytes).to_vec()
}

/// The largest blob file the relay holds so far.
fn uploaded_so_far(blob_dir: &Path) -> u64 {
    std::fs::read_dir(blob_dir)
        .map(|d| {
            d.filter_map(|e| e.ok()?.metadata().ok().map(|m| m.len()))
                .max()
                .unwrap_or(0)
        })
        .unwrap_or(0)
}

/// The upload progress one client instance reported: (first, last) `done` seen.
type Seen = std::sync::Arc<std::sync::Mutex<Option<(u64, u64)>>>;

/// Record upload progress events into `seen` (the task is aborted when no longer needed).
fn track(mut rx: tokio::sync::broadcast::Receiver<Event>) -> (Seen, tokio::task::JoinHandle<()>) {
    let seen: Seen = Default::default();
    let record = seen.clone();
    let task = tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(Event::Transfer {
                    done, upload: true, ..
                }) => {
                    let mut s = record.lock().unwrap();
                    *s = Some(s.map_or((done, done), |(f, _)| (f, done)));
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => return,
            }
        }
    });
    (seen, task)
}

#[tokio::test]
async fn a_big_file_survives_a_relay_kill_and_an_app_restart_mid_upload_and_arrives_bit_identical()
{
    let mut relay = Relay::start();
    let blob_dir = relay.dir.path().join("relay.db-blobs");
    let (alice, alice_dir) = signup(&relay, "alice").await;
    let (bob, _b) = signup(&relay, "bob").await;
    let conv = alice.start_direct("bob").await.unwrap().conversation_id;
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("big.bin");
    let bytes: Vec<u8> = {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        (0..SIZE).map(|_| rng.random()).collect()
    };
    std::fs::write(&path, &bytes).unwrap();

    let (first, first_task) = track(alice.subscribe());
    let echo = alice
        .send_file(conv, &path, "the dataset", None)
        .await
        .unwrap();
    // The original may go: the engine sends its own copy.
    std::fs::remove_file(&path).unwrap();
    eventually("part of the file on the relay", || async {
        uploaded_so_far(&blob_dir) >= 8 * CHUNK
    })
    .await;
    relay.kill9();
    let at_kill = uploaded_so_far(&blob_dir);
    assert!(at_kill < SIZE as u64, "the kill came mid-upload");

    // The app is closed and opened again while the relay is down.
    let config = alice.config().clone();
    alice.shutdown().await;
    drop(alice);
    first_task.abort();
    relay.restart();
    let alice = Client::resume(config, "alice").await.unwrap();
    let (second, second_task) = track(alice.subscribe());
    wait_settled(&alice).await;

    let stored = eventually_message(&bob, conv).await;
    let a = stored.attachment.expect("the attachment");
    assert_eq!((a.name.as_str(), a.size), ("big.bin", SIZE as u64));
    assert_eq!(stored.body, "the dataset");
    let got = bob.download(conv, stored.seq.unwrap()).await.unwrap();
    let received = std::fs::read(&got).unwrap();
    assert_eq!(received.len(), SIZE);
    assert!(digest(&received) == digest(&bytes), "bit-identical");
    // Downloading again is served from the cache.
    assert_eq!(bob.download(conv, stored.seq.unwrap()).await.unwrap(), got);

    // Bytes on the wire: each session sent at most (last - first) plus its first chunk.
    alice.shutdown().await;
    second_task.abort();
    let sessions = [*first.lock().unwrap(), *second.lock().unwrap()];
    assert!(
        sessions[1].is_some(),
        "the upload went on after the restart"
    );
    let sent: u64 = sessions
        .into_iter()
        .flatten()
        .map(|(f, l)| l - f + CHUNK)
        .sum();
    assert!(
        sent as f64 <= 1.1 * SIZE as f64,
        "{sent} bytes sent for a {SIZE}-byte file (resumed at {at_kill})"
    );
    assert_eq!(echo.attachment.unwrap().size, SIZE as u64);
    drop(alice_dir);
}

/// Wait until the receiver has the message with an attachment; return it.
async fn eventually_message(c: &Client, conv: ConversationId) -> tern_client::ChatMessage {
    for _ in 0..1200 {
        if let Some(m) = c
            .messages(conv, None, 10)
            .await
            .unwrap()
            .into_iter()
            .find(|m| m.attachment.is_some() && m.seq.is_some())
        {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the file never arrived")
}

#[tokio::test]
async fn a_file_still_uploading_can_be_cancelled_and_never_arrives() {
    let mut relay = Relay::start();
    let (alice, _a) = signup(&relay, "alice").await;
    let (bob, _b) = signup(&relay, "bob").await;
    let conv = alice.start_direct("bob").await.unwrap().conversation_id;
    relay.kill9();
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("oops.txt");
    std::fs::write(&path, "not meant to be sent").unwrap();
    let echo = alice.send_file(conv, &path, "", None).await.unwrap();
    let staged = echo.local_file.clone().expect("the staged copy");
    assert!(Path::new(&staged).is_file());
    alice.delete_failed(&echo.client_id).await.unwrap();
    assert!(!Path::new(&staged).exists(), "the staged copy is gone");
    assert_eq!(alice.unsent().await.unwrap(), 0);
    relay.restart();
    alice.send(conv, "only this").await.unwrap();
    wait_settled(&alice).await;
    eventually("bob has the text", || async {
        !bob.stored_messages(conv).await.unwrap().is_empty()
    })
    .await;
    let stored = bob.stored_messages(conv).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert!(stored[0].attachment.is_none());
}

#[tokio::test]
async fn deleting_a_file_message_for_everyone_removes_the_file_from_every_device() {
    let relay = Relay::start();
    let (alice, _a) = signup(&relay, "alice").await;
    let (bob, _b) = signup(&relay, "bob").await;
    let conv = alice.start_direct("bob").await.unwrap().conversation_id;
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("private.txt");
    std::fs::write(&path, "meant to be taken back").unwrap();
    let echo = alice.send_file(conv, &path, "", None).await.unwrap();
    let sent_copy = echo.local_file.clone().expect("the staged copy");
    wait_settled(&alice).await;
    let stored = eventually_message(&bob, conv).await;
    let seq = stored.seq.unwrap();
    let downloaded = bob.download(conv, seq).await.unwrap();
    assert!(downloaded.is_file());

    alice.delete_for_everyone(conv, seq).await.unwrap();
    wait_settled(&alice).await;
    eventually("the downloaded copy is gone", || async {
        !downloaded.exists()
    })
    .await;
    assert!(
        !Path::new(&sent_copy).exists(),
        "the sender's copy is gone too"
    );
    let view = bob.messages(conv, None, 10).await.unwrap();
    let tombstone = view.iter().find(|m| m.seq == Some(seq)).unwrap();
    assert!(tombstone.deleted && tombstone.attachment.is_none() && tombstone.local_file.is_none());

    // A download that broke off left part of a file behind: deleting the message removes
    // that too.
    std::fs::write(&path, "half of it came").unwrap();
    alice.send_file(conv, &path, "", None).await.unwrap();
    wait_settled(&alice).await;
    let second = eventually_message_after(&bob, conv, seq).await;
    let blob = second.attachment.clone().unwrap().blob_id;
    let downloads = downloaded.parent().unwrap().to_owned();
    let partial = downloads.join(format!("{blob}.part"));
    std::fs::write(&partial, "half of").unwrap();
    alice
        .delete_for_everyone(conv, second.seq.unwrap())
        .await
        .unwrap();
    eventually("the partial download is gone", || async {
        !partial.exists()
    })
    .await;
}

/// The first stored message of `conv` after `seq` as `c` shows it, once it has arrived.
async fn eventually_message_after(
    c: &Client,
    conv: ConversationId,
    seq: tern_proto::Seq,
) -> tern_client::ChatMessage {
    let mut found = None;
    for _ in 0..600 {
        found = c
            .messages(conv, None, 50)
            .await
            .unwrap()
            .into_iter()
            .find(|m| m.seq.is_some_and(|s| s > seq) && m.attachment.is_some());
        if found.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    found.expect("the message arrived")
}

/// A real JPEG (encoded here) with an EXIF block after its start marker that holds an
/// orientation (6: turned) and, through a GPS pointer, a location.
fn photo_with_location() -> Vec<u8> {
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new(&mut jpeg)
        .encode_image(&image::RgbImage::from_pixel(
            40,
            20,
            image::Rgb([10, 200, 10]),
        ))
        .unwrap();
    let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
    tiff.extend_from_slice(&2u16.to_be_bytes());
    tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]); // orientation 6
    tiff.extend_from_slice(&[0x88, 0x25, 0, 4, 0, 0, 0, 1, 0, 0, 0, 38]); // GPS IFD at 38
    tiff.extend_from_slice(&[0, 0, 0, 0]);
    tiff.extend_from_slice(b"GPS 48.858370N 2.294481E");
    let mut app1 = vec![0xff, 0xe1];
    app1.extend_from_slice(&((2 + 6 + tiff.len()) as u16).to_be_bytes());
    app1.extend_from_slice(b"Exif\0\0");
    app1.extend_from_slice(&tiff);
    [&jpeg[..2], &app1, &jpeg[2..]].concat()
}

fn mentions_location(bytes: &[u8]) -> bool {
    bytes.windows(3).any(|w| w == b"GPS")
}

#[tokio::test]
async fn a_photo_loses_its_location_unless_this_device_is_set_to_keep_it() {
    let relay = Relay::start();
    let (alice, _a) = signup(&relay, "alice").await;
    let (bob, _b) = signup(&relay, "bob").await;
    let conv = alice.start_direct("bob").await.unwrap().conversation_id;
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("holiday.jpg");
    let original = photo_with_location();
    std::fs::write(&path, &original).unwrap();
    assert!(
        !alice.keeps_photo_location().await.unwrap(),
        "removed by default"
    );

    alice.send_file(conv, &path, "first", None).await.unwrap();
    wait_settled(&alice).await;
    let first = eventually_message(&bob, conv).await;
    let got = std::fs::read(bob.download(conv, first.seq.unwrap()).await.unwrap()).unwrap();
    assert!(
        !mentions_location(&got),
        "the location reached the receiver"
    );
    assert_ne!(got, original);
    // Still a picture, still turned: 40×20 stored, shown 20×40.
    let img = image::load_from_memory(&got).expect("the photo still decodes");
    assert_eq!((img.width(), img.height()), (40, 20));
    let a = first.attachment.as_ref().unwrap();
    assert_eq!(
        (a.width, a.height),
        (Some(20), Some(40)),
        "displayed size follows the orientation"
    );

    alice.set_keeps_photo_location(true).await.unwrap();
    assert!(alice.keeps_photo_location().await.unwrap());
    alice.send_file(conv, &path, "second", None).await.unwrap();
    wait_settled(&alice).await;
    eventually("the second photo arrives", || async {
        bob.stored_messages(conv).await.unwrap().len() == 2
    })
    .await;
    let second = bob.stored_messages(conv).await.unwrap().pop().unwrap();
    assert_eq!(second.body, "second");
    let got = std::fs::read(bob.download(conv, second.seq).await.unwrap()).unwrap();
    assert_eq!(got, original, "kept byte for byte when the user asked");
}

#[tokio::test]
async fn a_file_forwarded_to_another_chat_is_sent_again_from_the_forwarder_and_its_members_download_it(
) {
    let relay = Relay::start();
    let (alice, _a) = signup(&relay, "alice").await;
    let (bob, _b) = signup(&relay, "bob").await;
    let (carol, _c) = signup(&relay, "carol").await;
    let direct = alice.start_direct("bob").await.unwrap().conversation_id;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    let bytes = b"forward me, and only once".repeat(1000);
    std::fs::write(&path, &bytes).unwrap();
    alice
        .send_file(direct, &path, "the notes", None)
        .await
        .unwrap();
    let original = eventually_message(&bob, direct).await;
    bob.accept_request(direct).await.unwrap();

    // Bob forwards it to a group carol is in (not alice): the same file, sent again from his
    // copy (so his rule on photo locations applies, and each message has its own).
    let group = bob
        .create_group("club", &["carol"])
        .await
        .unwrap()
        .conversation_id;
    let echo = bob
        .forward(group, direct, original.seq.unwrap())
        .await
        .unwrap();
    assert_eq!(echo.body, "the notes");
    assert_eq!(
        echo.attachment.as_ref().map(|a| (&a.name, a.size)),
        original.attachment.as_ref().map(|a| (&a.name, a.size))
    );
    wait_settled(&bob).await;
    let arrived = eventually_message(&carol, group).await;
    assert_eq!(arrived.body, "the notes");
    let (new, old) = (
        arrived.attachment.clone().unwrap(),
        original.attachment.clone().unwrap(),
    );
    assert_ne!(new.blob_id, old.blob_id, "its own upload");
    assert_eq!(new.sha256, old.sha256, "the same bytes");
    assert_eq!(new.content_type, old.content_type);
    carol.accept_request(group).await.unwrap();
    let got = carol.download(group, arrived.seq.unwrap()).await.unwrap();
    assert_eq!(digest(&std::fs::read(got).unwrap()), digest(&bytes));

    // Alice forwards her own message: from her sent copy, which keeps the file's extension
    // (so it opens as what it is) and its type.
    let mine = alice
        .messages(direct, None, 10)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.body == "the notes" && m.seq.is_some())
        .unwrap();
    let sent_copy = mine.local_file.clone().expect("alice's sent copy");
    assert!(sent_copy.ends_with(".txt"), "{sent_copy}");
    let again = alice
        .forward(direct, direct, mine.seq.unwrap())
        .await
        .unwrap();
    let a = again.attachment.clone().unwrap();
    assert_eq!(
        (a.name.as_str(), a.content_type.as_str()),
        ("notes.txt", "text/plain")
    );
    assert!(again.local_file.unwrap().ends_with(".txt"));
    eventually("alice's forward is stored", || async {
        alice
            .messages(direct, None, 10)
            .await
            .unwrap()
            .iter()
            .any(|m| m.client_id == again.client_id && m.seq.is_some())
    })
    .await;

    // A deleted message cannot be forwarded, nor can one from a chat the user cannot read.
    let text = alice.send(direct, "gone soon").await.unwrap();
    wait_settled(&alice).await;
    let stored = alice
        .messages(direct, None, 10)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.client_id == text.client_id && m.seq.is_some())
        .unwrap();
    eventually("bob has it", || async {
        bob.messages(direct, None, 10)
            .await
            .unwrap()
            .iter()
            .any(|m| m.body == "gone soon")
    })
    .await;
    alice
        .delete_for_everyone(direct, stored.seq.unwrap())
        .await
        .unwrap();
    eventually("deleted on bob's side", || async {
        !bob.messages(direct, None, 10)
            .await
            .unwrap()
            .iter()
            .any(|m| m.body == "gone soon")
    })
    .await;
    assert!(bob
        .forward(group, direct, stored.seq.unwrap())
        .await
        .is_err());
}

/// A file uploaded but its message not yet sent (the relay refused it for a moment) whose
/// upload the relay then no longer has (it sweeps uploads no message refers to): the message
/// is not failed for good; the file goes up again from this device's copy and arrives.
#[tokio::test]
async fn a_queued_file_whose_upload_the_relay_swept_goes_up_again_and_arrives() {
    // One send per five seconds: the file's message, right after a text, is refused a while.
    let mut relay = Relay::start_with(&["--send-rate", "0.2", "--send-burst", "1"]);
    let (alice, _a) = signup(&relay, "alice").await;
    let (bob, _b) = signup(&relay, "bob").await;
    let conv = alice.start_direct("bob").await.unwrap().conversation_id;
    alice.send(conv, "a text first").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, b"the file's bytes").unwrap();
    alice.send_file(conv, &file, "", None).await.unwrap();
    let uploads = |relay: &Relay| -> i64 {
        rusqlite::Connection::open(&relay.db)
            .unwrap()
            .query_row("SELECT count(*) FROM uploads WHERE complete = 1", [], |r| {
                r.get(0)
            })
            .unwrap()
    };
    eventually("the file is on the relay", || async {
        uploads(&relay) == 1
    })
    .await;
    // The relay sweeps it (as after a day unreferenced), while the message still waits.
    relay.kill9();
    rusqlite::Connection::open(&relay.db)
        .unwrap()
        .execute("DELETE FROM uploads", [])
        .unwrap();
    relay.restart();
    let got = eventually_message(&bob, conv).await;
    assert_eq!(
        got.attachment.as_ref().map(|a| a.name.as_str()),
        Some("notes.txt")
    );
    assert_eq!(uploads(&relay), 1, "uploaded again");
}

#[tokio::test]
async fn two_downloads_of_one_file_at_once_both_get_the_whole_file() {
    let relay = Relay::start();
    let (alice, _a) = signup(&relay, "alice").await;
    let (bob, _b) = signup(&relay, "bob").await;
    let conv = alice.start_direct("bob").await.unwrap().conversation_id;
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("slides.bin");
    let bytes: Vec<u8> = (0..4 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, &bytes).unwrap();
    alice.send_file(conv, &path, "", None).await.unwrap();
    wait_settled(&alice).await;
    let seq = eventually_message(&bob, conv).await.seq.unwrap();

    // A preview and a save asked at the same moment, from two handles of one client.
    let other = bob.clone();
    let (first, second) = tokio::join!(bob.download(conv, seq), other.download(conv, seq));
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!(first, second, "one file");
    assert!(
        digest(&std::fs::read(&first).unwrap()) == digest(&bytes),
        "whole and intact"
    );
}

/// A file cancelled half-way up gives its room in the quota back at once: the relay is asked
/// to give up the upload, and keeps neither its row nor its bytes.
#[tokio::test]
async fn a_file_cancelled_half_way_up_leaves_nothing_on_the_relay() {
    let relay = Relay::start();
    let blob_dir = relay.dir.path().join("relay.db-blobs");
    let (alice, _a) = signup(&relay, "alice").await;
    let (_bob, _b) = signup(&relay, "bob").await;
    let conv = alice.start_direct("bob").await.unwrap().conversation_id;
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("big.bin");
    std::fs::write(&path, vec![7u8; 40 * 1024 * 1024]).unwrap();
    let echo = alice.send_file(conv, &path, "", None).await.unwrap();
    eventually("part of the file on the relay", || async {
        uploaded_so_far(&blob_dir) >= 2 * CHUNK
    })
    .await;
    alice.delete_failed(&echo.client_id).await.unwrap();
    let uploads = || {
        rusqlite::Connection::open(&relay.db)
            .unwrap()
            .query_row("SELECT count(*) FROM uploads", [], |r| r.get::<_, i64>(0))
            .unwrap()
    };
    eventually("the relay gave the upload up", || async {
        uploads() == 0 && uploaded_so_far(&blob_dir) == 0
    })
    .await;
}

/// A proxy in front of the relay at `target` that passes everything, except that each
/// download of a file (`GET /v1/blobs/…`) is cut off after `limit` bytes of answer, as a slow
/// link sees the relay end a long HTTP connection. Its port and how many answers it cut.
async fn cutting_proxy(
    target: u16,
    limit: usize,
) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let cuts = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = cuts.clone();
    tokio::spawn(async move {
        while let Ok((mut down, _)) = listener.accept().await {
            let cuts = counted.clone();
            tokio::spawn(async move {
                let Ok(mut up) = tokio::net::TcpStream::connect(("127.0.0.1", target)).await else {
                    return;
                };
                let mut first = vec![0u8; 64 * 1024];
                let Ok(n) = down.read(&mut first).await else {
                    return;
                };
                let download = first[..n].starts_with(b"GET /v1/blobs/");
                if up.write_all(&first[..n]).await.is_err() {
                    return;
                }
                if !download {
                    let _ = tokio::io::copy_bidirectional(&mut down, &mut up).await;
                    return;
                }
                // One request per connection is all a cut one carries; pass its answer up
                // to the limit, then drop both sides.
                let mut passed = 0;
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let Ok(n) = up.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    let n = n.min(limit - passed);
                    if down.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                    passed += n;
                    if passed >= limit {
                        cuts.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                }
            });
        }
    });
    (port, cuts)
}

/// A download the relay (or the network) breaks off part way is asked again from where it
/// stopped, as often as each answer brings more, and the file arrives whole: one call, no
/// error for the user to retry by hand.
#[tokio::test]
async fn a_download_broken_off_again_and_again_resumes_where_it_stopped_and_arrives_whole() {
    let relay = Relay::start();
    let (alice, _a) = signup(&relay, "alice").await;
    let (_bob, _b) = signup(&relay, "bob").await;
    let conv = alice.start_direct("bob").await.unwrap().conversation_id;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("video.bin");
    let bytes: Vec<u8> = (0..8 * 1024 * 1024u32)
        .map(|i| (i * 7 + i / 4096) as u8)
        .collect();
    std::fs::write(&path, &bytes).unwrap();
    alice.send_file(conv, &path, "", None).await.unwrap();
    wait_settled(&alice).await;

    // Bob's other device reaches the relay through a link that cuts every download at 2 MiB.
    let (port, cuts) = cutting_proxy(relay.port, 2 * 1024 * 1024).await;
    let data = tempfile::tempdir().unwrap();
    let bob = tern_client::Client::login(
        config(&format!("http://127.0.0.1:{port}"), data.path()),
        "bob",
        PASSWORD,
    )
    .await
    .unwrap();
    wait_online(&bob).await;
    let stored = eventually_message(&bob, conv).await;
    let got = bob.download(conv, stored.seq.unwrap()).await.unwrap();
    assert_eq!(digest(&std::fs::read(got).unwrap()), digest(&bytes));
    assert!(
        cuts.load(std::sync::atomic::Ordering::Relaxed) >= 3,
        "the link cut the download part way at least three times"
    );
}

/// A file larger than the relay takes (its welcome says how large) is refused when sent, with
/// the sizes, before it is copied into the app's folder or anything goes up.
#[tokio::test]
async fn a_file_larger_than_the_relay_takes_is_refused_before_it_is_copied() {
    let relay = Relay::start_with(&["--max-attachment-mib", "1"]);
    let (alice, alice_dir) = signup(&relay, "alice").await;
    let (_bob, _b) = signup(&relay, "bob").await;
    let conv = alice.start_direct("bob").await.unwrap().conversation_id;
    assert_eq!(
        alice.relay_limits().await.unwrap().max_attachment_bytes,
        Some(1024 * 1024)
    );
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("big.bin");
    std::fs::write(&path, vec![7u8; 2 * 1024 * 1024]).unwrap();
    let refused = alice.send_file(conv, &path, "", None).await.unwrap_err();
    let said = refused.to_string();
    assert!(
        said.contains("2 MiB") && said.contains("at most 1 MiB"),
        "{said}"
    );
    assert_eq!(alice.unsent().await.unwrap(), 0, "nothing queued");
    let copies: Vec<_> = files_under(alice_dir.path())
        .into_iter()
        .filter(|p| p.components().any(|c| c.as_os_str() == "outgoing"))
        .collect();
    assert!(copies.is_empty(), "nothing copied: {copies:?}");
    // One within the limit goes as before.
    std::fs::write(&path, vec![7u8; 512 * 1024]).unwrap();
    alice.send_file(conv, &path, "", None).await.unwrap();
}
