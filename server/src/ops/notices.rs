//! Notices: what happened to a group (created, members added or removed, someone left,
//! renamed, its picture changed), written by the relay into the group's log in the same
//! transaction as the change, so every member sees it at the same place among the messages,
//! live, in sync and in history, exactly once. A notice is an entry of kind `notice` whose
//! sender is who acted and whose body is a [`Notice`] as JSON; clients cannot send one.
//!
//! It is pushed to the members after the change (a new member sees how they were added; who
//! left or was removed does not see it, as with any later message).

use tern_proto::{
    ConversationId, MessageKind, Notice, NoticeAction, NoticeUser, ServerFrame, UserId,
};

use crate::error::Result;
use crate::fanout::{Publish, Tag};
use crate::store::{NewEntry, Tx};

/// Who acted: their id and username.
pub type Actor<'a> = (UserId, &'a str);

/// The users of `named` (id, username) whose ids are in `ids`, as a notice names them.
pub fn named(named: &[(UserId, String)], ids: &[UserId]) -> Vec<NoticeUser> {
    named
        .iter()
        .filter(|(id, _)| ids.contains(id))
        .map(|(user_id, username)| NoticeUser {
            user_id: *user_id,
            username: username.clone(),
        })
        .collect()
}

/// A client id no client can have chosen: clients' are their own random ids, this one is
/// prefixed and random too.
fn notice_client_id() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("notice:{hex}")
}

/// Write a notice into `conv`'s log and push it to the current members.
pub fn write(
    txn: &dyn Tx,
    conv: ConversationId,
    actor: Actor<'_>,
    action: NoticeAction,
    users: Vec<NoticeUser>,
    name: Option<&str>,
    out: &mut Vec<Publish>,
) -> Result<()> {
    let notice = Notice {
        action,
        users,
        name: name.map(str::to_owned),
    };
    let body = serde_json::to_string(&notice).expect("a notice serializes");
    let client_id = notice_client_id();
    let entry = NewEntry {
        conv,
        sender: actor.0,
        sender_name: actor.1,
        client_id: &client_id,
        body: &body,
        kind: MessageKind::Notice,
        target_seq: None,
        reply_to: None,
        attachment: None,
        withheld_from: None,
        written_at: None,
        now: tern_proto::now_ms(),
    };
    let Some(record) = txn.insert_new(&entry)? else {
        return Ok(());
    };
    let mut p = Publish::new(
        txn.member_ids(conv)?,
        &ServerFrame::Message {
            message: record.clone(),
        },
    );
    p.tag = Tag::Message(conv, record.seq);
    out.push(p);
    Ok(())
}
