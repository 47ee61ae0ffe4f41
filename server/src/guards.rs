//! Guards on the account endpoints, built from [`Limits`]: failed-login buckets at three
//! scopes, the registration bucket, one password check at a time per account, and the
//! password hashing capacity.
//!
//! Failed logins are limited per (account, client address) — strictly, since that is where
//! one guesser's attempts land — and per account across all addresses only loosely, with a
//! device that logged in before exempt from that ceiling. Keying the strict limit by account
//! alone let anyone lock an owner out by failing ten logins with their name.

use crate::client_addr::AddrKey;
use crate::config::Limits;
use crate::error::Result;
use crate::kdf::Kdf;
use crate::limits::{KeyedLimiter, OneAtATime};

/// Everything that rations the account endpoints.
pub struct AccountGuards {
    /// Failed logins per client address, whatever the account.
    pub login_by_address: KeyedLimiter<AddrKey>,
    /// Failed logins per (lower-cased username, client address).
    pub login_by_account_address: KeyedLimiter<(String, AddrKey)>,
    /// Failed logins per lower-cased username from everywhere (the ceiling).
    pub login_by_account: KeyedLimiter<String>,
    /// Registrations per client address.
    pub register_by_address: KeyedLimiter<AddrKey>,
    /// Authenticated HTTP requests per session.
    pub http_by_session: KeyedLimiter<tern_proto::SessionId>,
    /// One password check in flight per account, so a refund after a success cannot be
    /// raced by guesses already past the bucket.
    pub checking: OneAtATime<String>,
    /// Password hashing threads and permits.
    pub kdf: Kdf,
}

impl AccountGuards {
    /// Guards sized by `limits`; starts the hashing threads.
    pub fn new(limits: &Limits) -> Result<Self> {
        Ok(AccountGuards {
            login_by_address: KeyedLimiter::new(limits.login_per_address),
            login_by_account_address: KeyedLimiter::new(limits.login_per_account_address),
            login_by_account: KeyedLimiter::new(limits.login_per_account),
            register_by_address: KeyedLimiter::new(limits.register_per_address),
            http_by_session: KeyedLimiter::new(limits.http_per_session),
            checking: OneAtATime::default(),
            kdf: Kdf::new(limits)?,
        })
    }
}
