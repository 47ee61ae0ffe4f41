//! RFC 6455 framing, the relay's side: parsing the masked frames a client sends and encoding
//! the unmasked frames the relay sends. Pure functions over byte slices, so every rule of the
//! RFC the relay enforces is a unit test here.

/// Frame opcodes (RFC 6455 §5.2).
pub const CONTINUATION: u8 = 0x0;
pub const TEXT: u8 = 0x1;
pub const BINARY: u8 = 0x2;
pub const CLOSE: u8 = 0x8;
pub const PING: u8 = 0x9;
pub const PONG: u8 = 0xA;

/// Longest payload of a control frame (RFC 6455 §5.5).
const MAX_CONTROL: u64 = 125;

/// What is wrong with what a client sent. Each maps to the close code the relay answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The bytes break RFC 6455 (1002).
    #[error("WebSocket protocol error: {0}")]
    Protocol(&'static str),
    /// A frame or a message over the relay's hard limit (1009).
    #[error("frame or message over {0} bytes")]
    TooBig(usize),
    /// A text message or close reason that is not UTF-8 (1007).
    #[error("text is not valid UTF-8")]
    InvalidUtf8,
}

/// A parsed frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The last frame of its message.
    pub fin: bool,
    pub opcode: u8,
    /// The client's masking key.
    pub mask: [u8; 4],
    /// Payload length in bytes.
    pub len: usize,
    /// Bytes of the header itself; the payload starts here.
    pub header_len: usize,
}

impl Header {
    /// Bytes of the whole frame, header and payload.
    pub fn frame_len(&self) -> usize {
        self.header_len + self.len
    }
}

/// The header at the start of `buf`, `None` while not all of it has arrived. A frame whose
/// payload is over `max_frame` is refused from its header, before any of it is buffered.
pub fn parse_header(buf: &[u8], max_frame: usize) -> Result<Option<Header>, WireError> {
    let [b0, b1, ..] = *buf else {
        return Ok(None);
    };
    if b0 & 0x70 != 0 {
        // No extension is negotiated, so no reserved bit may be set.
        return Err(WireError::Protocol("reserved bits set"));
    }
    let fin = b0 & 0x80 != 0;
    let opcode = b0 & 0x0F;
    match opcode {
        CONTINUATION | TEXT | BINARY => {}
        CLOSE | PING | PONG if !fin => return Err(WireError::Protocol("fragmented control frame")),
        CLOSE | PING | PONG => {}
        _ => return Err(WireError::Protocol("unknown opcode")),
    }
    if b1 & 0x80 == 0 {
        return Err(WireError::Protocol("unmasked frame from a client"));
    }
    let (len, at) = match b1 & 0x7F {
        126 => match buf.get(2..4) {
            Some(b) => (u64::from(u16::from_be_bytes([b[0], b[1]])), 4),
            None => return Ok(None),
        },
        127 => match buf.get(2..10) {
            Some(b) => {
                let len = u64::from_be_bytes(b.try_into().expect("eight bytes"));
                if len >> 63 != 0 {
                    return Err(WireError::Protocol("payload length's high bit set"));
                }
                (len, 10)
            }
            None => return Ok(None),
        },
        n => (u64::from(n), 2),
    };
    if opcode >= CLOSE && len > MAX_CONTROL {
        return Err(WireError::Protocol("control frame over 125 bytes"));
    }
    if len > max_frame as u64 {
        return Err(WireError::TooBig(max_frame));
    }
    let Some(mask) = buf.get(at..at + 4) else {
        return Ok(None);
    };
    Ok(Some(Header {
        fin,
        opcode,
        mask: mask.try_into().expect("four bytes"),
        len: len as usize,
        header_len: at + 4,
    }))
}

/// Undo the client's masking of a payload, in place.
pub fn unmask(payload: &mut [u8], mask: [u8; 4]) {
    let word = u32::from_ne_bytes(mask);
    let mut chunks = payload.chunks_exact_mut(4);
    for chunk in &mut chunks {
        let v = u32::from_ne_bytes(chunk.try_into().expect("four bytes")) ^ word;
        chunk.copy_from_slice(&v.to_ne_bytes());
    }
    for (b, m) in chunks.into_remainder().iter_mut().zip(mask) {
        *b ^= m;
    }
}

/// Append one unfragmented, unmasked frame to `out`.
pub fn encode(out: &mut Vec<u8>, opcode: u8, payload: &[u8]) {
    let len = payload.len();
    out.reserve(len + 10);
    out.push(0x80 | opcode);
    if len < 126 {
        out.push(len as u8);
    } else if len <= usize::from(u16::MAX) {
        out.push(126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(payload);
}

/// The payload of a close frame with `code` and `reason` (a reason cut to fit 125 bytes, at a
/// character boundary).
pub fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    let mut end = reason.len().min(MAX_CONTROL as usize - 2);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let mut p = Vec::with_capacity(2 + end);
    p.extend_from_slice(&code.to_be_bytes());
    p.extend_from_slice(&reason.as_bytes()[..end]);
    p
}

/// The code and reason of a client's close frame; `None` for a close without a code.
pub fn parse_close(payload: &[u8]) -> Result<Option<(u16, &str)>, WireError> {
    match payload {
        [] => Ok(None),
        [_] => Err(WireError::Protocol("close frame of one byte")),
        [hi, lo, reason @ ..] => {
            let code = u16::from_be_bytes([*hi, *lo]);
            if !sendable_close_code(code) {
                return Err(WireError::Protocol("invalid close code"));
            }
            let reason = std::str::from_utf8(reason).map_err(|_| WireError::InvalidUtf8)?;
            Ok(Some((code, reason)))
        }
    }
}

/// Codes a peer may put in a close frame (RFC 6455 §7.4 and the IANA registry): 1004–1006
/// and 1015 are reserved for reporting, not sending.
fn sendable_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// A masked client frame, as a browser or tungstenite would send it (for tests).
#[cfg(test)]
pub fn client_frame(b0: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
    let mut out = vec![b0];
    let len = payload.len();
    if len < 126 {
        out.push(0x80 | len as u8);
    } else if len <= 0xFFFF {
        out.push(0x80 | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(&mask);
    let mut body = payload.to_vec();
    unmask(&mut body, mask);
    out.extend_from_slice(&body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: usize = 1 << 20;

    #[test]
    fn a_masked_frame_of_each_length_form_parses_and_unmasks_to_its_payload() {
        for len in [0, 1, 5, 125, 126, 127, 65_535, 65_536, 70_001] {
            let payload: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let bytes = client_frame(0x80 | TEXT, &payload, [1, 2, 3, 4]);
            let h = parse_header(&bytes, MAX).unwrap().expect("complete header");
            assert!(h.fin);
            assert_eq!((h.opcode, h.len, h.frame_len()), (TEXT, len, bytes.len()));
            let mut body = bytes[h.header_len..].to_vec();
            unmask(&mut body, h.mask);
            assert_eq!(body, payload, "length {len}");
            // Every strict prefix of the header is incomplete, never an error.
            for cut in 0..h.header_len {
                assert_eq!(parse_header(&bytes[..cut], MAX), Ok(None), "cut at {cut}");
            }
        }
    }

    #[test]
    fn frames_that_break_the_rfc_are_protocol_errors() {
        let m = [9, 9, 9, 9];
        let cases: [(&str, Vec<u8>); 6] = [
            ("reserved bit", client_frame(0x80 | 0x40 | TEXT, b"x", m)),
            ("unknown opcode", client_frame(0x80 | 0x3, b"x", m)),
            ("fragmented ping", client_frame(PING, b"x", m)),
            ("long ping", client_frame(0x80 | PING, &[0; 126], m)),
            ("unmasked", vec![0x80 | TEXT, 1, b'x']),
            (
                "64-bit length with its high bit",
                [
                    &[0x80 | BINARY, 0x80 | 127][..],
                    &[0x80, 0, 0, 0, 0, 0, 0, 0],
                    &m,
                ]
                .concat(),
            ),
        ];
        for (what, bytes) in cases {
            assert!(
                matches!(parse_header(&bytes, MAX), Err(WireError::Protocol(_))),
                "{what}"
            );
        }
    }

    #[test]
    fn a_frame_over_the_limit_is_refused_from_its_header_alone() {
        let header = [0x80 | BINARY, 0x80 | 127, 0, 0, 0, 0, 0, 0x10, 0, 1];
        assert_eq!(parse_header(&header, MAX), Err(WireError::TooBig(MAX)));
        let at_limit = client_frame(0x80 | BINARY, &vec![0; 1000], [0; 4]);
        assert!(parse_header(&at_limit, 1000).unwrap().is_some());
        assert_eq!(parse_header(&at_limit, 999), Err(WireError::TooBig(999)));
    }

    #[test]
    fn the_relays_frames_use_the_shortest_length_form_and_no_mask() {
        for (len, header) in [(0, 2), (125, 2), (126, 4), (65_535, 4), (65_536, 10)] {
            let mut out = Vec::new();
            encode(&mut out, BINARY, &vec![7; len]);
            assert_eq!(out.len(), header + len);
            assert_eq!(out[0], 0x80 | BINARY);
            assert_eq!(out[1] & 0x80, 0, "unmasked");
        }
    }

    #[test]
    fn close_frames_carry_a_sendable_code_and_a_utf8_reason() {
        assert_eq!(parse_close(&[]), Ok(None));
        assert_eq!(
            parse_close(&close_payload(4001, "bye")),
            Ok(Some((4001, "bye")))
        );
        assert!(matches!(parse_close(&[3]), Err(WireError::Protocol(_))));
        for reserved in [999, 1004, 1005, 1006, 1015, 2999, 5000] {
            assert!(
                matches!(
                    parse_close(&close_payload(reserved, "")),
                    Err(WireError::Protocol(_))
                ),
                "{reserved}"
            );
        }
        assert_eq!(
            parse_close(&[0x03, 0xE8, 0xFF, 0xFE]),
            Err(WireError::InvalidUtf8)
        );
        // A long reason is cut to fit a control frame, at a character boundary.
        let p = close_payload(1000, &"é".repeat(100));
        assert!(p.len() <= 125);
        assert!(parse_close(&p).is_ok());
    }
}
