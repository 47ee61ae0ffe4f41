//! What the UI shows, composed from the tables: the conversation list (each conversation with
//! its last message and unread count) and a page of one chat (stored messages followed by the
//! outbox's unsent ones), and full-text search. The table modules below it never import it, so
//! they stay acyclic.

use std::collections::HashMap;

use rusqlite::{params, OptionalExtension, Transaction};
use tern_proto::{
    ConversationId, ConversationKind, MessageRecord, Presence, Seq, UserId, DELETED_ACCOUNT,
};

use super::chat::{resolve_quotes, to_chats};
use super::conversations::{info, presence_map};
use super::messages::{row_to_record, COLUMNS};
use super::outbox;
use crate::error::Result;
use crate::events::{ChatMessage, ConversationView};

/// Every active conversation, most recent activity first, with preview and unread count.
pub fn list(txn: &Transaction<'_>, me: UserId) -> Result<Vec<ConversationView>> {
    let ids: Vec<ConversationId> = txn
        .prepare_cached(
            "SELECT id FROM conversations WHERE active = 1 AND hidden = 0
             ORDER BY last_activity DESC, id DESC",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let online = presence_map(txn)?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(view) = view(txn, me, id, &online)? {
            out.push(view);
        }
    }
    Ok(out)
}

/// One active conversation as [`list`] shows it, or `None` if it is unknown or inactive (the
/// UI refreshes a single row with it when an event does not carry everything the row shows).
pub fn one(
    txn: &Transaction<'_>,
    me: UserId,
    id: ConversationId,
) -> Result<Option<ConversationView>> {
    let active: Option<bool> = txn
        .prepare_cached("SELECT active FROM conversations WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    if active != Some(true) {
        return Ok(None);
    }
    view(txn, me, id, &presence_map(txn)?)
}

fn view(
    txn: &Transaction<'_>,
    me: UserId,
    id: ConversationId,
    online: &HashMap<UserId, Presence>,
) -> Result<Option<ConversationView>> {
    let Some(info) = info(txn, id)? else {
        return Ok(None);
    };
    let mine = info.members.iter().find(|m| m.user_id == me);
    let my_read = mine.map(|m| m.read_seq).unwrap_or(Seq::ZERO);
    let request = mine.is_some_and(|m| !m.accepted);
    let unread: i64 = txn
        .prepare_cached("SELECT count(*) FROM messages WHERE conversation_id = ?1 AND seq > ?2 AND sender_id != ?3 AND kind = 'text' AND hidden = 0")?
        .query_row(params![id, my_read, me], |r| r.get(0))?;
    let other = (info.kind == ConversationKind::Direct)
        .then(|| info.members.iter().find(|m| m.user_id != me))
        .flatten();
    let title = match (&info.name, other) {
        (Some(name), _) => name.clone(),
        (None, Some(o)) => o
            .display_name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .unwrap_or(&o.username)
            .to_owned(),
        // The other member of a direct chat goes only by deleting their account.
        (None, None) if info.kind == ConversationKind::Direct => DELETED_ACCOUNT.to_owned(),
        (None, None) => format!("conversation {id}"),
    };
    let last_message = page(txn, me, id, None, 1)?.pop();
    let picture = match other {
        Some(o) => o.avatar.clone(),
        None => info.avatar.clone(),
    };
    Ok(Some(ConversationView {
        picture,
        online: other.map(|o| online.get(&o.user_id).map(|p| p.online).unwrap_or(false)),
        last_seen: other
            .and_then(|o| online.get(&o.user_id))
            .and_then(|p| p.last_seen),
        title,
        last_message,
        unread: unread as u64,
        request,
        info,
    }))
}

/// The entries a chat shows as rows, in SQL ([`super::messages::shown_as_row`]).
const SHOWN: &str =
    "(m.kind IN ('text', 'notice') OR (m.kind = 'unknown' AND m.target_seq IS NULL))";

/// Up to `limit` messages after `after`, ascending (the chat view windows a long chat and
/// reads the newer part back as the user scrolls down); when that reaches the newest stored
/// message, the outbox's queued and failed messages follow, as in [`page`].
pub fn page_after(
    txn: &Transaction<'_>,
    me: UserId,
    conv: ConversationId,
    after: Seq,
    limit: usize,
) -> Result<Vec<ChatMessage>> {
    let stored: Vec<MessageRecord> = txn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM messages m
             WHERE m.conversation_id = ?1 AND m.seq > ?2 AND {SHOWN} AND m.hidden = 0 ORDER BY m.seq LIMIT ?3"
        ))?
        .query_map(params![conv, after, limit as i64], row_to_record)?
        .collect::<rusqlite::Result<_>>()?;
    let reached_newest = stored.len() < limit;
    let mut chat = to_chats(txn, me, &stored)?;
    if reached_newest {
        let mut unsent = outbox::for_conversation(txn, me, conv)?;
        resolve_quotes(txn, &mut unsent)?;
        super::chat::locate_files(txn, &mut unsent)?;
        chat.extend(unsent);
    }
    Ok(chat)
}

/// Up to `limit` newest messages before `before` (or the newest), ascending; when `before` is
/// `None` the outbox's queued and failed messages follow, in the order written.
pub fn page(
    txn: &Transaction<'_>,
    me: UserId,
    conv: ConversationId,
    before: Option<Seq>,
    limit: usize,
) -> Result<Vec<ChatMessage>> {
    let mut out = Vec::new();
    if before.is_none() {
        out = outbox::for_conversation(txn, me, conv)?;
        resolve_quotes(txn, &mut out)?;
        super::chat::locate_files(txn, &mut out)?;
        // The newest `limit` items overall: unsent messages come last, so keep the latest.
        out.drain(..out.len().saturating_sub(limit));
    }
    let room = limit.saturating_sub(out.len());
    let mut stored: Vec<MessageRecord> = txn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM messages m
             WHERE m.conversation_id = ?1 AND m.seq < ?2 AND {SHOWN} AND m.hidden = 0 ORDER BY m.seq DESC LIMIT ?3"
        ))?
        .query_map(params![conv, before.unwrap_or(Seq::MAX), room as i64], row_to_record)?
        .collect::<rusqlite::Result<_>>()?;
    stored.reverse();
    let mut chat = to_chats(txn, me, &stored)?;
    chat.extend(out);
    Ok(chat)
}

/// Whether `c` belongs to a script written without spaces between words (Chinese, Japanese;
/// Korean attaches particles to words). FTS5's tokenizer takes a whole run of such characters
/// for one word, so a word inside a sentence would never match as a prefix.
fn unspaced(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF     // hiragana, katakana
        | 0x3100..=0x312F   // bopomofo
        | 0x31F0..=0x31FF   // katakana extensions
        | 0x3400..=0x4DBF   // CJK extension A
        | 0x4E00..=0x9FFF   // CJK unified ideographs
        | 0xAC00..=0xD7AF   // Hangul syllables
        | 0xF900..=0xFAFF   // CJK compatibility ideographs
        | 0xFF66..=0xFF9F   // half-width katakana
        | 0x20000..=0x2FA1F // CJK extensions B and on
    )
}

/// What the user typed, as a search: an FTS5 query for words and phrases of spaced scripts,
/// and text that must occur as written for terms in scripts written without spaces.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SearchPlan {
    /// Words match as prefixes, `"quoted phrases"` exactly; user input is never FTS5 syntax.
    pub fts: Option<String>,
    /// Terms with characters of a script written without spaces: each must occur in the text.
    pub contains: Vec<String>,
}

/// The search for what the user typed: words match as prefixes, `"quoted phrases"` match
/// exactly, all must occur; a term in Chinese, Japanese or Korean matches anywhere in the text.
/// `None` when nothing searchable was typed.
pub fn search_plan(input: &str) -> Option<SearchPlan> {
    let quote = |t: &str| format!("\"{}\"", t.replace('"', "\"\""));
    let mut plan = SearchPlan::default();
    let mut terms = Vec::new();
    let mut add = |term: String, prefix: bool| {
        if term.chars().any(unspaced) {
            plan.contains.push(term);
        } else if prefix {
            terms.push(format!("{}*", quote(&term)));
        } else {
            terms.push(quote(&term));
        }
    };
    // Odd pieces of a split on '"' are inside quotes (an unclosed quote runs to the end).
    for (i, piece) in input.split('"').enumerate() {
        if i % 2 == 1 {
            let phrase = piece.split_whitespace().collect::<Vec<_>>().join(" ");
            if !phrase.is_empty() {
                add(phrase, false);
            }
        } else {
            for word in piece.split_whitespace() {
                add(word.to_owned(), true);
            }
        }
    }
    plan.fts = (!terms.is_empty()).then(|| terms.join(" "));
    (plan.fts.is_some() || !plan.contains.is_empty()).then_some(plan)
}

/// Search over the current text of every cached message, newest first, `limit` results
/// after skipping `offset` (edits are re-indexed, deleted messages and events are not
/// searched, messages deleted for the user are left out). See [`search_plan`] for the syntax.
pub fn search(
    txn: &Transaction<'_>,
    me: UserId,
    query: &str,
    offset: usize,
    limit: usize,
) -> Result<Vec<ChatMessage>> {
    let Some(plan) = search_plan(query) else {
        return Ok(Vec::new());
    };
    let mut args: Vec<&dyn rusqlite::ToSql> = Vec::new();
    let (limit, offset) = (limit as i64, offset as i64);
    args.push(&limit);
    args.push(&offset);
    // Only text messages are indexed; without an FTS term the same rows are read directly.
    let (from, mut filter) = match &plan.fts {
        Some(fts) => {
            args.push(fts);
            (
                "messages_fts f JOIN messages m ON m.id = f.rowid",
                "messages_fts MATCH ?3".to_owned(),
            )
        }
        None => ("messages m", "m.kind = 'text'".to_owned()),
    };
    for term in &plan.contains {
        args.push(term);
        filter.push_str(&format!(" AND instr(m.body, ?{}) > 0", args.len()));
    }
    let rows: Vec<MessageRecord> = txn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM {from}
             WHERE {filter} AND m.hidden = 0 AND m.deleted = 0
             ORDER BY m.sent_at DESC, m.id DESC LIMIT ?1 OFFSET ?2"
        ))?
        .query_map(args.as_slice(), row_to_record)?
        .collect::<rusqlite::Result<_>>()?;
    to_chats(txn, me, &rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::{conversations, messages, schema};
    use tern_proto::MessageId;
    use tern_proto::{ConversationInfo, Member, MemberRole};

    fn member(user_id: UserId, username: &str) -> Member {
        Member {
            user_id,
            username: username.into(),
            role: MemberRole::Member,
            delivered_seq: Seq::ZERO,
            read_seq: Seq::ZERO,
            display_name: None,
            avatar: None,
            accepted: true,
        }
    }

    fn fts_query(input: &str) -> Option<String> {
        search_plan(input).and_then(|p| p.fts)
    }

    #[test]
    fn search_input_becomes_prefix_words_and_exact_phrases_never_fts_syntax() {
        assert_eq!(search_plan("  "), None);
        assert_eq!(
            fts_query("meet harb").as_deref(),
            Some("\"meet\"* \"harb\"*")
        );
        assert_eq!(
            fts_query("\"at the  station\" soon").as_deref(),
            Some("\"at the station\" \"soon\"*")
        );
        // Operators and an unclosed quote are text.
        assert_eq!(
            fts_query("a OR b NEAR(\"x").as_deref(),
            Some("\"a\"* \"OR\"* \"b\"* \"NEAR(\"* \"x\"")
        );
        // A word of a script written without spaces is looked for as written.
        assert_eq!(
            search_plan("北京 train"),
            Some(SearchPlan {
                fts: Some("\"train\"*".into()),
                contains: vec!["北京".into()],
            })
        );
    }

    /// A word inside a Chinese or Japanese sentence is found (the tokenizer sees the sentence
    /// as one word); with a spaced word beside it both must occur.
    #[test]
    fn a_word_inside_a_sentence_without_spaces_is_found() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        schema::migrate(&mut conn).unwrap();
        let txn = conn.transaction().unwrap();
        let bodies = [
            "我们明天去北京吧",
            "東京駅で会いましょう train",
            "meet at the station",
        ];
        let records: Vec<MessageRecord> = bodies
            .iter()
            .enumerate()
            .map(|(i, body)| MessageRecord {
                message_id: MessageId(i as i64 + 1),
                conversation_id: ConversationId(3),
                seq: Seq(i as u64 + 1),
                sender_id: UserId(2),
                sender: "bob".into(),
                client_id: format!("c{i}").as_str().into(),
                body: (*body).into(),
                sent_at: 20 + i as i64,
                ..MessageRecord::default()
            })
            .collect();
        messages::store(&txn, UserId(1), &records).unwrap();
        let found = |q: &str| -> Vec<String> {
            search(&txn, UserId(1), q, 0, 10)
                .unwrap()
                .into_iter()
                .map(|m| m.body)
                .collect()
        };
        assert_eq!(found("北京"), vec!["我们明天去北京吧"]);
        assert_eq!(found("東京駅"), vec!["東京駅で会いましょう train"]);
        assert_eq!(found("東京 train"), vec!["東京駅で会いましょう train"]);
        assert!(found("東京 station").is_empty(), "both must occur");
        assert_eq!(found("sta"), vec!["meet at the station"]);
        assert!(found("上海").is_empty());
    }

    /// Alice (1) and bob (2) in direct chat 3.
    fn direct_chat(txn: &Transaction<'_>) {
        let info = ConversationInfo {
            conversation_id: ConversationId(3),
            kind: ConversationKind::Direct,
            name: None,
            avatar: None,
            members: vec![member(UserId(1), "alice"), member(UserId(2), "bob")],
            last_seq: Seq::ZERO,
            created_at: 10,
            version: 0,
        };
        conversations::upsert(txn, &info).unwrap();
    }

    /// A newer relay's entry of a kind this version does not know: it keeps its place in the
    /// log (the cursor and the folding of later events go on past it), shows as a line of its
    /// own when it is not about an earlier message, and counts as nothing unread.
    #[test]
    fn an_entry_of_a_kind_this_version_does_not_know_keeps_the_log_moving_and_shows_as_a_line() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        schema::migrate(&mut conn).unwrap();
        let txn = conn.transaction().unwrap();
        direct_chat(&txn);
        // As a sync page brings them, parsed from the wire.
        let page_json = r#"[
            {"message_id":1,"conversation_id":3,"seq":1,"sender_id":2,"sender":"bob","client_id":"c1","body":"lunch","sent_at":20},
            {"message_id":2,"conversation_id":3,"seq":2,"sender_id":2,"sender":"bob","client_id":"c2","body":"{}","sent_at":21,"kind":"poll"},
            {"message_id":3,"conversation_id":3,"seq":3,"sender_id":2,"sender":"bob","client_id":"c3","body":"1","sent_at":22,"kind":"vote","target_seq":2},
            {"message_id":4,"conversation_id":3,"seq":4,"sender_id":2,"sender":"bob","client_id":"c4","body":"lunch at 1?","sent_at":23,"kind":"edit","target_seq":1}
        ]"#;
        let records: Vec<MessageRecord> = serde_json::from_str(page_json).unwrap();
        let stored = messages::store(&txn, UserId(1), &records).unwrap();
        assert_eq!(
            stored
                .new_rows()
                .iter()
                .map(|m| m.seq.0)
                .collect::<Vec<_>>(),
            [1, 2],
            "the text and the unknown entry of its own are rows"
        );
        assert_eq!(
            messages::synced_seq(&txn, ConversationId(3)).unwrap(),
            Seq(4),
            "the cursor went past the unknown entries"
        );

        let shown = page(&txn, UserId(1), ConversationId(3), None, 10).unwrap();
        let seqs: Vec<u64> = shown.iter().filter_map(|m| m.seq.map(|s| s.0)).collect();
        assert_eq!(
            seqs,
            [1, 2],
            "the unknown event about an earlier entry is not a row"
        );
        assert_eq!(
            (shown[0].body.as_str(), shown[0].edited),
            ("lunch at 1?", true),
            "the edit after the unknown entries was folded"
        );
        assert!(!shown[0].unsupported && shown[1].unsupported);
        let listed = one(&txn, UserId(1), ConversationId(3)).unwrap().unwrap();
        assert_eq!(listed.unread, 1, "only the text counts as unread");
    }

    /// After an update that knows more kinds, the entries kept as unknown are read again:
    /// gone from the cache, the chat's cursor back below the first, so the next sync brings
    /// them anew; once per change of the known kinds.
    #[test]
    fn entries_kept_as_unknown_are_read_again_after_an_update_that_knows_more_kinds() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        schema::migrate(&mut conn).unwrap();
        let txn = conn.transaction().unwrap();
        direct_chat(&txn);
        assert_eq!(messages::reread_unknown(&txn).unwrap(), 0, "nothing kept");
        let page_json = r#"[
            {"message_id":1,"conversation_id":3,"seq":1,"sender_id":2,"sender":"bob","client_id":"c1","body":"lunch","sent_at":20},
            {"message_id":2,"conversation_id":3,"seq":2,"sender_id":2,"sender":"bob","client_id":"c2","body":"{}","sent_at":21,"kind":"poll"},
            {"message_id":3,"conversation_id":3,"seq":3,"sender_id":2,"sender":"bob","client_id":"c3","body":"1","sent_at":22,"kind":"vote","target_seq":2},
            {"message_id":4,"conversation_id":3,"seq":4,"sender_id":2,"sender":"bob","client_id":"c4","body":"hi","sent_at":23}
        ]"#;
        let records: Vec<MessageRecord> = serde_json::from_str(page_json).unwrap();
        messages::store(&txn, UserId(1), &records).unwrap();
        assert_eq!(
            messages::reread_unknown(&txn).unwrap(),
            0,
            "the same version: kept"
        );
        // The cache was last opened by a version that knew fewer kinds.
        crate::cache::meta_set(&txn, "kinds_known", "text,edit").unwrap();
        assert_eq!(messages::reread_unknown(&txn).unwrap(), 1);
        assert_eq!(
            messages::synced_seq(&txn, ConversationId(3)).unwrap(),
            Seq(1),
            "the next sync reads from the first unknown entry on"
        );
        let left: Vec<u64> = messages::all(&txn, ConversationId(3))
            .unwrap()
            .iter()
            .map(|m| m.seq.0)
            .collect();
        assert_eq!(left, [1, 4]);
        assert_eq!(messages::reread_unknown(&txn).unwrap(), 0, "once");
        // Brought again by the sync: the cursor moves back up.
        messages::store(&txn, UserId(1), &records).unwrap();
        assert_eq!(
            messages::synced_seq(&txn, ConversationId(3)).unwrap(),
            Seq(4)
        );

        // In a chat the user has left, no sync would bring them again: they stay as kept.
        conversations::deactivate(&txn, ConversationId(3)).unwrap();
        crate::cache::meta_set(&txn, "kinds_known", "text,edit").unwrap();
        assert_eq!(messages::reread_unknown(&txn).unwrap(), 0);
        let kept: Vec<u64> = messages::all(&txn, ConversationId(3))
            .unwrap()
            .iter()
            .map(|m| m.seq.0)
            .collect();
        assert_eq!(kept, [1, 2, 3, 4]);

        // Added back: read again, by what brings the chat up to date.
        direct_chat(&txn);
        assert_eq!(
            messages::synced_seq(&txn, ConversationId(3)).unwrap(),
            Seq(1)
        );
        let again: Vec<u64> = messages::all(&txn, ConversationId(3))
            .unwrap()
            .iter()
            .map(|m| m.seq.0)
            .collect();
        assert_eq!(again, [1, 4]);
    }

    #[test]
    fn one_conversation_reads_as_its_list_entry_and_a_left_one_reads_as_none() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        schema::migrate(&mut conn).unwrap();
        let txn = conn.transaction().unwrap();
        let bob = Member {
            avatar: Some(tern_proto::Picture {
                blob_id: "0123456789abcdef0123456789abcdef".into(),
                content_type: "image/jpeg".into(),
                size: 1000,
                sha256: "ab".repeat(32),
            }),
            ..member(UserId(2), "bob")
        };
        let info = ConversationInfo {
            conversation_id: ConversationId(3),
            kind: ConversationKind::Direct,
            name: None,
            avatar: None,
            members: vec![member(UserId(1), "alice"), bob.clone()],
            last_seq: Seq::ZERO,
            created_at: 10,
            version: 0,
        };
        conversations::upsert(&txn, &info).unwrap();
        let record = MessageRecord {
            message_id: MessageId(1),
            conversation_id: ConversationId(3),
            seq: Seq(1),
            sender_id: UserId(2),
            sender: "bob".into(),
            client_id: "c1".into(),
            body: "hello".into(),
            sent_at: 20,
            ..MessageRecord::default()
        };
        messages::store(&txn, UserId(1), &[record]).unwrap();

        let listed = list(&txn, UserId(1)).unwrap();
        let single = one(&txn, UserId(1), ConversationId(3))
            .unwrap()
            .expect("an active conversation");
        assert_eq!(listed, vec![single.clone()]);
        assert_eq!((single.title.as_str(), single.unread), ("bob", 1));
        assert_eq!(
            single.picture, bob.avatar,
            "a direct chat shows the other's picture"
        );
        assert_eq!(
            single.info.members[1].avatar, bob.avatar,
            "kept in the cache"
        );

        // Bob deleted his account: the relay took him out, and his messages stay.
        let alone = ConversationInfo {
            members: vec![member(UserId(1), "alice")],
            ..info.clone()
        };
        conversations::upsert(&txn, &alone).unwrap();
        let left = one(&txn, UserId(1), ConversationId(3)).unwrap().unwrap();
        assert_eq!((left.title.as_str(), left.unread), ("Deleted account", 1));

        conversations::deactivate(&txn, ConversationId(3)).unwrap();
        assert_eq!(one(&txn, UserId(1), ConversationId(3)).unwrap(), None);
        assert_eq!(one(&txn, UserId(1), ConversationId(99)).unwrap(), None);
    }
}
