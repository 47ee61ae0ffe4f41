//! Credentials: argon2id password hashes, random bearer tokens and their stored hashes.
//!
//! Tokens carry 256 random bits, so a fast hash (SHA-256) is enough to store them: an attacker
//! with the database cannot brute-force them. Passwords are low-entropy and get argon2id with
//! its recommended parameters (19 MiB, 2 passes). [`Token`] has no `Debug` or `Display`, so it
//! cannot end up in a log line by accident.
//!
//! The argon2id functions take the algorithm's working memory from the caller
//! (`*_with(.., memory)`): the relay's password threads keep one buffer each for their whole
//! life, because allocating and freeing 19 MiB per login leaves every allocator arena that
//! ever served one holding on to it (see [`crate::kdf`]).

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
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
    new_secret("tern_")
}

/// A new device credential (see [`crate::login`]) and the hash to store.
pub fn new_device_credential() -> (Token, [u8; 32]) {
    new_secret("terndev_")
}

/// A new invite code and the hash to store.
pub fn new_invite_code() -> (Token, [u8; 32]) {
    new_secret("terninv_")
}

/// 256 random bits after `prefix`, and their SHA-256.
fn new_secret(prefix: &str) -> (Token, [u8; 32]) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let text = format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let hash = hash_token(&text);
    (Token(text), hash)
}

/// The stored form of a token, device credential or invite code.
pub fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The cost of new argon2id hashes: memory and passes (one lane). The default is the
/// recommended minimum (19 MiB, 2 passes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Cost {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over the memory.
    pub iterations: u32,
}

impl Default for Argon2Cost {
    fn default() -> Self {
        Argon2Cost {
            memory_kib: Params::DEFAULT_M_COST,
            iterations: Params::DEFAULT_T_COST,
        }
    }
}

impl Argon2Cost {
    fn params(self) -> Result<Params> {
        Params::new(self.memory_kib, self.iterations, 1, None)
            .map_err(|e| Error::Internal(format!("argon2 parameters: {e}")))
    }

    /// Whether `stored` was made with a different cost (then it is rehashed at the next
    /// successful login).
    pub fn outdated(self, stored: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(stored) else {
            return false;
        };
        match Params::try_from(&parsed) {
            Ok(p) => p.m_cost() != self.memory_kib || p.t_cost() != self.iterations,
            Err(_) => false,
        }
    }
}

/// Grow `memory` to the blocks `params` needs; a buffer kept by its caller is reused by every
/// later computation instead of allocating 19 MiB each time.
fn blocks<'m>(memory: &'m mut Vec<Block>, params: &Params) -> &'m mut [Block] {
    if memory.len() < params.block_count() {
        memory.resize(params.block_count(), Block::default());
    }
    &mut memory[..params.block_count()]
}

/// Hash a password with argon2id at the default cost and a random salt (PHC string), in a
/// fresh buffer.
pub fn hash_password(password: &str) -> Result<String> {
    hash_password_with(password, &mut Vec::new(), Argon2Cost::default())
}

/// Hash a password with argon2id at `cost` and a random salt (PHC string), using `memory` as
/// the algorithm's working memory.
pub fn hash_password_with(
    password: &str,
    memory: &mut Vec<Block>,
    cost: Argon2Cost,
) -> Result<String> {
    let mut salt_bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut salt_bytes);
    let salt =
        SaltString::encode_b64(&salt_bytes).map_err(|e| Error::Internal(format!("salt: {e}")))?;
    let params = cost.params()?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon
        .hash_password_into_with_memory(
            password.as_bytes(),
            &salt_bytes,
            &mut out,
            blocks(memory, &params),
        )
        .map_err(|e| Error::Internal(format!("password hashing failed: {e}")))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params)
            .map_err(|e| Error::Internal(format!("argon2 params: {e}")))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| Error::Internal(format!("argon2 output: {e}")))?),
    };
    Ok(phc.to_string())
}

/// Check a password against a stored PHC hash, in a fresh buffer.
pub fn verify_password(password: &str, stored: &str) -> bool {
    verify_password_with(password, stored, &mut Vec::new())
}

/// Check a password against a stored PHC hash, using `memory` as the working memory.
pub fn verify_password_with(password: &str, stored: &str, memory: &mut Vec<Block>) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let (Ok(params), Some(salt), Some(expected)) =
        (Params::try_from(&parsed), parsed.salt, parsed.hash)
    else {
        return false;
    };
    let (Ok(algorithm), Some(Ok(version))) = (
        Algorithm::try_from(parsed.algorithm),
        parsed.version.map(Version::try_from),
    ) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    let argon = Argon2::new(algorithm, version, params.clone());
    if argon
        .hash_password_into_with_memory(
            password.as_bytes(),
            salt,
            &mut out,
            blocks(memory, &params),
        )
        .is_err()
    {
        return false;
    }
    // `Output`'s equality is constant-time.
    Output::new(&out).is_ok_and(|computed| computed == expected)
}

/// A hash that verifies against nothing, checked when the username is unknown so that a
/// failed login takes the same time whether or not the account exists. Same parameters as
/// real hashes; its output is all zeros, which no password produces in practice.
pub const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$dGVybi1kdW1teS1zYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

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
    fn a_reused_buffer_gives_the_same_answers_and_the_dummy_hash_matches_nothing() {
        let mut memory = Vec::new();
        let h = hash_password_with("correct horse", &mut memory, Argon2Cost::default()).unwrap();
        let len = memory.len();
        assert!(verify_password_with("correct horse", &h, &mut memory));
        assert!(!verify_password_with("wrong horse", &h, &mut memory));
        assert_eq!(memory.len(), len, "the buffer is reused, not grown");
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
        assert!(!verify_password_with(
            "tern-dummy-password",
            DUMMY_HASH,
            &mut memory
        ));
        assert!(!verify_password_with("", DUMMY_HASH, &mut memory));
    }

    #[test]
    fn a_raised_cost_marks_older_hashes_outdated_and_both_verify() {
        let old = hash_password("correct horse").unwrap();
        let raised = Argon2Cost {
            memory_kib: 8 * 1024,
            iterations: 3,
        };
        assert!(raised.outdated(&old));
        assert!(!Argon2Cost::default().outdated(&old));
        let new = hash_password_with("correct horse", &mut Vec::new(), raised).unwrap();
        assert!(new.contains("m=8192,t=3"), "{new}");
        assert!(!raised.outdated(&new));
        assert!(verify_password("correct horse", &old));
        assert!(verify_password("correct horse", &new));
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
