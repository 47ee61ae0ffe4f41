//! What the relay refuses for good does not take what the user wrote with it (the real app
//! under Xvfb, WebDriver, a real relay): a refused edit's text comes back to the composer.

mod common;

use common::webdriver::{app_env, right_click, Driver, Xvfb};
use common::*;
use tern_proto::Seq;

fn row(seq: Seq) -> String {
    format!("document.querySelector('#messages .msg[data-seq=\"{seq}\"]')")
}

/// The relay's edit window (zero here) reaches the app: a message past it offers no edit. An
/// edit the relay refuses all the same (the device's clock was wrong) gives back what the user
/// wrote: the message shows as before, and the new text is in the composer, not lost.
#[tokio::test]
async fn no_edit_is_offered_past_the_window_and_a_refused_edit_gives_its_text_back() {
    let relay = Relay::start_with(&["--edit-window-hours", "0"]);
    let work = tempfile::tempdir().unwrap();
    let (bob, _b) = signup(&relay, "bob").await;
    let xvfb = Xvfb::start();
    let env = app_env(&xvfb, &work.path().join("app"), &relay.url());
    let app = Driver::launch(&bin("tern-desktop"), &env).await;
    app.register("alice").await;
    let conv = bob.start_direct("alice").await.unwrap().conversation_id;
    bob.send(conv, "hi").await.unwrap();
    wait_settled(&bob).await;
    app.accept_first_request().await;
    app.type_into("#composer", "as sent\u{E007}").await;
    let mine = Seq(2);
    app.wait_until(
        &format!(
            "{}?.querySelector('.ticks')?.dataset.status !== 'queued'",
            row(mine)
        ),
        "alice's message stored",
    )
    .await;
    // The relay said (its welcome) that nothing can be edited: the row offers no edit.
    app.wait_until(
        &format!(
            "{0}.querySelector('.msg-actions button[data-action=reply]') && !{0}.querySelector('.msg-actions button[data-action=edit]')",
            row(mine)
        ),
        "no edit offered past the relay's edit window",
    )
    .await;
    // A device whose clock runs an hour behind believes the message is new: its menu offers
    // the edit, which the relay refuses.
    app.js("const real = Date.now; Date.now = () => real() - 3600000;")
        .await;
    app.js(&right_click(&row(mine))).await;
    app.wait_until(
        "[...document.querySelectorAll('#context-menu .menu-item')].some(i => i.dataset.action === 'edit')",
        "the menu offers the edit",
    )
    .await;
    app.js("[...document.querySelectorAll('#context-menu .menu-item')].find(i => i.dataset.action === 'edit').click()")
        .await;
    app.clear("#composer").await;
    app.type_into("#composer", "a better wording\u{E007}").await;
    app.wait_until(
        &format!(
            "{}.querySelector('.body').textContent === 'as sent' && document.getElementById('composer').value === 'a better wording'",
            row(mine)
        ),
        "the message as before, the new text back in the composer",
    )
    .await;
    app.quit().await;
    drop(xvfb);
}
