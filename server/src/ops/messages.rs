//! Sending a message (stored once per client id, fanned out after commit) and paging history.

use std::sync::atomic::Ordering;
use std::time::Instant;

use rusqlite::Transaction;
use tern_proto::{ErrorCode, HistoryRequest, SendMessage, Seq, ServerFrame, MAX_CLIENT_ID_LEN};

use super::{queue, Ctx, Pending};
use crate::error::{Error, Result};
use crate::fanout::{Publish, Tag};
use crate::store::{conversations as convs, messages};

/// Most messages one history page returns.
const MAX_HISTORY_PAGE: u32 = 200;

/// Refuse a send whose fields are out of bounds, before it costs a store job.
fn validate(ctx: Ctx<'_>, req: &SendMessage) -> Result<()> {
    let max = ctx.state.config.limits.max_message_bytes;
    if req.client_id.is_empty() || req.client_id.len() > MAX_CLIENT_ID_LEN {
        return Err(Error::refused(
            ErrorCode::BadRequest,
            format!("client_id must have 1 to {MAX_CLIENT_ID_LEN} bytes"),
        ));
    }
    if req.body.len() > max {
        return Err(Error::refused(
            ErrorCode::MessageTooLong,
            format!(
                "a message may have at most {max} bytes; this one has {}",
                req.body.len()
            ),
        ));
    }
    if req.body.trim().is_empty() {
        return Err(Error::refused(
            ErrorCode::BadRequest,
            "a message cannot be empty",
        ));
    }
    Ok(())
}

/// Store a message (or find the earlier copy of this client id) and fan it out.
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
    let (me, my_name, conn) = (
        ctx.caller.user_id,
        ctx.caller.username.clone(),
        ctx.caller.conn_id,
    );
    let now = tern_proto::now_ms();
    let SendMessage {
        id,
        conversation_id: conv,
        client_id,
        body,
    } = req;
    let job = move |txn: &Transaction<'_>, out: &mut Vec<Publish>| {
        let members = convs::member_ids(txn, conv)?;
        if !members.contains(&me) {
            // A resend of a message stored before the sender left still gets its ack.
            if let Some(existing) = messages::find_by_client_id(txn, me, &client_id)? {
                return Ok((existing, true));
            }
            return Err(Error::refused(
                ErrorCode::NotMember,
                format!("you are not a member of conversation {conv}"),
            ));
        }
        let Some(record) = messages::insert_new(txn, conv, me, &my_name, &client_id, &body, now)?
        else {
            let existing = messages::find_by_client_id(txn, me, &client_id)?
                .ok_or_else(|| Error::Internal("duplicate without an original".into()))?;
            return Ok((existing, true));
        };
        let mut p = Publish::new(
            members,
            &ServerFrame::Message {
                message: record.clone(),
            },
        );
        p.tag = Tag::Message(conv, record.seq);
        p.except = Some(conn);
        out.push(p);
        Ok((record, false))
    };
    queue(state, job, move |(m, duplicate)| {
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
    })
    .await
}

/// Page older messages of a conversation.
pub async fn history(ctx: Ctx<'_>, req: HistoryRequest) -> Result<Pending> {
    let me = ctx.caller.user_id;
    let HistoryRequest {
        id,
        conversation_id: conv,
        before_seq,
        limit,
    } = req;
    let limit = limit.clamp(1, MAX_HISTORY_PAGE) as usize;
    // Sequences are stored as SQLite integers (i64): anything above is "after the newest".
    let before = before_seq.unwrap_or(Seq::MAX).min(i64::MAX as Seq);
    let job = move |txn: &Transaction<'_>, _: &mut Vec<Publish>| {
        convs::require_member(txn, conv, me)?;
        messages::page_before(txn, conv, before, limit)
    };
    queue(ctx.state, job, move |(messages, has_more)| {
        Some(ServerFrame::History {
            id,
            conversation_id: conv,
            messages,
            has_more,
        })
    })
    .await
}
