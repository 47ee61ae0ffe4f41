//! What the seeded random schedules share (tests/tests/reliability.rs on one relay,
//! tests/tests/cluster.rs on three): the seed, three people's conversations, a step that marks
//! a conversation read, and the final check that every client's cache equals what the relay
//! stored — messages, with nothing lost or extra, and every member's read marker.

use std::collections::HashSet;

use rand::{Rng, SeedableRng};
use tern_client::Client;
use tern_proto::ConversationId;

use super::eventually;

/// One stored entry: (seq, client id, body).
pub type Entry = (u64, String, String);

/// A member's read marker: (user id, read seq).
pub type Marker = (i64, u64);

/// `c` reads `conv` up to the newest message it has (as a user scrolling to the bottom would;
/// offline, the marker waits in its cache for the next connection).
pub async fn read_to_newest(c: &Client, conv: ConversationId) {
    let newest = c.stored_messages(conv).await.unwrap().last().map(|m| m.seq);
    if let Some(seq) = newest {
        c.mark_read(conv, seq).await.unwrap();
    }
}

/// Wait until `c`'s cache shows every member's read marker in `conv` as `expected`; on a
/// timeout the panic says what the cache showed last.
pub async fn markers_become(who: &str, c: &Client, conv: ConversationId, expected: Vec<Marker>) {
    let mut last = None;
    for _ in 0..1200 {
        let mine: Option<Vec<Marker>> = c.conversation(conv).await.unwrap().map(|info| {
            let mut mine: Vec<Marker> = info
                .members
                .iter()
                .map(|m| (m.user_id.0, m.read_seq.0))
                .collect();
            mine.sort();
            mine
        });
        if mine.as_ref() == Some(&expected) {
            return;
        }
        last = mine;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!(
        "timed out waiting for: {who} sees the read markers of conversation {conv} as the \
         relay has them: (user, read seq) {expected:?} on the relay, {last:?} in the cache \
         (state {:?}, unsent {:?})",
        c.connection_state(),
        c.unsent().await
    );
}

/// The schedule's random source: `TERN_SEED` replays a run; printed either way.
pub fn seeded_rng() -> (u64, rand::rngs::StdRng) {
    let seed: u64 = std::env::var("TERN_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random());
    println!("TERN_SEED={seed}");
    (seed, rand::rngs::StdRng::seed_from_u64(seed))
}

/// alice, bob and carol (clients 0, 1, 2): a group of the three and direct chats alice–bob and
/// bob–carol, each known to (and accepted by) its members.
pub struct Trio {
    pub group: ConversationId,
    pub ab: ConversationId,
    pub bc: ConversationId,
}

impl Trio {
    pub async fn start(clients: &[Client]) -> Trio {
        let (a, b) = (&clients[0], &clients[1]);
        let group = a
            .create_group("all", &["bob", "carol"])
            .await
            .unwrap()
            .conversation_id;
        let ab = a.start_direct("bob").await.unwrap().conversation_id;
        let bc = b.start_direct("carol").await.unwrap().conversation_id;
        let trio = Trio { group, ab, bc };
        for (i, c) in clients.iter().enumerate() {
            let (c, convs) = (c.clone(), trio.of(i));
            eventually("conversations known and accepted", move || {
                let (c, convs) = (c.clone(), convs.clone());
                async move {
                    for conv in convs {
                        if c.conversation(conv).await.unwrap().is_none() {
                            return false;
                        }
                        // A message request to accept, or already accepted.
                        let _ = c.accept_request(conv).await;
                    }
                    true
                }
            })
            .await;
        }
        trio
    }

    /// The conversations client `i` is in.
    pub fn of(&self, i: usize) -> Vec<ConversationId> {
        match i {
            0 => vec![self.group, self.ab],
            1 => vec![self.group, self.ab, self.bc],
            _ => vec![self.group, self.bc],
        }
    }

    /// Every client's cache equals `stored` and `markers` for each of its conversations;
    /// every sent client id is stored exactly once and nothing else is (group notices aside).
    pub async fn converged(
        &self,
        clients: &[(&str, &Client)],
        sent: &[String],
        seed: u64,
        stored: impl Fn(ConversationId) -> Vec<Entry>,
        markers: impl Fn(ConversationId) -> Vec<Marker>,
    ) {
        for (i, (name, c)) in clients.iter().enumerate() {
            for conv in self.of(i) {
                let who = format!("{name} (seed {seed})");
                cache_becomes(&who, c, conv, stored(conv)).await;
                markers_become(&who, c, conv, markers(conv)).await;
            }
        }
        let mut ids: Vec<String> = [self.group, self.ab, self.bc]
            .iter()
            .flat_map(|c| stored(*c))
            .map(|(_, id, _)| id)
            .filter(|id| !id.starts_with("notice:"))
            .collect();
        let total = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), total, "no message stored twice (seed {seed})");
        let ids: HashSet<String> = ids.into_iter().collect();
        let lost: Vec<&String> = sent.iter().filter(|id| !ids.contains(*id)).collect();
        assert!(lost.is_empty(), "lost messages (seed {seed}): {lost:?}");
        assert_eq!(ids.len(), sent.len(), "nothing extra stored (seed {seed})");
    }
}

/// Wait until `c`'s cache of `conv` is exactly `expected`.
pub async fn cache_becomes(who: &str, c: &Client, conv: ConversationId, expected: Vec<Entry>) {
    eventually(
        &format!("{who} has conversation {conv} as the relay has it"),
        || async {
            let mine: Vec<Entry> = c
                .stored_messages(conv)
                .await
                .unwrap()
                .into_iter()
                .map(|m| (m.seq.0, m.client_id.0, m.body))
                .collect();
            mine == expected
        },
    )
    .await;
}
