//! Credentials: argon2id password hashes, random bearer tokens and their stored hashes.
//!
//! Tokens carry 256 random bits, so a fast hash (SHA-256) is enough to store them: an attacker
//! with the database cannot brute-force them. Passwords are low-entropy and get argon2id with
//! its recommended parameters (19 MiB, 2 passes). [`Token`] has no `Debug` or `Display`, so it
//! cannot end up in a log line by accident.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// A bearer token in the clear. Deliberately not `Debug`/`Display`.
pub struct Token(String);

impl Token {
    /// The token text, to hand to the client once.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A new random token and the hash to store.
pub fn new_token() -> (Token, [u8; 32]) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let text = format!(
        "tern_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let hash = hash_token(&text);
    (Token(text), hash)
}

/// The stored form of a token.
pub fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Hash a password with argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> Result<String> {
    let mut salt_bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut salt_bytes);
    let salt =
        SaltString::encode_b64(&salt_bytes).map_err(|e| Error::Internal(format!("salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("password hashing failed: {e}")))
}

/// Check a password against a stored PHC hash.
pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash that verifies against nothing, checked when the username is unknown so that a
/// failed login takes the same time whether or not the account exists.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("tern-dummy-password").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_only_against_its_own_hash() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong horse", &h));
        assert!(!verify_password("correct horse", "garbage"));
    }

    #[test]
    fn tokens_are_unique_and_hash_stably() {
        let (a, ha) = new_token();
        let (b, hb) = new_token();
        assert_ne!(a.expose(), b.expose());
        assert_ne!(ha, hb);
        assert_eq!(hash_token(a.expose()), ha);
    }
}
