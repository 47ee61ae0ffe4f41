//! Profile and group pictures through the engine and a real relay: a picture set from a big
//! photo arrives as a small upright square without its metadata, shown for the direct chat and
//! beside the member; a group's picture reaches every member; removing one reaches them too.

mod common;

use std::path::Path;

use common::*;
use tern_client::avatars::SIDE;

/// A 1200×800 PNG: green in the middle third, red around it.
fn photo(path: &Path) {
    image::RgbImage::from_fn(1200, 800, |x, _| {
        if (400..800).contains(&x) {
            image::Rgb([0, 220, 0])
        } else {
            image::Rgb([220, 0, 0])
        }
    })
    .save(path)
    .unwrap();
}

#[tokio::test]
async fn a_picture_reaches_contacts_as_a_small_square_and_a_group_picture_every_member() {
    let relay = Relay::start();
    let (alice, _a) = signup(&relay, "alice").await;
    let (bob, _b) = signup(&relay, "bob").await;
    let (carol, _c) = signup(&relay, "carol").await;
    let direct = alice.start_direct("bob").await.unwrap().conversation_id;
    bob.accept_request(direct).await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("me.png");
    photo(&path);

    alice.set_avatar(Some(&path)).await.unwrap();
    eventually("bob's direct chat shows alice's picture", || async {
        bob.conversations()
            .await
            .unwrap()
            .first()
            .is_some_and(|c| c.picture.is_some())
    })
    .await;
    let view = bob.conversations().await.unwrap().remove(0);
    let picture = view.picture.clone().unwrap();
    let alice_member = view
        .info
        .members
        .iter()
        .find(|m| m.username == "alice")
        .unwrap();
    assert_eq!(
        alice_member.avatar.as_ref(),
        Some(&picture),
        "beside her messages too"
    );
    let file = bob.avatar_file(&picture).await.unwrap();
    let img = image::open(&file).unwrap().to_rgb8();
    assert_eq!(
        img.dimensions(),
        (SIDE, SIDE),
        "a small square, not the 1200×800 original"
    );
    let centre = img.get_pixel(SIDE / 2, SIDE / 2);
    assert!(
        centre[1] > 180 && centre[0] < 60,
        "the centre was kept: {centre:?}"
    );
    assert_eq!(
        bob.avatar_file(&picture).await.unwrap(),
        file,
        "fetched once"
    );
    // Carol shares no conversation with alice: the relay will not give it to her.
    assert!(carol.avatar_file(&picture).await.is_err());

    // A group's picture, set by a member who is not an admin, reaches the others.
    let group = alice
        .create_group("team", &["bob", "carol"])
        .await
        .unwrap()
        .conversation_id;
    bob.accept_request(group).await.unwrap();
    carol.accept_request(group).await.unwrap();
    bob.set_group_avatar(group, Some(&path)).await.unwrap();
    eventually("carol's list shows the group's picture", || async {
        carol
            .conversations()
            .await
            .unwrap()
            .iter()
            .any(|c| c.info.conversation_id == group && c.picture.is_some())
    })
    .await;
    let shown = carol
        .conversations()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.info.conversation_id == group)
        .unwrap();
    assert!(carol.avatar_file(&shown.picture.unwrap()).await.is_ok());

    // Removing alice's picture reaches bob.
    alice.set_avatar(None).await.unwrap();
    eventually("bob's direct chat has no picture any more", || async {
        bob.conversations()
            .await
            .unwrap()
            .iter()
            .find(|c| c.info.conversation_id == direct)
            .is_some_and(|c| c.picture.is_none())
    })
    .await;
}
