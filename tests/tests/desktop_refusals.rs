//! What the relay refuses for good does not take what the user wrote with it (the real app
//! under Xvfb, WebDriver, a real relay): a refused edit's text comes back to the composer.

mod common;

use common::webdriver::{app_env, Driver, Xvfb};
use common::*;
use tern_proto::Seq;

fn row(seq: Seq) -> String {
    format!("document.querySelector('#messages .msg[data-seq=\"{seq}\"]')")
}

/// An edit the relay refuses for good (here every edit: the relay's edit window is zero) gives
/// back what the user wrote: the message shows as before, and the new text is in the composer,
/// not lost.
#[tokio::test]
async fn a_refused_edit_gives_its_text_back_to_the_composer() {
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
    app.js(&format!(
        "{}.querySelector('.msg-actions button[data-action=edit]').click()",
        row(mine)
    ))
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
