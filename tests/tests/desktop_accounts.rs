//! Two accounts, one after the other, in the same running app (Xvfb, WebDriver) against a
//! real relay: nothing of the first shows, or counts, for the second. Its search is gone,
//! and what it read in a chat both are in does not hide the second's unread messages there.
//! Signed out by another device (a password change), the app lets go of the session.
//! (Its own test binary: two apps starting at once on two cores can miss WebDriver's session
//! timeout.)

mod common;

use common::webdriver::{app_env, Driver, Xvfb};
use common::*;

/// Click the row of the chat titled `title` in the conversation list.
async fn open_chat(app: &Driver, title: &str) {
    app.wait_until(
        &format!("[...document.querySelectorAll('#conversations .conv')].some(c => c.querySelector('.title').textContent === '{title}')"),
        "the chat is listed",
    )
    .await;
    app.js(&format!("[...document.querySelectorAll('#conversations .conv')].find(c => c.querySelector('.title').textContent === '{title}').click()")).await;
    app.wait_until(
        &format!("document.getElementById('chat-title').textContent === '{title}'"),
        "the chat is open",
    )
    .await;
}

/// The unread badge of the row titled `title`, as the list shows it ("" when hidden).
fn badge_of(title: &str) -> String {
    format!("(() => {{ const c = [...document.querySelectorAll('#conversations .conv')].find(c => c.querySelector('.title').textContent === '{title}'); const b = c && c.querySelector('.badge'); return b && !b.hidden ? b.textContent : ''; }})()")
}

#[tokio::test]
async fn the_next_account_signed_in_sees_nothing_of_the_last_ones_reading_or_search() {
    let relay = Relay::start();
    let work = tempfile::tempdir().unwrap();
    let (bob, _bob_dir) = signup(&relay, "bob").await;
    let (carol, _carol_dir) = signup(&relay, "carol").await;
    let xvfb = Xvfb::start();
    let env = app_env(&xvfb, &work.path().join("app"), &relay.url());
    let app = Driver::launch(&bin("tern-desktop"), &env).await;
    app.register("alice").await;

    // Bob's group with both; carol accepts it elsewhere, alice here, and alice reads it all.
    let group = bob
        .create_group("Family", &["alice", "carol"])
        .await
        .unwrap()
        .conversation_id;
    carol.accept_request(group).await.unwrap();
    // (The group's own notices come first: its messages' seqs are not 1, 2, 3.)
    for i in 1..=3 {
        bob.send(group, &format!("hello {i}")).await.unwrap();
    }
    wait_settled(&bob).await;
    let seqs: Vec<u64> = bob
        .messages(group, None, 20)
        .await
        .unwrap()
        .iter()
        .filter(|m| m.body.starts_with("hello "))
        .filter_map(|m| m.seq.map(|s| s.0))
        .collect();
    let (first, last) = (seqs[0], seqs[2]);
    app.accept_first_request().await;
    app.wait_until(
        &format!("document.querySelector('#messages li.msg[data-seq=\"{last}\"]')"),
        "alice sees the third message",
    )
    .await;
    eventually("alice's read marker reaches the third message", || async {
        bob.conversation(group).await.unwrap().is_some_and(|c| {
            c.members
                .iter()
                .any(|m| m.username == "alice" && m.read_seq.0 == last)
        })
    })
    .await;
    // And searches.
    app.type_into("#search", "hello").await;
    app.wait_until(
        "!document.getElementById('search-results').hidden && document.querySelector('#search-results li.search-result')",
        "alice's search results",
    )
    .await;

    // What the UI holds as the account it acts for (a loop of file sends started now would).
    app.js("window.__alice = null; window.__TAURI__.core.invoke('app_state').then(s => { window.__alice = s.account; });")
        .await;
    app.wait_until("window.__alice", "alice's account key")
        .await;

    app.click("#signout").await;
    app.wait_until(
        "document.getElementById('signout-dialog').open",
        "sign-out asks first",
    )
    .await;
    app.click("#signout-confirm").await;
    app.wait_until("!document.getElementById('signin').hidden", "signed out")
        .await;

    // Carol signs in on the same app, without a restart.
    app.clear("#username").await;
    app.type_into("#username", "carol").await;
    app.clear("#password").await;
    app.type_into("#password", PASSWORD).await;
    // (The sign-in screen may still be settling from the sign-out: click once nothing covers.)
    app.wait_until(
        "(() => { const b = document.getElementById('signin-button').getBoundingClientRect(); return document.elementFromPoint(b.left + b.width / 2, b.top + b.height / 2)?.id === 'signin-button'; })()",
        "the sign-in button uncovered",
    )
    .await;
    app.click("#signin-button").await;
    app.wait_until(
        "!document.getElementById('app').hidden",
        "carol's main screen",
    )
    .await;
    // A send made for alice (a file loop still running from before the sign-out) is refused
    // now that carol is signed in, though carol is in that group too; carol's own goes.
    let send_as = |who: &str| {
        format!(
            "window.__sent = null; window.__TAURI__.core.invoke('send', {{ account: {who}, conversationId: {}, body: 'from ' + {who}, replyTo: null }}).then(() => {{ window.__sent = 'sent'; }}, e => {{ window.__sent = e.code; }});",
            group.0
        )
    };
    app.js(&send_as("window.__alice")).await;
    app.wait_until("window.__sent", "the stale send answered")
        .await;
    assert_eq!(
        app.js("return window.__sent").await,
        serde_json::json!("account_changed")
    );
    app.js("window.__carol = null; window.__TAURI__.core.invoke('app_state').then(s => { window.__carol = s.account; });")
        .await;
    app.wait_until("window.__carol", "carol's account key")
        .await;
    app.js(&send_as("window.__carol")).await;
    app.wait_until("window.__sent", "carol's send answered")
        .await;
    assert_eq!(
        app.js("return window.__sent").await,
        serde_json::json!("sent")
    );
    let alice_key = app.js("return window.__alice").await;
    eventually("bob has carol's message", || async {
        bob.messages(group, None, 50)
            .await
            .unwrap()
            .iter()
            .any(|m| m.sender == "carol" && m.body.starts_with("from "))
    })
    .await;
    assert!(
        !bob.messages(group, None, 50)
            .await
            .unwrap()
            .iter()
            .any(|m| Some(m.body.as_str())
                == alice_key.as_str().map(|k| format!("from {k}")).as_deref()),
        "nothing sent for alice as carol"
    );

    let search = app
        .js("return [document.getElementById('search').value, document.getElementById('search-results').hidden]")
        .await;
    assert_eq!(
        search,
        serde_json::json!(["", true]),
        "alice's search is gone"
    );
    app.wait_until(
        &format!("{} === '3'", badge_of("Family")),
        "carol's 3 unread",
    )
    .await;

    // Her unread messages are hers: the divider goes before the first, and once seen they
    // are marked read (alice's marker here must not count as carol's).
    open_chat(&app, "Family").await;
    app.wait_until(
        &format!("document.querySelector('#messages li.new-divider')?.nextElementSibling?.dataset.seq === '{first}'"),
        "the New messages divider before the first",
    )
    .await;
    app.wait_until(&format!("{} === ''", badge_of("Family")), "carol read them")
        .await;
    eventually("carol's read marker reaches the third message", || async {
        bob.conversation(group).await.unwrap().is_some_and(|c| {
            c.members
                .iter()
                // (Past her own message, sent above.)
                .any(|m| m.username == "carol" && m.read_seq.0 >= last)
        })
    })
    .await;

    // Carol changes her password on her phone: every other device of hers is signed out, this
    // app included. It shows the sign-in screen, and the shell lets go of the session too:
    // the next start asks to sign in rather than resuming.
    carol
        .change_password(PASSWORD, "another long passphrase")
        .await
        .unwrap();
    app.wait_until(
        "!document.getElementById('signin').hidden",
        "signed out by the change",
    )
    .await;
    let settings = work.path().join("app").join("settings.json");
    eventually("the shell forgot the signed-in account", || async {
        let text = std::fs::read_to_string(&settings).unwrap_or_default();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        v["username"].is_null()
    })
    .await;

    app.quit().await;
    drop(xvfb);
}
