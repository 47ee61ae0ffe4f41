//! Mutes and pins this device kept in its settings before the relay kept them, in the real
//! app (Xvfb, WebDriver) against a real relay: at the first sign-in since, they join the
//! account's without undoing a choice the account made elsewhere meanwhile. (Its own test
//! binary: two apps starting at once on two cores can miss WebDriver's session timeout.)

mod common;

use std::time::Duration;

use common::webdriver::{app_env, Driver, Xvfb};
use common::*;

/// Mutes and pins this device kept before the relay kept them join the account's at the first
/// sign-in since, without undoing a choice the account made elsewhere in the meantime.
#[tokio::test]
async fn mutes_and_pins_kept_here_before_join_the_accounts_without_undoing_newer_choices() {
    let relay = Relay::start();
    let (phone, _phone_dir) = signup(&relay, "alice").await;
    let (_bob, _bob_dir) = signup(&relay, "bob").await;
    let direct = phone.start_direct("bob").await.unwrap().conversation_id;
    let group = phone
        .create_group("club", &["bob"])
        .await
        .unwrap()
        .conversation_id;
    // Since this device last ran, the account muted the group until a time, elsewhere.
    let timed = tern_proto::ChatPrefs {
        muted: true,
        muted_until: Some(4_000_000_000_000),
        ..tern_proto::ChatPrefs::none(group)
    };
    phone.set_chat_prefs(timed).await.unwrap();
    let (laptop, _laptop_dir) = device(&relay, "alice").await;
    eventually("the account has the timed mute", || async {
        laptop.chat_prefs().await.unwrap() == vec![timed]
    })
    .await;

    // This device's settings from before: both chats muted for good, the direct one pinned.
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("app");
    std::fs::create_dir_all(&data).unwrap();
    let key = format!("{}@{}", phone.user_id().0, phone.config().relay.as_str());
    let kept = serde_json::json!({
        "relay": relay.url(),
        "mutes": {&key: {direct.0.to_string(): null, group.0.to_string(): null}},
        "pinned": {&key: [direct.0]},
    });
    std::fs::write(data.join("settings.json"), kept.to_string()).unwrap();
    let xvfb = Xvfb::start();
    let env = app_env(&xvfb, &data, &relay.url());
    let app = Driver::launch(&bin("tern-desktop"), &env).await;
    app.sign_in("alice").await;

    let want = vec![
        tern_proto::ChatPrefs {
            muted: true,
            muted_until: None,
            pinned_at: pinned_at_on(&laptop, direct).await,
            ..tern_proto::ChatPrefs::none(direct)
        },
        timed,
    ];
    eventually(
        "the account has the direct chat muted and pinned, the group as it was",
        || async { laptop.chat_prefs().await.unwrap() == want },
    )
    .await;
    let settings: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("settings.json")).unwrap())
            .unwrap();
    assert_eq!(
        settings["synced_prefs"],
        serde_json::json!([key]),
        "merged once: {settings}"
    );
    app.wait_until(
        "[...document.querySelectorAll('#conversations .conv')][0].querySelector('.title').textContent === 'bob' && !document.querySelector('#conversations .conv .pinned-mark').hidden",
        "the direct chat pinned first here",
    )
    .await;
    app.quit().await;
}

/// When `conv` got pinned, as `device` has it (waits until it is).
async fn pinned_at_on(
    device: &tern_client::Client,
    conv: tern_proto::ConversationId,
) -> Option<i64> {
    for _ in 0..1200 {
        if let Some(p) = device
            .chat_prefs()
            .await
            .unwrap()
            .into_iter()
            .find(|p| p.conversation_id == conv && p.pinned_at.is_some())
        {
            return p.pinned_at;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the pin never arrived");
}
