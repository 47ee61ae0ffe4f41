//! The relay's shared state, handed to every HTTP handler and connection task.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::config::Config;
use crate::guards::AccountGuards;
use crate::hub::Hub;
use crate::limits::KeyedLimiter;
use crate::metrics::Metrics;
use crate::store::Store;

/// Handle to everything a request needs: one pointer, so every connection task holding it
/// stays small.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    /// Share `shared` with every handler and connection.
    pub fn new(shared: Shared) -> Self {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] shares.
pub struct Shared {
    /// Configuration.
    pub config: Arc<Config>,
    /// Persistence.
    pub store: Store,
    /// Live connections and fan-out.
    pub hub: Hub,
    /// The other relays of a cluster (alone without `--bus`).
    pub bus: crate::bus::Bus,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Rate limits and password hashing capacity of the account endpoints.
    pub accounts: Arc<AccountGuards>,
    /// Message sends per user, shared by all their devices and kept across reconnects.
    pub sends: Arc<KeyedLimiter<tern_proto::UserId>>,
    /// Shape-changing requests per user ([`crate::config::Limits::change_rate`]).
    pub changes: Arc<KeyedLimiter<tern_proto::UserId>>,
    /// Set once shutdown begins; late upgrades close at once.
    pub shutting_down: Arc<AtomicBool>,
    /// Users whose presence announcement is being retried (the database was away), with the
    /// latest departure time handed over meanwhile (`ops::announce_presence_retrying`).
    pub presence_retries: Arc<
        std::sync::Mutex<
            std::collections::HashMap<tern_proto::UserId, Option<tern_proto::Timestamp>>,
        >,
    >,
    /// Every connection task holds a clone; shutdown waits until all are dropped.
    pub conn_guard: mpsc::Sender<()>,
    /// Attachment bytes on disk (uploads in progress; complete ones too without `objects`).
    pub blobs: crate::blobs::Blobs,
    /// The object store complete attachments move to, when configured.
    pub objects: Option<crate::object_blobs::ObjectBlobs>,
    /// Uploads being written right now (one request at a time per upload).
    pub writing: crate::blobs::Writing,
    /// The last `/health` checks ([`crate::http`]): probes, and floods of them, cost the
    /// database and the object store at most once a second.
    pub health: Arc<tokio::sync::Mutex<Option<crate::http::Checked>>>,
}
