//! The replies a connection awaits, in request order, holding no memory while none are
//! awaited: an idle connection pays one word for them instead of a futures set with its
//! shared ready-queue.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::stream::FuturesOrdered;
use futures_util::{Stream, StreamExt};

use super::outbound::Outbound;

/// A reply being awaited; `None` for a request with no reply on success.
pub type Reply = Pin<Box<dyn Future<Output = Option<Outbound>> + Send>>;

/// Replies being awaited, yielded in the order their requests arrived.
#[derive(Default)]
pub struct InFlight(Option<Box<FuturesOrdered<Reply>>>);

impl InFlight {
    /// Await `reply` after every reply already awaited.
    pub fn push_back(&mut self, reply: Reply) {
        self.0.get_or_insert_with(Default::default).push_back(reply);
    }

    /// Replies being awaited.
    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |f| f.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Stream for InFlight {
    type Item = Option<Outbound>;

    /// The next reply in request order; `None` once none is awaited.
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let Some(set) = this.0.as_mut() else {
            return Poll::Ready(None);
        };
        let next = set.poll_next_unpin(cx);
        if next.is_ready() && set.is_empty() {
            this.0 = None;
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tern_proto::{RequestId, ServerFrame};

    fn pong(id: u64) -> Option<Outbound> {
        Some(Outbound::own(ServerFrame::Pong { id: RequestId(id) }))
    }

    #[tokio::test]
    async fn replies_come_in_request_order_and_nothing_is_held_once_all_came() {
        let mut q = InFlight::default();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        q.push_back(Box::pin(async move {
            rx.await.unwrap();
            pong(1)
        }));
        q.push_back(Box::pin(async { pong(2) }));
        assert_eq!(q.len(), 2);
        tx.send(()).unwrap();
        for want in [1, 2] {
            match q.next().await {
                Some(Some(Outbound::Own(f))) => {
                    assert!(matches!(*f, ServerFrame::Pong { id } if id == RequestId(want)))
                }
                other => panic!("expected reply {want}, got {other:?}"),
            }
        }
        assert!(q.is_empty());
        assert!(q.0.is_none(), "no futures set is kept");
        assert!(q.next().await.is_none());
    }
}
