//! Deflate framing for large payloads.
//!
//! tungstenite has no permessage-deflate, so Tern compresses at the application level: when
//! both sides agreed at the handshake, a frame whose JSON exceeds [`COMPRESSION_THRESHOLD`]
//! may travel as a binary WebSocket frame holding the raw-deflate (RFC 1951) bytes of that
//! JSON. Inflating is bounded so a small "bomb" cannot allocate unbounded memory.

use std::io::{Read, Write};

use flate2::{read::DeflateDecoder, write::DeflateEncoder, Compression};

/// JSON payloads at least this long are worth compressing.
pub const COMPRESSION_THRESHOLD: usize = 4096;

/// Why a binary frame could not be inflated.
#[derive(Debug, thiserror::Error)]
pub enum InflateError {
    /// The bytes are not valid raw deflate data.
    #[error("not valid deflate data: {0}")]
    Corrupt(#[from] std::io::Error),
    /// Inflating would exceed the allowed size.
    #[error("inflated payload exceeds {0} bytes")]
    TooLarge(usize),
    /// The inflated bytes are not UTF-8.
    #[error("inflated payload is not UTF-8")]
    NotUtf8,
}

/// Deflate `text` (raw deflate, default level).
pub fn deflate(text: &str) -> Vec<u8> {
    let mut enc = DeflateEncoder::new(Vec::with_capacity(text.len() / 3), Compression::fast());
    // Writing to a Vec cannot fail.
    enc.write_all(text.as_bytes()).expect("write to Vec");
    enc.finish().expect("finish to Vec")
}

/// Inflate `bytes` into a string of at most `limit` bytes.
pub fn inflate(bytes: &[u8], limit: usize) -> Result<String, InflateError> {
    let mut out = Vec::new();
    let mut dec = DeflateDecoder::new(bytes).take(limit as u64 + 1);
    dec.read_to_end(&mut out)?;
    if out.len() > limit {
        return Err(InflateError::TooLarge(limit));
    }
    String::from_utf8(out).map_err(|_| InflateError::NotUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_survives_a_round_trip() {
        let text = "hello ".repeat(2000);
        let packed = deflate(&text);
        assert!(packed.len() < text.len() / 10);
        assert_eq!(inflate(&packed, 1 << 20).unwrap(), text);
    }

    #[test]
    fn a_bomb_is_refused_without_inflating_it_all() {
        let packed = deflate(&"a".repeat(10_000_000));
        assert!(matches!(
            inflate(&packed, 64 * 1024),
            Err(InflateError::TooLarge(_))
        ));
    }

    #[test]
    fn garbage_is_refused() {
        assert!(inflate(&[0xff, 0x13, 0x37, 0x00, 0x42], 1024).is_err());
    }
}
