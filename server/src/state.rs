//! The relay's shared state, handed to every HTTP handler and connection task.

use std::net::IpAddr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use tokio::sync::{mpsc, Semaphore};

use crate::config::Config;
use crate::hub::Hub;
use crate::limits::KeyedLimiter;
use crate::metrics::Metrics;
use crate::store::Store;

/// Cheap-to-clone handle to everything a request needs.
#[derive(Clone)]
pub struct AppState {
    /// Configuration.
    pub config: Arc<Config>,
    /// Persistence.
    pub store: Store,
    /// Live connections and fan-out.
    pub hub: Hub,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Failed-login buckets per client address.
    pub login_by_address: Arc<KeyedLimiter<IpAddr>>,
    /// Failed-login buckets per (lower-cased) username.
    pub login_by_account: Arc<KeyedLimiter<String>>,
    /// Message sends per user, shared by all their devices and kept across reconnects.
    pub sends: Arc<KeyedLimiter<tern_proto::UserId>>,
    /// Bounds concurrent argon2id computations so a login flood cannot starve the relay.
    pub kdf_permits: Arc<Semaphore>,
    /// Set once shutdown begins; late upgrades close at once.
    pub shutting_down: Arc<AtomicBool>,
    /// Every connection task holds a clone; shutdown waits until all are dropped.
    pub conn_guard: mpsc::Sender<()>,
}
