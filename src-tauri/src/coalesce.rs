//! Notification coalescing, as a pure state machine: one notification per conversation,
//! updated in place ("3 new messages") instead of one per message, and at most one update per
//! conversation per window of time — a burst of 2,000 messages shows one notification, updated
//! a few times, not 2,000. [`crate::notify`] does the D-Bus side and feeds back the ids the
//! notification server gave and when a notification went away.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tern_proto::{ConversationId, Seq};

/// What to do now for a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Show (or, with `replaces`, update in place) a notification.
    Show {
        /// The live notification of this conversation to replace, if any.
        replaces: Option<u32>,
        /// Summary line.
        title: String,
        /// Body text.
        body: String,
        /// The newest message it stands for: what a reply typed into it has read.
        upto: Option<Seq>,
    },
    /// Updated too recently: call [`Coalescer::flush`] after this long.
    Later(Duration),
    /// Nothing (an update is already scheduled).
    Nothing,
}

#[derive(Debug, Default)]
struct Entry {
    /// The notification on screen for this conversation.
    id: Option<u32>,
    /// Messages it stands for.
    count: u32,
    /// Of those, the ones the notification on screen shows (the rest wait for its update).
    shown_count: u32,
    shown_at: Option<Instant>,
    title: String,
    body: String,
    /// The newest message counted.
    latest: Option<Seq>,
    flush_pending: bool,
}

/// Per-conversation notification state.
#[derive(Debug)]
pub struct Coalescer {
    window: Duration,
    convs: HashMap<ConversationId, Entry>,
    /// Conversations opened while their first notification was on its way to the server.
    seen_while_showing: std::collections::HashSet<ConversationId>,
}

impl Coalescer {
    /// At most one update per conversation per `window`.
    pub fn new(window: Duration) -> Self {
        Coalescer {
            window,
            convs: HashMap::new(),
            seen_while_showing: std::collections::HashSet::new(),
        }
    }

    /// A message to notify about arrived (`seq`: its place in the conversation, if stored).
    pub fn message(
        &mut self,
        conv: ConversationId,
        seq: Option<Seq>,
        title: &str,
        body: &str,
        now: Instant,
    ) -> Step {
        let window = self.window;
        let e = self.convs.entry(conv).or_default();
        e.count += 1;
        e.latest = e.latest.max(seq);
        e.title = title.to_owned();
        e.body = body.to_owned();
        match e.shown_at {
            Some(at) if now.duration_since(at) < window => {
                if e.flush_pending {
                    Step::Nothing
                } else {
                    e.flush_pending = true;
                    Step::Later(window - now.duration_since(at))
                }
            }
            _ => Self::show(e, now),
        }
    }

    /// The scheduled update: show what accumulated since the last one.
    pub fn flush(&mut self, conv: ConversationId, now: Instant) -> Step {
        match self.convs.get_mut(&conv) {
            Some(e) if e.flush_pending && e.count > 0 => Self::show(e, now),
            _ => Step::Nothing,
        }
    }

    fn show(e: &mut Entry, now: Instant) -> Step {
        e.shown_at = Some(now);
        e.flush_pending = false;
        e.shown_count = e.count;
        let body = if e.count > 1 {
            format!("{} new messages · {}", e.count, e.body)
        } else {
            e.body.clone()
        };
        Step::Show {
            replaces: e.id,
            title: e.title.clone(),
            body,
            upto: e.latest,
        }
    }

    /// The notification server gave this conversation's notification `id`. True when the
    /// conversation was opened while it was being shown: withdraw it at once.
    pub fn shown(&mut self, conv: ConversationId, id: u32) -> bool {
        if self.seen_while_showing.remove(&conv) {
            return true;
        }
        if let Some(e) = self.convs.get_mut(&conv) {
            e.id = Some(id);
        }
        false
    }

    /// The server refused to show the conversation's notification: nothing waits to be
    /// withdrawn (a chat opened meanwhile must not withdraw the next one).
    pub fn not_shown(&mut self, conv: ConversationId) {
        self.seen_while_showing.remove(&conv);
    }

    /// Whether `id` is the conversation's notification on screen, as far as this knows. An
    /// update that comes back untracked was on its way while its notification was closed or
    /// its chat opened: nothing would ever replace, withdraw or hear it.
    pub fn tracks(&self, conv: ConversationId, id: u32) -> bool {
        self.convs.get(&conv).is_some_and(|e| e.id == Some(id))
    }

    /// The notification `id` was clicked, dismissed or marked read: the next message starts a
    /// new one. Messages that came while its update waited were never shown: the scheduled
    /// update shows them, as a new notification.
    pub fn closed(&mut self, conv: ConversationId, id: u32) {
        let Some(e) = self.convs.get_mut(&conv).filter(|e| e.id == Some(id)) else {
            return;
        };
        if e.flush_pending && e.count > e.shown_count {
            e.id = None;
            e.count -= e.shown_count;
            e.shown_count = 0;
        } else {
            self.convs.remove(&conv);
        }
    }

    /// The account signed out (or another signed in): forget every conversation; the ids of
    /// the notifications on screen are returned to be withdrawn.
    pub fn clear(&mut self) -> Vec<u32> {
        self.seen_while_showing.clear();
        self.convs.drain().filter_map(|(_, e)| e.id).collect()
    }

    /// The user read the conversation up to `seq` (here, or on another device): if that
    /// covers every message its notification stands for, the notification is seen (as with
    /// [`Coalescer::seen`]), and the next message starts afresh instead of counting them.
    pub fn read_upto(&mut self, conv: ConversationId, seq: Seq) -> Option<u32> {
        let covered = self
            .convs
            .get(&conv)
            .is_some_and(|e| e.latest.is_some_and(|latest| latest <= seq));
        if covered {
            self.seen(conv)
        } else {
            None
        }
    }

    /// The user opened the conversation: what was notified is seen. Its notification, if one
    /// is on screen, is returned to be withdrawn; the next message starts a new one.
    pub fn seen(&mut self, conv: ConversationId) -> Option<u32> {
        let e = self.convs.remove(&conv)?;
        // (A closed notification whose messages wait for a new one has shown nothing yet.)
        if e.id.is_none() && e.shown_count > 0 {
            // Shown, but the server has not answered with its id yet: withdrawn when it does.
            self.seen_while_showing.insert(conv);
        }
        e.id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a step shows: the notification it replaces, its body and the newest message in it.
    fn show(step: &Step) -> (Option<u32>, String, Option<Seq>) {
        match step {
            Step::Show {
                replaces,
                body,
                upto,
                ..
            } => (*replaces, body.clone(), *upto),
            other => panic!("expected a notification, got {other:?}"),
        }
    }

    const ONE: ConversationId = ConversationId(1);

    #[test]
    fn a_burst_in_one_conversation_is_one_notification_updated_in_place() {
        let mut c = Coalescer::new(Duration::from_secs(1));
        let t0 = Instant::now();
        assert_eq!(
            show(&c.message(ONE, Some(Seq(1)), "bob", "one", t0)),
            (None, "one".into(), Some(Seq(1)))
        );
        c.shown(ONE, 42);
        // Within the window: one update is scheduled, the rest only count.
        let soon = t0 + Duration::from_millis(100);
        assert_eq!(
            c.message(ONE, Some(Seq(2)), "bob", "two", soon),
            Step::Later(Duration::from_millis(900))
        );
        for i in 3..=2000 {
            let at = t0 + Duration::from_millis(200);
            let body = format!("m{i}");
            assert_eq!(
                c.message(ONE, Some(Seq(i)), "bob", &body, at),
                Step::Nothing
            );
        }
        let (replaces, body, upto) = show(&c.flush(ONE, t0 + Duration::from_secs(1)));
        assert_eq!(replaces, Some(42));
        assert_eq!(body, "2000 new messages · m2000");
        assert_eq!(upto, Some(Seq(2000)), "the update stands for the newest");
        assert_eq!(c.flush(ONE, t0 + Duration::from_secs(2)), Step::Nothing);
    }

    /// Read elsewhere (another device, or the window brought up without a click): the
    /// notification goes once everything it stands for is read, and the next message is
    /// counted afresh, not as "4 new messages" of which 3 were read.
    #[test]
    fn a_notification_goes_once_what_it_stands_for_is_read_and_the_next_counts_afresh() {
        let mut c = Coalescer::new(Duration::from_secs(1));
        let t0 = Instant::now();
        show(&c.message(ONE, Some(Seq(1)), "bob", "one", t0));
        c.shown(ONE, 5);
        let later = t0 + Duration::from_secs(2);
        show(&c.message(ONE, Some(Seq(3)), "bob", "three", later));
        c.shown(ONE, 5);
        assert_eq!(c.read_upto(ONE, Seq(2)), None, "message 3 is still unread");
        assert_eq!(c.read_upto(ONE, Seq(3)), Some(5), "all read: withdrawn");
        assert_eq!(c.read_upto(ONE, Seq(3)), None, "once");
        let (replaces, body, _) = show(&c.message(ONE, Some(Seq(4)), "bob", "four", later));
        assert_eq!((replaces, body.as_str()), (None, "four"));
    }

    /// Closing a notification (dismissed, marked read) while its update waits does not lose
    /// the messages the update was for: they come as a new notification, counted afresh.
    #[test]
    fn messages_waiting_for_an_update_are_shown_after_their_notification_was_closed() {
        let mut c = Coalescer::new(Duration::from_secs(1));
        let t0 = Instant::now();
        show(&c.message(ONE, Some(Seq(1)), "bob", "one", t0));
        c.shown(ONE, 42);
        let soon = t0 + Duration::from_millis(100);
        assert!(matches!(
            c.message(ONE, Some(Seq(2)), "bob", "two", soon),
            Step::Later(_)
        ));
        c.message(ONE, Some(Seq(3)), "bob", "three", soon);
        c.closed(ONE, 42);
        let (replaces, body, upto) = show(&c.flush(ONE, t0 + Duration::from_secs(1)));
        assert_eq!(replaces, None, "a new notification, the old one is gone");
        assert_eq!(body, "2 new messages · three");
        assert_eq!(upto, Some(Seq(3)));
        // Opened before that new notification went out: nothing to withdraw, and the next
        // notification of the conversation stays.
        let mut d = Coalescer::new(Duration::from_secs(1));
        show(&d.message(ONE, Some(Seq(1)), "bob", "one", t0));
        d.shown(ONE, 7);
        d.message(ONE, Some(Seq(2)), "bob", "two", soon);
        d.closed(ONE, 7);
        assert_eq!(d.seen(ONE), None);
        show(&d.message(
            ONE,
            Some(Seq(3)),
            "bob",
            "later",
            t0 + Duration::from_secs(5),
        ));
        assert!(!d.shown(ONE, 8), "a later notification is not withdrawn");
        // With nothing waiting, closing forgets the conversation.
        c.shown(ONE, 43);
        c.closed(ONE, 43);
        assert_eq!(c.flush(ONE, t0 + Duration::from_secs(3)), Step::Nothing);
        assert_eq!(
            show(&c.message(
                ONE,
                Some(Seq(4)),
                "bob",
                "four",
                t0 + Duration::from_secs(3)
            )),
            (None, "four".into(), Some(Seq(4)))
        );
    }

    #[test]
    fn an_update_on_its_way_when_its_notification_closed_comes_back_untracked() {
        let mut c = Coalescer::new(Duration::from_secs(1));
        let t0 = Instant::now();
        show(&c.message(ONE, Some(Seq(1)), "bob", "one", t0));
        c.shown(ONE, 42);
        assert!(c.tracks(ONE, 42));
        c.message(
            ONE,
            Some(Seq(2)),
            "bob",
            "two",
            t0 + Duration::from_millis(100),
        );
        let (replaces, _, _) = show(&c.flush(ONE, t0 + Duration::from_secs(1)));
        assert_eq!(replaces, Some(42));
        // Closed before the server answered the update: the server made a new one, untracked.
        c.closed(ONE, 42);
        c.shown(ONE, 43);
        assert!(!c.tracks(ONE, 43), "to be withdrawn");
        // The same when the chat was opened meanwhile.
        show(&c.message(
            ONE,
            Some(Seq(3)),
            "bob",
            "three",
            t0 + Duration::from_secs(5),
        ));
        c.shown(ONE, 44);
        c.message(
            ONE,
            Some(Seq(4)),
            "bob",
            "four",
            t0 + Duration::from_millis(5100),
        );
        show(&c.flush(ONE, t0 + Duration::from_secs(6)));
        assert_eq!(c.seen(ONE), Some(44));
        c.shown(ONE, 44);
        assert!(!c.tracks(ONE, 44));
    }

    #[test]
    fn signing_out_withdraws_what_is_on_screen_and_forgets_everything() {
        let mut c = Coalescer::new(Duration::from_secs(1));
        let t0 = Instant::now();
        show(&c.message(ONE, Some(Seq(1)), "bob", "one", t0));
        c.shown(ONE, 42);
        show(&c.message(ConversationId(2), Some(Seq(1)), "ann", "hi", t0));
        let mut ids = c.clear();
        ids.sort_unstable();
        assert_eq!(
            ids,
            vec![42],
            "the one the server named; the other is not on screen yet"
        );
        assert_eq!(c.flush(ONE, t0 + Duration::from_secs(1)), Step::Nothing);
        assert_eq!(
            show(&c.message(ONE, Some(Seq(2)), "bob", "two", t0)),
            (None, "two".into(), Some(Seq(2))),
            "the next message starts afresh"
        );
    }

    /// A reply typed into a notification reads only what it showed: messages that came while
    /// its update waited are not in it.
    #[test]
    fn a_notification_stands_for_the_messages_it_showed_not_those_waiting_for_its_update() {
        let mut c = Coalescer::new(Duration::from_secs(1));
        let t0 = Instant::now();
        let (_, _, upto) = show(&c.message(ONE, Some(Seq(7)), "bob", "lunch?", t0));
        assert_eq!(upto, Some(Seq(7)));
        c.shown(ONE, 3);
        // A later message waits for the window; what is on screen still stands for seq 7.
        let soon = t0 + Duration::from_millis(10);
        assert!(matches!(
            c.message(ONE, Some(Seq(8)), "bob", "are you there?", soon),
            Step::Later(_)
        ));
        let (_, body, upto) = show(&c.flush(ONE, t0 + Duration::from_secs(1)));
        assert_eq!(
            (body.as_str(), upto),
            ("2 new messages · are you there?", Some(Seq(8)))
        );
        // A message not stored yet (no seq) does not lower what the notification stands for.
        let later = t0 + Duration::from_secs(3);
        let (_, _, upto) = show(&c.message(ONE, None, "bob", "typed offline", later));
        assert_eq!(upto, Some(Seq(8)));
    }

    #[test]
    fn conversations_are_separate_and_a_closed_notification_starts_afresh() {
        let mut c = Coalescer::new(Duration::from_secs(1));
        let t0 = Instant::now();
        show(&c.message(ONE, None, "bob", "hi", t0));
        c.shown(ONE, 7);
        assert_eq!(
            show(&c.message(ConversationId(2), None, "carol", "yo", t0)),
            (None, "yo".into(), None)
        );
        c.closed(ONE, 7);
        let later = t0 + Duration::from_secs(5);
        assert_eq!(
            show(&c.message(ONE, None, "bob", "again", later)),
            (None, "again".into(), None)
        );
        // Seen: the notification on screen is to be withdrawn, and the count restarts in a
        // new one.
        c.shown(ONE, 8);
        assert_eq!(c.seen(ONE), Some(8));
        assert_eq!(c.seen(ONE), None, "withdrawn once");
        let (replaces, body, _) =
            show(&c.message(ONE, None, "bob", "new", later + Duration::from_secs(2)));
        assert_eq!((replaces, body.as_str()), (None, "new"));
    }

    /// Opened while its notification was still on its way to the server: withdrawn as soon
    /// as the server names it.
    #[test]
    fn a_chat_opened_before_its_notification_had_an_id_withdraws_it_when_it_has_one() {
        let mut c = Coalescer::new(Duration::from_secs(1));
        show(&c.message(ONE, Some(Seq(1)), "bob", "hi", Instant::now()));
        assert_eq!(c.seen(ONE), None, "no id yet");
        assert!(c.shown(ONE, 9), "withdraw it now");
        // Refused by the server instead: the next notification is not withdrawn.
        show(&c.message(
            ONE,
            Some(Seq(4)),
            "bob",
            "x",
            Instant::now() + Duration::from_secs(20),
        ));
        c.seen(ONE);
        c.not_shown(ONE);
        show(&c.message(
            ONE,
            Some(Seq(5)),
            "bob",
            "y",
            Instant::now() + Duration::from_secs(30),
        ));
        assert!(!c.shown(ONE, 12), "nothing left to withdraw");
        assert!(!c.shown(ConversationId(2), 10), "another chat's is kept");
        // A chat opened with nothing notified leaves nothing to withdraw later.
        assert_eq!(c.seen(ConversationId(3)), None);
        assert!(!c.shown(ConversationId(3), 11));
    }
}
