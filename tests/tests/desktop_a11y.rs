//! Accessibility of the real desktop app (Xvfb, WebDriver): the structure a screen reader
//! relies on (roles, names, live regions), checked in the DOM and in the engine's own
//! accessibility tree (WebDriver's computed role and label); names on every control; who wrote
//! each message; keyboard use of the conversation list; and the contrast of the rendered
//! colours (WCAG AA: 4.5:1 for text) measured from the page's computed styles, not from the
//! stylesheet.

mod common;

use common::webdriver::{app_env, Driver, Xvfb};
use common::*;

/// WCAG contrast of two computed CSS colours, in the page.
const CONTRAST_JS: &str = r#"
const rgb = (c) => c.match(/[\d.]+/g).slice(0, 3).map(Number);
const lum = (c) => { const [r, g, b] = rgb(c).map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
const bg = (el) => { for (let e = el; e; e = e.parentElement) { const c = getComputedStyle(e).backgroundColor; if (c && !c.endsWith(', 0)') && c !== 'transparent') return c; } return 'rgb(255, 255, 255)'; };
"#;

#[tokio::test]
async fn the_app_names_its_parts_says_who_wrote_what_works_by_keyboard_and_has_readable_contrast() {
    let relay = Relay::start();
    let work = tempfile::tempdir().unwrap();
    let (bob, _bob_dir) = signup(&relay, "bob").await;
    let xvfb = Xvfb::start();
    let env = app_env(&xvfb, &work.path().join("app"), &relay.url());
    let app = Driver::launch(&bin("tern-desktop"), &env).await;
    app.register("alice").await;
    let conv = bob.start_direct("alice").await.unwrap().conversation_id;
    bob.send(conv, "hello there").await.unwrap();
    app.accept_first_request().await;
    app.js("const c = document.getElementById('composer'); c.value = 'hi bob'; c.dispatchEvent(new Event('input'));").await;
    app.click("#send").await;
    app.wait_until(
        "document.querySelectorAll('#messages li.msg').length === 2",
        "two messages",
    )
    .await;

    // Landmarks and live regions.
    let structure = app
        .js(
            "const a = (id, attr) => document.getElementById(id)?.getAttribute(attr);
             return [a('messages', 'role'), a('messages', 'aria-label'), a('banner-text', 'role'),
                     a('typing', 'aria-live'), a('toasts', 'aria-live') || a('toasts', 'role'),
                     a('conversations', 'aria-label')]",
        )
        .await;
    assert_eq!(
        structure,
        serde_json::json!([
            "log",
            "Messages",
            "status",
            "polite",
            "polite",
            "Conversation list"
        ]),
        "{structure}"
    );

    // The same from the accessibility tree itself, as the engine exposes it to assistive
    // technology: roles after ARIA and native semantics, names after name computation.
    let tree = [
        ("#messages", "log", "Messages"),
        ("#conversations", "listbox", "Conversation list"),
        ("#composer", "textbox", "Message"),
        ("#send", "button", "Send"),
        ("#search", "searchbox", "Search messages"),
    ];
    for (css, role, name) in tree {
        assert_eq!(
            app.accessible(css).await,
            (role.to_owned(), name.to_owned()),
            "{css} in the accessibility tree"
        );
    }
    // A message is announced with its author and its text; a conversation row is a named
    // option of the list.
    let (role, name) = app.accessible("#messages li.msg").await;
    assert_eq!(role, "listitem", "a message's role");
    assert!(
        name.contains("bob") && name.contains("hello there"),
        "a message's accessible name: {name:?}"
    );
    let (role, row) = app.accessible("#conversations li.conv").await;
    assert_eq!(role, "option", "a conversation row's role");
    assert!(
        row.contains("bob"),
        "a conversation row's accessible name: {row:?}"
    );

    // Every visible control has a name.
    let unnamed = app
        .js("const name = (e) => (e.getAttribute('aria-label') || e.getAttribute('title') || e.textContent || '').replace(/[^\\p{L}\\p{N}]/gu, '');
             const visible = (e) => e.offsetParent !== null;
             return [...document.querySelectorAll('button, input, textarea, select, [role=button], [role=option]')]
               .filter(visible)
               .filter((e) => !name(e) && !(e.id && document.querySelector(`label[for=\"${e.id}\"]`)) && !e.closest('label'))
               .map((e) => e.outerHTML.slice(0, 80));")
        .await;
    assert_eq!(unnamed, serde_json::json!([]), "controls without a name");

    // Who wrote each message is said, not only shown by side and colour.
    let spoken = app
        .js("return [...document.querySelectorAll('#messages li.msg')].map((li) => (li.getAttribute('aria-label') || li.textContent));")
        .await;
    let spoken: Vec<String> = serde_json::from_value(spoken).unwrap();
    assert!(
        spoken[0].contains("bob") && spoken[0].contains("hello there"),
        "{spoken:?}"
    );
    assert!(
        spoken[1].contains("You") && spoken[1].contains("hi bob"),
        "{spoken:?}"
    );

    // Text contrast of the rendered page: every visible text node's colour against its
    // background, at least 4.5:1.
    let worst = app
        .js(&format!(
            "{CONTRAST_JS}
             const seen = [];
             for (const el of document.querySelectorAll('#app *')) {{
               if (el.offsetParent === null || !el.childNodes.length) continue;
               if (![...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
               const r = ratio(getComputedStyle(el).color, bg(el));
               seen.push([Math.round(r * 100) / 100, el.className || el.tagName, el.textContent.trim().slice(0, 20)]);
             }}
             seen.sort((a, b) => a[0] - b[0]);
             return seen.slice(0, 3);"
        ))
        .await;
    let lowest = worst[0][0].as_f64().unwrap();
    assert!(lowest >= 4.5, "lowest text contrast {lowest}: {worst}");

    // Keyboard: Space on a conversation row opens it (from another chat).
    let group = bob
        .create_group("Team", &["alice"])
        .await
        .unwrap()
        .conversation_id;
    bob.send(group, "welcome").await.unwrap();
    app.wait_until(
        "[...document.querySelectorAll('#conversations li.conv .title')].some(t => t.textContent === 'Team')",
        "the group listed",
    )
    .await;
    app.js("[...document.querySelectorAll('#conversations li.conv')].find(r => r.querySelector('.title').textContent === 'Team').click()").await;
    app.wait_until(
        "document.getElementById('chat-title').textContent === 'Team'",
        "the group open",
    )
    .await;
    app.js("const row = [...document.querySelectorAll('#conversations li.conv')].find(r => r.querySelector('.title').textContent === 'bob'); row.focus(); row.dispatchEvent(new KeyboardEvent('keydown', {key: ' ', code: 'Space', bubbles: true, cancelable: true}));").await;
    app.wait_until(
        "document.getElementById('chat-title').textContent === 'bob'",
        "Space opens the chat",
    )
    .await;
    // A new message in the open chat is said once, by the announcer; the list of messages
    // itself is not a live region (its rows are drawn again as ticks and reactions change).
    bob.send(conv, "are you there?").await.unwrap();
    app.wait_until(
        "document.getElementById('announcer').textContent.startsWith('bob') && document.getElementById('announcer').textContent.endsWith(': are you there?')",
        "the new message announced with its sender",
    )
    .await;
    let live = app
        .js("const a = document.getElementById('announcer'); return [document.getElementById('messages').getAttribute('aria-live'), a.getAttribute('role'), a.getAttribute('aria-live')]")
        .await;
    assert_eq!(live, serde_json::json!(["off", "status", "polite"]));
    // The same words again are said again: the live region's text changes (a screen reader
    // says nothing for a text that stayed the same).
    let said = app
        .js("return document.getElementById('announcer').textContent")
        .await;
    bob.send(conv, "are you there?").await.unwrap();
    app.wait_until(
        &format!(
            "document.querySelectorAll('#messages li.msg').length > 1 && document.getElementById('announcer').textContent !== {said} && document.getElementById('announcer').textContent.trim() === {said}.trim()"
        ),
        "the repeated message announced again",
    )
    .await;
    // The arrows move between rows; the open chat is the selected option; the list is one tab
    // stop, at the focused row.
    let moved = app
        .js("const rows = [...document.querySelectorAll('#conversations li.conv')];
             rows[0].focus();
             rows[0].dispatchEvent(new KeyboardEvent('keydown', {key: 'ArrowDown', bubbles: true, cancelable: true}));
             const down = document.activeElement === rows[1];
             rows[1].dispatchEvent(new KeyboardEvent('keydown', {key: 'ArrowUp', bubbles: true, cancelable: true}));
             const up = document.activeElement === rows[0];
             rows[0].dispatchEvent(new KeyboardEvent('keydown', {key: 'End', bubbles: true, cancelable: true}));
             const end = document.activeElement === rows[rows.length - 1];
             rows[rows.length - 1].dispatchEvent(new KeyboardEvent('keydown', {key: 'Home', bubbles: true, cancelable: true}));
             return [down, up, end, document.activeElement === rows[0],
                     rows.filter((r) => r.getAttribute('aria-selected') === 'true').map((r) => r.querySelector('.title').textContent),
                     rows.map((r) => r.tabIndex)];")
        .await;
    assert_eq!(
        moved,
        serde_json::json!([true, true, true, true, ["bob"], [0, -1]]),
        "arrow keys, Home and End, the selected row, and one tab stop (the focused row)"
    );

    app.quit().await;
    drop(xvfb);
}
