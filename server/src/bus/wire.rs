//! What relays say to each other on the bus, and its encoding.
//!
//! Fan-out frames are binary: a small header (format, origin relay, the frame's number among
//! those its relay published, the frame's [`Tag`], the recipients) followed by the frame's JSON
//! exactly as clients receive it, so a receiving relay forwards it without parsing. Control
//! messages (presence of each relay's users, session revocation) are rare and JSON.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use serde::{Deserialize, Serialize};
use tern_proto::{ConversationId, ReceiptState, Seq, SessionId, UserId};

use crate::fanout::Tag;

/// Subject of fan-out frames.
pub const FAN: &str = "tern.fan";
/// Subject of control messages.
pub const CONTROL: &str = "tern.control";

/// Most users in one part of a [`Control::Beat`]: about 200 KB of JSON.
pub const BEAT_PART: usize = 10_000;

/// Format of the binary fan-out frame: 2 carries the frame's number; 1 (from relays before
/// it) does not, and is still read.
const FORMAT: u8 = 2;
const FORMAT_UNNUMBERED: u8 = 1;

/// One relay process, random per start (a restarted relay is a new member of the cluster).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RelayId(pub u64);

impl std::fmt::Display for RelayId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// A frame for some users' connections, as it travels between relays.
#[derive(Debug, Clone, PartialEq)]
pub struct FanFrame {
    /// The relay that published it (it already delivered it to its own connections).
    pub origin: RelayId,
    /// Its number among the frames `origin` published, from 1 with no gaps (0 from a relay
    /// that does not number them): a receiver that sees one skipped knows it lost frames.
    pub number: u64,
    /// What the frame is about.
    pub tag: Tag,
    /// Recipients.
    pub users: Vec<UserId>,
    /// The frame's JSON text.
    pub text: Bytes,
}

/// Why a bus message could not be read.
#[derive(Debug, thiserror::Error)]
#[error("malformed bus frame: {0}")]
pub struct Malformed(&'static str);

impl FanFrame {
    /// The bytes on the bus. `number: None` writes the format before numbering (for a
    /// cluster where a relay of that version still runs): no number, and a shape's tag as
    /// [`Tag::Other`], the only tags such a relay reads.
    pub fn encode(
        origin: RelayId,
        number: Option<u64>,
        tag: Tag,
        users: &[UserId],
        text: &[u8],
    ) -> Bytes {
        let mut b = BytesMut::with_capacity(1 + 16 + 1 + 32 + 4 + 8 * users.len() + text.len());
        let tag = match number {
            Some(n) => {
                b.put_u8(FORMAT);
                b.put_u64(origin.0);
                b.put_u64(n);
                tag
            }
            None => {
                b.put_u8(FORMAT_UNNUMBERED);
                b.put_u64(origin.0);
                match tag {
                    Tag::Shape(..) => Tag::Other,
                    other => other,
                }
            }
        };
        match tag {
            Tag::Other => b.put_u8(0),
            Tag::Message(conv, seq) => {
                b.put_u8(1);
                b.put_i64(conv.0);
                b.put_u64(seq.0);
            }
            Tag::Receipt(r) => {
                b.put_u8(2);
                b.put_i64(r.conversation_id.0);
                b.put_i64(r.user_id.0);
                b.put_u64(r.delivered_seq.0);
                b.put_u64(r.read_seq.0);
            }
            Tag::Shape(conv, version) => {
                b.put_u8(3);
                b.put_i64(conv.0);
                b.put_u64(version);
            }
        }
        b.put_u32(users.len() as u32);
        for u in users {
            b.put_i64(u.0);
        }
        b.put_slice(text);
        b.freeze()
    }

    /// Read a frame; the text is checked to be UTF-8 (it goes to clients as a text frame).
    pub fn decode(mut b: Bytes) -> Result<FanFrame, Malformed> {
        let need = |b: &Bytes, n: usize| {
            if b.remaining() < n {
                Err(Malformed("truncated"))
            } else {
                Ok(())
            }
        };
        need(&b, 1)?;
        let numbered = match b.get_u8() {
            FORMAT => true,
            FORMAT_UNNUMBERED => false,
            _ => return Err(Malformed("unknown format")),
        };
        need(&b, if numbered { 17 } else { 9 })?;
        let origin = RelayId(b.get_u64());
        let number = if numbered { b.get_u64() } else { 0 };
        let tag = match b.get_u8() {
            0 => Tag::Other,
            1 => {
                need(&b, 16)?;
                Tag::Message(ConversationId(b.get_i64()), Seq(b.get_u64()))
            }
            2 => {
                need(&b, 32)?;
                Tag::Receipt(ReceiptState {
                    conversation_id: ConversationId(b.get_i64()),
                    user_id: UserId(b.get_i64()),
                    delivered_seq: Seq(b.get_u64()),
                    read_seq: Seq(b.get_u64()),
                })
            }
            3 => {
                need(&b, 16)?;
                Tag::Shape(ConversationId(b.get_i64()), b.get_u64())
            }
            _ => return Err(Malformed("unknown tag")),
        };
        need(&b, 4)?;
        let n = b.get_u32() as usize;
        need(&b, n.saturating_mul(8))?;
        let users = (0..n).map(|_| UserId(b.get_i64())).collect();
        if std::str::from_utf8(&b).is_err() {
            return Err(Malformed("text is not UTF-8"));
        }
        Ok(FanFrame {
            origin,
            number,
            tag,
            users,
            text: b,
        })
    }
}

/// A control message between relays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Control {
    /// A relay (re)joined the bus: the others answer with a [`Control::Beat`] at once.
    Hello {
        /// The sender.
        relay: RelayId,
    },
    /// Every user with a connection on `relay` right now, sent every heartbeat interval in
    /// parts of at most [`BEAT_PART`] users (NATS refuses messages over 1 MB by default). A
    /// relay not heard from for the heartbeat timeout is taken for dead.
    Beat {
        /// The sender.
        relay: RelayId,
        /// Which list this part belongs to (the sender counts them).
        list: u64,
        /// How many parts the list has.
        parts: u32,
        /// Users in this part.
        users: Vec<UserId>,
        /// How many fan-out frames the sender had published when it sent the list (the same
        /// in every part), so a receiver that has heard fewer a heartbeat interval later knows
        /// it lost some (the last of a burst, which no later frame's number would reveal).
        /// Absent from a relay that does not number its frames.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        published: Option<u64>,
        /// The sender reads numbered fan-out frames (relays of the version before do not say
        /// so, and are sent the previous format).
        #[serde(default)]
        reads_numbered: bool,
    },
    /// A user's first connection on `relay` opened.
    Online {
        /// The sender.
        relay: RelayId,
        /// The user.
        user: UserId,
    },
    /// A user's last connection on `relay` closed.
    Offline {
        /// The sender.
        relay: RelayId,
        /// The user.
        user: UserId,
    },
    /// `relay` is stopping: its users are gone from it.
    Gone {
        /// The sender.
        relay: RelayId,
        /// How many fan-out frames it published, as in [`Control::Beat`].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        published: Option<u64>,
    },
    /// These sessions were revoked: close their connections.
    Revoked {
        /// The sender.
        relay: RelayId,
        /// The sessions.
        sessions: Vec<SessionId>,
    },
    /// `relay` could not put some of what it stored on the bus (its queue was full, or NATS
    /// refused a publish): the others' connections catch up from the store, as after an outage
    /// of their own, for what no later message would reveal (receipts, conversation changes, a
    /// conversation's last message).
    Lost {
        /// The sender.
        relay: RelayId,
    },
}

impl Control {
    /// The relay that sent it.
    pub fn relay(&self) -> RelayId {
        match self {
            Control::Hello { relay }
            | Control::Beat { relay, .. }
            | Control::Online { relay, .. }
            | Control::Offline { relay, .. }
            | Control::Gone { relay, .. }
            | Control::Lost { relay }
            | Control::Revoked { relay, .. } => *relay,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fan_frames_round_trip_with_every_tag() {
        let receipt = ReceiptState {
            conversation_id: ConversationId(7),
            user_id: UserId(3),
            delivered_seq: Seq(10),
            read_seq: Seq(9),
        };
        for tag in [
            Tag::Other,
            Tag::Message(ConversationId(7), Seq(42)),
            Tag::Receipt(receipt),
            Tag::Shape(ConversationId(7), 31),
        ] {
            let text = br#"{"type":"message","body":"h\u00e9"}"#;
            let bytes = FanFrame::encode(RelayId(99), Some(12), tag, &[UserId(1), UserId(2)], text);
            let f = FanFrame::decode(bytes).unwrap();
            assert_eq!(f.origin, RelayId(99));
            assert_eq!(f.number, 12);
            assert_eq!(f.tag, tag);
            assert_eq!(f.users, vec![UserId(1), UserId(2)]);
            assert_eq!(&f.text[..], &text[..]);
        }
    }

    #[test]
    fn truncated_or_foreign_bytes_are_refused_not_trusted() {
        let good = FanFrame::encode(RelayId(1), Some(1), Tag::Other, &[UserId(1)], b"{}");
        for cut in 0..good.len() - 2 {
            assert!(FanFrame::decode(good.slice(..cut)).is_err(), "cut at {cut}");
        }
        let mut bad = good.to_vec();
        bad[0] = 9;
        assert!(FanFrame::decode(Bytes::from(bad)).is_err());
        let mut huge = BytesMut::new();
        huge.put_u8(FORMAT);
        huge.put_u64(1);
        huge.put_u64(1);
        huge.put_u8(0);
        huge.put_u32(u32::MAX);
        assert!(
            FanFrame::decode(huge.freeze()).is_err(),
            "a count past the end"
        );
        let invalid = FanFrame::encode(RelayId(1), Some(1), Tag::Other, &[], &[0xff, 0xfe]);
        assert!(FanFrame::decode(invalid).is_err());
    }

    /// Written for a relay of the version before numbering: the previous format, byte for
    /// byte, with a shape's tag as one it reads.
    #[test]
    fn the_previous_format_is_written_for_relays_that_read_only_it() {
        let text = br#"{"type":"conversation"}"#;
        let shape = Tag::Shape(ConversationId(7), 31);
        let bytes = FanFrame::encode(RelayId(5), None, shape, &[UserId(3)], text);
        let mut want = BytesMut::new();
        want.put_u8(FORMAT_UNNUMBERED);
        want.put_u64(5);
        want.put_u8(0);
        want.put_u32(1);
        want.put_i64(3);
        want.put_slice(text);
        assert_eq!(bytes, want.freeze());
        let f = FanFrame::decode(bytes).unwrap();
        assert_eq!((f.number, f.tag), (0, Tag::Other));
    }

    /// A relay of the version before numbered frames still reaches this one: its frames read
    /// with number 0, which nothing counts.
    #[test]
    fn an_unnumbered_frame_of_the_previous_format_is_read() {
        let mut old = BytesMut::new();
        old.put_u8(FORMAT_UNNUMBERED);
        old.put_u64(5);
        old.put_u8(1);
        old.put_i64(7);
        old.put_u64(42);
        old.put_u32(1);
        old.put_i64(3);
        old.put_slice(b"{}");
        let f = FanFrame::decode(old.freeze()).unwrap();
        assert_eq!((f.origin, f.number), (RelayId(5), 0));
        assert_eq!(f.tag, Tag::Message(ConversationId(7), Seq(42)));
        assert_eq!((f.users, &f.text[..]), (vec![UserId(3)], &b"{}"[..]));
    }

    #[test]
    fn control_messages_are_tagged_json() {
        let c = Control::Online {
            relay: RelayId(5),
            user: UserId(8),
        };
        let text = serde_json::to_string(&c).unwrap();
        assert_eq!(text, r#"{"type":"online","relay":5,"user":8}"#);
        assert_eq!(serde_json::from_str::<Control>(&text).unwrap(), c);
    }
}
