//! Attachments in the real desktop app (Xvfb, WebDriver) against a real relay, with a second
//! participant on the engine: files picked with the attach button reach the other side
//! bit-identical, in order; a received file is downloaded and opened with the system's
//! application; a received picture shows its thumbnail at the right size and opens in the
//! in-app viewer.
//!
//! The native file dialog cannot be clicked by a test: `TERN_TEST_PICK` answers it. Native
//! drag-and-drop is not driven here (WebDriver cannot start an X drag, and the UI may not emit
//! Tauri's drop event itself).

mod common;

use std::time::Duration;

use common::webdriver::{app_env, Driver, Xvfb};
use common::*;

/// A PNG of `w`×`h` pixels.
fn png(path: &std::path::Path, w: u32, h: u32) {
    image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    })
    .save(path)
    .unwrap();
}

#[tokio::test]
async fn files_are_picked_dropped_downloaded_opened_and_pictures_viewed() {
    let relay = Relay::start();
    let work = tempfile::tempdir().unwrap();
    let (bob, _bob_dir) = signup(&relay, "bob").await;
    let xvfb = Xvfb::start();
    let (opener, opened) = recording_opener(work.path());
    let picked = work.path().join("report.pdf");
    std::fs::write(&picked, b"%PDF-1.4 pretend report").unwrap();
    let dropped = work.path().join("holiday.png");
    png(&dropped, 640, 480);
    let mut env = app_env(&xvfb, &work.path().join("app"), &relay.url());
    env.extend([
        ("TERN_OPENER", opener.display().to_string()),
        (
            "TERN_TEST_PICK",
            format!("{}:{}", picked.display(), dropped.display()),
        ),
    ]);
    let app = Driver::launch(&bin("tern-desktop"), &env).await;
    app.register("alice").await;
    let conv = bob.start_direct("alice").await.unwrap().conversation_id;
    bob.send(conv, "send me the files").await.unwrap();
    // A stranger's chat: accepted from its request bar.
    app.accept_first_request().await;
    app.wait_until("document.querySelector('#messages .msg')", "the message")
        .await;

    // Pick: the attach button sends the chosen files, in order.
    app.click("#attach-button").await;
    let mut got = Vec::new();
    for _ in 0..600 {
        let view = bob.messages(conv, None, 10).await.unwrap();
        got = view
            .into_iter()
            .filter(|m| m.attachment.is_some())
            .collect::<Vec<_>>();
        if got.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let names: Vec<String> = got
        .iter()
        .map(|m| m.attachment.as_ref().unwrap().name.clone())
        .collect();
    assert_eq!(names, ["report.pdf", "holiday.png"], "in the order picked");
    let pdf = bob.download(conv, got[0].seq.unwrap()).await.unwrap();
    assert_eq!(std::fs::read(pdf).unwrap(), std::fs::read(&picked).unwrap());
    let photo = got[1].attachment.clone().unwrap();
    assert_eq!((photo.width, photo.height), (Some(640), Some(480)));
    let png_back = bob.download(conv, got[1].seq.unwrap()).await.unwrap();
    assert_eq!(
        std::fs::read(png_back).unwrap(),
        std::fs::read(&dropped).unwrap()
    );

    // A received file: download with progress, then open it with the system.
    let notes = work.path().join("notes.txt");
    std::fs::write(&notes, "x".repeat(3 * 1024 * 1024)).unwrap();
    bob.send_file(conv, &notes, "", None).await.unwrap();
    let picture = work.path().join("view.png");
    png(&picture, 400, 200);
    bob.send_file(conv, &picture, "a view", None).await.unwrap();
    wait_settled(&bob).await;
    app.wait_until(
        "[...document.querySelectorAll('#messages .attachment-name')].some(e => e.textContent === 'notes.txt')",
        "the received file",
    )
    .await;
    app.js("[...document.querySelectorAll('#messages .msg')].find(m => m.querySelector('.attachment-name')?.textContent === 'notes.txt').querySelector('.attachment-action').click()").await;
    app.wait_until(
        "[...document.querySelectorAll('#messages .msg')].find(m => m.querySelector('.attachment-name')?.textContent === 'notes.txt')?.querySelector('.attachment-action')?.dataset.action === 'open-file'",
        "downloaded",
    )
    .await;
    app.js("[...document.querySelectorAll('#messages .msg')].find(m => m.querySelector('.attachment-name')?.textContent === 'notes.txt').querySelector('.attachment-action').click()").await;
    eventually("the system opener got the downloaded file", || async {
        std::fs::read_to_string(&opened).is_ok_and(|s| s.trim().ends_with("notes.txt"))
    })
    .await;
    let opened_path = std::fs::read_to_string(&opened).unwrap();
    assert_eq!(
        std::fs::read(opened_path.trim()).unwrap().len(),
        3 * 1024 * 1024
    );

    // A received picture: the thumbnail has the picture's proportions before anything loads;
    // clicking opens the viewer with the full image.
    app.wait_until(
        "document.querySelector('#messages img.attachment-thumb')",
        "thumbnail",
    )
    .await;
    let ratio = app
        .js("const i = [...document.querySelectorAll('#messages img.attachment-thumb')].pop(); return i.width / i.height;")
        .await
        .as_f64()
        .unwrap();
    assert!((ratio - 2.0).abs() < 0.05, "400x200 shown as {ratio}");
    app.js("[...document.querySelectorAll('#messages .attachment-view')].pop().click()")
        .await;
    app.wait_until(
        "document.getElementById('image-viewer').open && document.querySelector('#image-viewer img').naturalWidth === 400",
        "the full picture in the viewer",
    )
    .await;
    app.click("#viewer-close").await;
    app.wait_until(
        "!document.getElementById('image-viewer').open",
        "viewer closed",
    )
    .await;
    assert_eq!(app.js("return location.protocol").await, "tauri:");

    app.quit().await;
    drop(xvfb);
}
