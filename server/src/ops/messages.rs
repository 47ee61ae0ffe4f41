//! Sending a message: checked (`send_rules`), stored once per client id, fanned out after
//! commit, answered with its ack.

use std::sync::atomic::Ordering;
use std::time::Instant;

use tern_proto::{ErrorCode, MessageRecord, SendMessage, ServerFrame, Timestamp, UserId};

use super::privacy::accept_membership;
use super::send_rules::{authorize, authorize_attachment, validate, withheld_from};
use super::{reply_when, Ctx, Pending};
use crate::error::{Error, Result};
use crate::fanout::{Publish, Tag};
use crate::limits::Rate;
use crate::store::{NewEntry, Roster, Tx};

/// Who is sending, as the store job needs it.
struct Sender {
    me: UserId,
    name: String,
    conn: u64,
    hub: crate::hub::Hub,
    now: Timestamp,
    edit_window_ms: i64,
}

/// Check and store one entry: the stored record and whether it was a duplicate. Refusals come
/// before anything is written, so the caller may still answer a resend of an entry stored
/// earlier with its ack.
fn store_entry(
    txn: &dyn Tx,
    req: &SendMessage,
    who: &Sender,
    shared_limit: Option<Rate>,
    out: &mut Vec<Publish>,
) -> Result<(MessageRecord, bool)> {
    let (conv, me) = (req.conversation_id, who.me);
    let roster = match txn.roster(conv) {
        Ok(r) if r.contains(me) => r,
        Ok(_) | Err(_) => {
            return Err(Error::refused(
                ErrorCode::NotMember,
                format!("you are not a member of conversation {conv}"),
            ))
        }
    };
    // The sender's earlier message this one must follow: stored first, or this one waits.
    if let Some(after) = &req.after {
        if !txn.client_id_stored(me, after.as_str())? {
            return Err(Error::refused(
                ErrorCode::OutOfOrder,
                "an earlier message of yours is not stored yet; send it first",
            ));
        }
    }
    let withheld_from = withheld_from(txn, &roster, me, req.kind)?;
    authorize(txn, req, me, roster.kind, who.edit_window_ms, who.now)?;
    if let Some(a) = &req.attachment {
        authorize_attachment(txn, me, a)?;
    }
    // In a cluster the limit holds across relays: the bucket is in the database. Taken last
    // of the checks, by a statement that writes nothing when it refuses.
    if let Some(rate) = shared_limit {
        if !txn.take_send_token(me, who.now, rate)? {
            return Err(Error::refused(
                ErrorCode::RateLimited,
                "sending too fast; retry shortly",
            ));
        }
    }
    let entry = NewEntry {
        conv,
        sender: me,
        sender_name: &who.name,
        client_id: req.client_id.as_str(),
        body: &req.body,
        kind: req.kind,
        target_seq: req.target_seq,
        reply_to: req.reply_to,
        attachment: req.attachment.as_ref(),
        withheld_from,
        // The author's word, but never after the relay stored it.
        written_at: req.written_at.map(|t| t.min(who.now)),
        now: who.now,
    };
    let Some(record) = txn.insert_new(&entry)? else {
        let existing = txn
            .find_by_client_id(me, req.client_id.as_str())?
            .ok_or_else(|| Error::Internal("duplicate without an original".into()))?;
        return Ok((existing, true));
    };
    txn.fold(&record)?;
    if let Some(a) = &record.attachment {
        txn.link_blob(&a.blob_id, conv, record.seq)?;
    }
    // Replying to a message request accepts it; every connection of the sender learns so,
    // the sending one too (its answer is an ack, not the new shape).
    if req.kind.is_text() && !roster.accepted(me) {
        accept_membership(txn, &who.hub, conv, me, crate::fanout::NO_CONN, out)?;
    }
    publish_entry(out, &roster, &record, withheld_from, who.conn);
    Ok((record, false))
}

/// The new entry to every member but the sending connection; a member who blocks the sender
/// gets the entry's withheld view instead.
fn publish_entry(
    out: &mut Vec<Publish>,
    roster: &Roster,
    record: &MessageRecord,
    withheld_from: Option<UserId>,
    conn: u64,
) {
    let tag = Tag::Message(record.conversation_id, record.seq);
    let members = roster
        .ids()
        .into_iter()
        .filter(|u| Some(*u) != withheld_from)
        .collect();
    let message = record.clone();
    let mut p = Publish::lazy(members, ServerFrame::Message { message });
    p.tag = tag;
    p.except = Some(conn);
    out.push(p);
    if let Some(blocker) = withheld_from {
        let message = record.clone().view_for(blocker);
        let mut p = Publish::lazy(vec![blocker], ServerFrame::Message { message });
        p.tag = tag;
        out.push(p);
    }
}

/// Store a message or event (or find the earlier copy of this client id) and fan it out.
pub async fn send(ctx: Ctx<'_>, req: SendMessage) -> Result<Pending> {
    validate(ctx, &req)?;
    let state = ctx.state;
    if !state.sends.take(&ctx.caller.user_id) {
        return Err(Error::refused(
            ErrorCode::RateLimited,
            "sending too fast; retry shortly",
        ));
    }
    let started = Instant::now();
    let metrics = state.metrics.clone();
    let sender = Sender {
        me: ctx.caller.user_id,
        name: ctx.caller.username.clone(),
        conn: ctx.caller.conn_id,
        hub: state.hub.clone(),
        now: tern_proto::now_ms(),
        edit_window_ms: state.config.limits.edit_window.as_millis() as i64,
    };
    let id = req.id;
    let shared_limit = state
        .bus
        .is_clustered()
        .then_some(state.config.limits.send_rate);
    let sends = state.sends.clone();
    let job = move |txn: &dyn Tx, out: &mut Vec<Publish>| {
        // A resend of an entry already stored gets its ack even when the rules would now
        // refuse it (the sender left, the target was deleted since, or the limit).
        match store_entry(txn, &req, &sender, shared_limit, out) {
            Err(refusal @ Error::Refused(..)) => {
                match txn.find_by_client_id(sender.me, req.client_id.as_str())? {
                    Some(existing) => Ok((existing, true)),
                    None => {
                        // A send waiting for an earlier one was not sent yet: its token goes
                        // back, so a backlog retried in order does not use up the allowance
                        // the sender's other sends need.
                        if refusal.code() == ErrorCode::OutOfOrder {
                            sends.refund(&sender.me);
                        }
                        Err(refusal)
                    }
                }
            }
            stored => stored,
        }
    };
    // Every refusal comes before the entry is written (`store_entry`): no savepoint needed.
    let committed = state.store.enqueue_checked(job).await?;
    Ok(reply_when(committed, move |(m, duplicate)| {
        metrics.ack_latency(started.elapsed());
        let counter = if duplicate {
            &metrics.messages_duplicate
        } else {
            &metrics.messages_stored
        };
        counter.fetch_add(1, Ordering::Relaxed);
        Some(ServerFrame::Ack {
            id,
            client_id: m.client_id,
            message_id: m.message_id,
            conversation_id: m.conversation_id,
            seq: m.seq,
            sent_at: m.sent_at,
            duplicate,
        })
    }))
}
