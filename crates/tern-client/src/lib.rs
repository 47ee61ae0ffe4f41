//! Tern's headless client engine: everything a Tern client does, without a UI.
//!
//! The desktop app, the `tern` CLI, the end-to-end tests and the load generator all drive this
//! crate. A [`Client`] owns one connection task (WebSocket, heartbeat, reconnect with backoff,
//! outbox delivery, sync) and one cache thread (SQLite with full-text search); the session
//! token lives only in the OS keychain ([`keychain`]). What happens is published as typed
//! [`Event`]s.
//!
//! Around it: [`relay_address`] (what a typed relay address means: `https` by default, clear
//! text only to this machine unless the user consents), [`accounts`] and [`private_fs`] (local
//! data keyed by user id, private to the OS user), [`logging`] (the one log setup, with the
//! network libraries capped so tokens and bodies never reach a log).

pub mod accounts;
mod actions;
pub mod avatars;
pub mod cache;
mod chat_prefs;
mod client;
pub mod config;
mod connection;
pub mod error;
pub mod events;
mod forward;
pub mod http;
pub mod keychain;
pub mod logging;
pub mod mentions;
pub mod notices;
mod privacy;
pub mod private_fs;
mod profile;
pub mod relay_address;
mod shared;
pub mod transfer;

pub use accounts::cache_path;
pub use client::Client;
pub use config::{ClientConfig, Timing};
pub use error::{Error, Result};
pub use events::{
    ChatMessage, ConnectionState, ConversationView, Event, MessageStatus, Quote, ReactionView,
};
pub use relay_address::{ClearText, RelayAddress};
pub use tern_proto::{ChatPrefs, PresenceVisibility, Privacy, SessionInfo, MAX_PINNED};
