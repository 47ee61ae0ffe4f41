//! Rich messaging in the real desktop app (Xvfb, WebDriver) against a real relay, with a second
//! participant on the engine: formatting with hostile input shown as text, links opened by the
//! system opener (never in the window), mention highlight, reactions both ways, edit and delete
//! from the message actions, a reply whose quote jumps to an original not loaded yet, a display
//! name set in the profile, and a stranger found by exact username.

mod common;

use std::time::Duration;
use tern_proto::Seq;

use common::webdriver::{app_env, right_click, Driver, Xvfb};
use common::*;

/// The row of the message with this seq.
fn row(seq: Seq) -> String {
    format!("document.querySelector('#messages .msg[data-seq=\"{seq}\"]')")
}

#[tokio::test]
async fn a_user_formats_opens_links_reacts_edits_deletes_and_follows_a_reply_to_old_history() {
    let relay = Relay::start();
    let work = tempfile::tempdir().unwrap();
    let (bob, _bob_dir) = signup(&relay, "bob").await;
    let xvfb = Xvfb::start();
    let (opener, opened) = recording_opener(work.path());
    let mut env = app_env(&xvfb, &work.path().join("app"), &relay.url());
    // One rendering variable is set as a user would; the app keeps it and so must the opener.
    const USERS_OWN: (&str, &str) = ("WEBKIT_DISABLE_DMABUF_RENDERER", "1");
    env.extend([
        ("TERN_OPENER", opener.display().to_string()),
        (USERS_OWN.0, USERS_OWN.1.to_owned()),
    ]);
    let app = Driver::launch(&bin("tern-desktop"), &env).await;
    app.register("alice").await;

    // Bob writes 70 messages (so the first is beyond the first page), then the rich ones.
    let conv = bob.start_direct("alice").await.unwrap().conversation_id;
    bob.send(conv, "the very first message").await.unwrap();
    for i in 2..=70 {
        bob.send(conv, &format!("filler {i}")).await.unwrap();
    }
    bob.send(
        conv,
        "*bold* _it_ `x<y` <img src=x onerror=alert(1)> javascript:alert(1) see https://example.com/a?b=1.",
    )
    .await
    .unwrap();
    bob.send(conv, "@alice look at this").await.unwrap();
    bob.send_text(conv, "about the first one", Some(Seq(1)))
        .await
        .unwrap();
    wait_settled(&bob).await;

    // Alice accepts the chat and reads it on her phone first, so the app opens it at the
    // newest messages with the first one not loaded.
    let (phone, _phone_dir) = device(&relay, "alice").await;
    eventually("the phone has the 73 messages", || async {
        phone.stored_messages(conv).await.unwrap().len() == 73
    })
    .await;
    phone.accept_request(conv).await.unwrap();
    phone.mark_read(conv, Seq(73)).await.unwrap();
    app.wait_until(
        "document.querySelector('#conversations .conv') && document.querySelector('#conversations .conv .badge').hidden",
        "the chat, accepted and read elsewhere",
    )
    .await;
    app.click("#conversations .conv").await;
    app.wait_until(&row(Seq(73)), "the newest messages").await;

    // Formatting: safe elements only; hostile text stays text; javascript: is no link.
    let formatted = row(Seq(71));
    app.wait_until(
        &format!("{formatted}.querySelector('.body strong')?.textContent === 'bold'"),
        "bold",
    )
    .await;
    let checks = app
        .js(&format!(
            "const b = {formatted}.querySelector('.body');
             return [b.querySelector('em')?.textContent, b.querySelector('code')?.textContent,
                     b.querySelectorAll('img, script, iframe').length,
                     [...b.querySelectorAll('a')].map(a => a.title),
                     b.textContent.includes('<img src=x onerror=alert(1)>'),
                     b.textContent.includes('javascript:alert(1)')];"
        ))
        .await;
    assert_eq!(
        checks,
        serde_json::json!(["it", "x<y", 0, ["https://example.com/a?b=1"], true, true])
    );

    // A link opens in the system's opener with its URL; the window stays on the app.
    let before = app.js("return location.href").await;
    app.js(&format!("{formatted}.querySelector('a.link').click()"))
        .await;
    eventually("the opener got the link", || async {
        std::fs::read_to_string(&opened).is_ok_and(|s| s.trim() == "https://example.com/a?b=1")
    })
    .await;
    assert_eq!(app.js("return location.href").await, before);
    // The opener (a browser) gets the environment the app was started in, without what the
    // app set for its own rendering (which its web process shows it did set).
    let opener_env = std::fs::read_to_string(work.path().join(OPENER_ENV)).unwrap();
    let app_set_some =
        software_rendering() && std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none();
    let set_always = JIT_VARS.map(|(name, _)| name);
    for name in SOFTWARE_RENDERING_VARS.into_iter().chain(set_always) {
        let started_with = if name == USERS_OWN.0 {
            Some(USERS_OWN.1.to_owned())
        } else {
            std::env::var(name).ok()
        };
        let got = opener_env
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .map(str::to_owned);
        assert_eq!(got, started_with, "{name} in the opener's environment");
        if (app_set_some || set_always.contains(&name)) && started_with.is_none() {
            assert!(
                app.web_process_env(name).is_some(),
                "the app set {name} for itself"
            );
        }
    }

    // Right-clicked, a link offers its address to copy, first in the message's menu; text
    // selected in a message offers itself.
    app.js(&right_click(&format!(
        "{formatted}.querySelector('a.link')"
    )))
    .await;
    app.wait_until(
        "!document.getElementById('context-menu').hidden && document.querySelector('#context-menu .menu-item')?.dataset.action === 'copy-link'",
        "Copy link address first",
    )
    .await;
    app.js("(document.activeElement || document.body).dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape', bubbles: true}))")
        .await;
    app.wait_until(
        "document.getElementById('context-menu').hidden",
        "menu closed",
    )
    .await;
    let bold = format!("{formatted}.querySelector('.body strong')");
    app.js(&format!("const range = document.createRange(); range.selectNodeContents({bold}); getSelection().removeAllRanges(); getSelection().addRange(range);"))
        .await;
    app.js(&right_click(&bold)).await;
    app.wait_until(
        "!document.getElementById('context-menu').hidden && document.querySelector('#context-menu .menu-item')?.dataset.action === 'copy-selection'",
        "Copy (the selection) first",
    )
    .await;
    app.js("(document.activeElement || document.body).dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape', bubbles: true})); getSelection().removeAllRanges();")
        .await;
    app.wait_until(
        "document.getElementById('context-menu').hidden",
        "menu closed",
    )
    .await;

    // A message long by its length that fits its first lines (a paragraph of narrow letters,
    // in a wide window) shows whole, with no "Read more" that would reveal nothing; one that
    // does not fit is folded.
    app.set_size(1800, 900).await;
    bob.send(conv, &"i ".repeat(610)).await.unwrap();
    bob.send(conv, &"w\n".repeat(20)).await.unwrap();
    wait_settled(&bob).await;
    app.wait_until(
        "(() => { const rows = [...document.querySelectorAll('#messages li.msg')].slice(-2); return rows.length === 2 && rows[0].querySelector('.body')?.textContent.startsWith('i i') && !rows[0].querySelector('.body.folded') && !rows[0].querySelector('.read-more') && !!rows[1].querySelector('.body.folded') && rows[1].querySelector('.read-more')?.textContent === 'Read more'; })()",
        "the fitting one whole, the other folded",
    )
    .await;
    app.set_size(1000, 680).await;

    // A mention of alice is highlighted.
    app.wait_until(
        &format!(
            "{}.classList.contains('mentions-me') && {}.querySelector('.mention-me')?.textContent === '@alice'",
            row(Seq(72)),
            row(Seq(72))
        ),
        "mention highlight",
    )
    .await;

    // Alice reacts from the actions; bob's engine sees it. Bob reacts; the app shows it.
    app.js(&format!(
        "{}.querySelector('.msg-actions button[data-action=react]').click()",
        row(Seq(72))
    ))
    .await;
    app.wait_until(
        "document.querySelector('.emoji-picker button[data-emoji=\"👍\"]')",
        "picker",
    )
    .await;
    app.js("document.querySelector('.emoji-picker button[data-emoji=\"👍\"]').click()")
        .await;
    eventually("bob sees alice's reaction", || async {
        let view = bob.messages(conv, None, 10).await.unwrap();
        view.iter().any(|m| {
            m.seq == Some(Seq(72))
                && m.reactions
                    .iter()
                    .any(|r| r.emoji == "👍" && r.users == ["alice"])
        })
    })
    .await;
    bob.react(conv, Seq(72), "❤️").await.unwrap();
    app.wait_until(
        &format!(
            "{}.querySelector('.reaction[data-emoji=\"❤️\"] .count')?.textContent === '1'",
            row(Seq(72))
        ),
        "bob's reaction",
    )
    .await;

    // Alice writes, edits and deletes from the message actions.
    app.type_into("#composer", "typo hree\u{E007}").await;
    eventually("alice's message stored", || async {
        bob.stored_messages(conv)
            .await
            .unwrap()
            .iter()
            .any(|m| m.body == "typo hree")
    })
    .await;
    let mine = bob
        .stored_messages(conv)
        .await
        .unwrap()
        .iter()
        .find(|m| m.body == "typo hree")
        .unwrap()
        .seq;
    app.wait_until(&row(mine), "alice's row stored").await;
    app.js(&format!(
        "{}.querySelector('.msg-actions button[data-action=edit]').click()",
        row(mine)
    ))
    .await;
    app.clear("#composer").await;
    app.type_into("#composer", "typo here\u{E007}").await;
    eventually("bob sees the edit", || async {
        bob.messages(conv, None, 10)
            .await
            .unwrap()
            .iter()
            .any(|m| m.seq == Some(mine) && m.body == "typo here" && m.edited)
    })
    .await;
    app.wait_until(
        &format!("{}.querySelector('.edited')", row(mine)),
        "edited mark",
    )
    .await;
    app.js(&format!(
        "{}.querySelector('.msg-actions button[data-action=\"delete-everyone\"]').click()",
        row(mine)
    ))
    .await;
    app.wait_until(
        "document.getElementById('confirm-dialog').open",
        "confirmation",
    )
    .await;
    app.click("#confirm-delete").await;
    eventually("bob sees the tombstone", || async {
        bob.messages(conv, None, 10)
            .await
            .unwrap()
            .iter()
            .any(|m| m.seq == Some(mine) && m.deleted && m.body.is_empty())
    })
    .await;
    app.wait_until(
        &format!("{}.classList.contains('deleted')", row(mine)),
        "tombstone in the app",
    )
    .await;

    // Delete for me asks first, and leaves bob's copy; a tombstone goes without asking.
    app.js(&format!(
        "{}.querySelector('.msg-actions button[data-action=\"delete-me\"]').click()",
        row(Seq(70))
    ))
    .await;
    app.wait_until(
        "document.getElementById('confirm-action-dialog').open && document.getElementById('confirm-action').textContent === 'Delete for me'",
        "delete for me asks first",
    )
    .await;
    app.click("#confirm-action").await;
    app.wait_until(&format!("!{}", row(Seq(70))), "gone from the app")
        .await;
    assert!(
        bob.messages(conv, None, 50)
            .await
            .unwrap()
            .iter()
            .any(|m| m.seq == Some(Seq(70)) && !m.deleted),
        "bob still has it"
    );
    app.js(&format!(
        "{}.querySelector('.msg-actions button[data-action=\"delete-me\"]').click()",
        row(mine)
    ))
    .await;
    app.wait_until(&format!("!{}", row(mine)), "the tombstone gone")
        .await;
    assert_eq!(
        app.js("return document.getElementById('confirm-action-dialog').open")
            .await,
        serde_json::json!(false),
        "without asking"
    );

    // The reply quotes message 1, which is not on screen: clicking the quote loads older
    // history until it is, and highlights it.
    assert_eq!(app.js(&format!("return !!{}", row(Seq(1)))).await, false);
    app.js(&format!("{}.querySelector('.quote').click()", row(Seq(73))))
        .await;
    app.wait_until(
        &format!(
            "{} && {}.querySelector('.body').textContent === 'the very first message'",
            row(Seq(1)),
            row(Seq(1))
        ),
        "the original, loaded and shown",
    )
    .await;
    app.wait_until(
        &format!("{}.classList.contains('flash')", row(Seq(1))),
        "highlighted",
    )
    .await;

    // A display name set in the profile reaches bob; a stranger is found by exact username.
    let (_carol, _carol_dir) = signup(&relay, "carol").await;
    app.click("#profile-button").await;
    app.wait_until(
        "document.getElementById('profile-dialog').open",
        "profile dialog",
    )
    .await;
    app.clear("#display-name").await;
    app.type_into("#display-name", "Alice Liddell").await;
    app.click("#save-profile").await;
    eventually("bob's chat is titled by alice's display name", || async {
        bob.conversations().await.unwrap()[0].title == "Alice Liddell"
    })
    .await;
    app.click("#new-chat").await;
    app.type_into("#new-chat-user", "carol").await;
    app.wait_until(
        "document.querySelector('#people-results li[data-username=\"carol\"]')",
        "carol found by exact username",
    )
    .await;
    app.click("#people-results li[data-username=\"carol\"]")
        .await;
    app.wait_until(
        "document.getElementById('chat-title').textContent === 'carol'",
        "the chat with carol",
    )
    .await;

    // A draft stays with its conversation: switching chats and pressing Enter sends nothing
    // to the other one, and the draft is there again after a restart.
    // (Typed through an input event: WebDriver's key sending into the box just after the
    // new-chat dialog closed repeats the text in this WebKit.)
    app.js("const c = document.getElementById('composer'); c.focus(); c.value = 'for carol only'; c.dispatchEvent(new Event('input', { bubbles: true }));").await;
    let open_bob = "[...document.querySelectorAll('#conversations .conv')].find(c => c.querySelector('.title').textContent === 'bob').click()";
    app.js(open_bob).await;
    app.wait_until(
        "document.getElementById('chat-title').textContent === 'bob'",
        "bob's chat",
    )
    .await;
    assert_eq!(
        app.js("return document.getElementById('composer').value")
            .await,
        ""
    );
    app.type_into("#composer", "\u{E007}").await;
    let open_carol = "[...document.querySelectorAll('#conversations .conv')].find(c => c.querySelector('.title').textContent === 'carol').click()";
    app.js(open_carol).await;
    app.wait_until(
        "document.getElementById('composer').value === 'for carol only'",
        "carol's draft back",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !bob.stored_messages(conv)
            .await
            .unwrap()
            .iter()
            .any(|m| m.body.contains("for carol")),
        "nothing went to bob"
    );
    app.quit().await;
    let app = Driver::launch(&bin("tern-desktop"), &env).await;
    app.wait_until("!document.getElementById('app').hidden", "signed in again")
        .await;
    app.wait_until(
        "[...document.querySelectorAll('#conversations .conv .title')].some(t => t.textContent === 'carol')",
        "the list",
    )
    .await;
    app.js(open_carol).await;
    app.wait_until(
        "document.getElementById('composer').value === 'for carol only'",
        "the draft after a restart",
    )
    .await;

    app.quit().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(xvfb);
}
