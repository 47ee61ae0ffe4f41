//! Why a session stopped: [`SessionError`], and how each reason becomes an [`End`].
//!
//! Design decision: this enum stays inside the connection task. Nothing here reaches a caller
//! as an error value; it ends the session, and its text becomes the `reason` of the
//! [`crate::ConnectionState`] the UI shows. The crate's public [`Error`] is the one callers see.
//! Only two reasons sign the device out (the relay revoked or expired the session); every other
//! one means "reconnect".

use std::time::Duration;

use tern_proto::close;
use tokio_tungstenite::tungstenite::{self, protocol::CloseFrame};

use super::End;
use crate::error::Error;

/// A reason the connection task stops its session.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SessionError {
    /// Writing to the socket failed.
    #[error("write failed: {0}")]
    Write(#[source] tungstenite::Error),
    /// Reading from the socket failed.
    #[error("connection lost ({0})")]
    Read(#[source] tungstenite::Error),
    /// The socket ended without a close frame.
    #[error("the relay closed the connection")]
    Ended,
    /// Nothing arrived from the relay (not even a pong) for the heartbeat timeout.
    #[error("no answer from the relay for {} s", .0.as_secs_f32())]
    Silent(Duration),
    /// No welcome within the connect timeout.
    #[error("the relay sent no welcome")]
    NoWelcome,
    /// The first frame was not a welcome.
    #[error("unexpected first frame from the relay")]
    NotWelcome,
    /// Reading failed before the welcome.
    #[error("{0}")]
    Handshake(#[source] tungstenite::Error),
    /// The socket ended before the welcome.
    #[error("closed before welcome")]
    EndedBeforeWelcome,
    /// The relay closed the link because the session was revoked.
    #[error("signed out: the session was revoked")]
    Revoked,
    /// The relay closed the link because the session expired.
    #[error("signed out: the session expired; sign in again")]
    Expired,
    /// The relay closed the link for another reason.
    #[error("closed by the relay: {reason} ({code})")]
    Closed {
        /// The close code.
        code: u16,
        /// The relay's reason text.
        reason: String,
    },
    /// The relay closed the link without saying why.
    #[error("closed by the relay")]
    ClosedWithoutReason,
    /// Applying what the relay sent to the local cache failed.
    #[error("local failure: {0}")]
    Local(#[from] Error),
}

impl SessionError {
    /// The reason carried by a close frame.
    pub(crate) fn closed(frame: Option<CloseFrame>) -> Self {
        let Some(frame) = frame else {
            return SessionError::ClosedWithoutReason;
        };
        match u16::from(frame.code) {
            code if code == close::REVOKED.code => SessionError::Revoked,
            code if code == close::EXPIRED.code => SessionError::Expired,
            code => SessionError::Closed {
                code,
                reason: frame.reason.to_string(),
            },
        }
    }
}

impl From<SessionError> for End {
    fn from(error: SessionError) -> End {
        match error {
            SessionError::Revoked | SessionError::Expired => End::SignedOut(error.to_string()),
            error => End::Lost(error.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

    use super::*;

    fn close_frame(code: u16, reason: &str) -> Option<CloseFrame> {
        Some(CloseFrame {
            code: CloseCode::from(code),
            reason: reason.to_owned().into(),
        })
    }

    #[test]
    fn a_revoked_or_expired_session_signs_the_device_out() {
        for code in [close::REVOKED.code, close::EXPIRED.code] {
            let end = End::from(SessionError::closed(close_frame(code, "")));
            assert!(matches!(end, End::SignedOut(reason) if reason.starts_with("signed out")));
        }
    }

    #[test]
    fn any_other_end_of_the_link_means_reconnect_and_says_why() {
        let end = End::from(SessionError::closed(close_frame(1011, "restarting")));
        assert!(matches!(&end, End::Lost(r) if r == "closed by the relay: restarting (1011)"));
        let end = End::from(SessionError::Silent(Duration::from_secs(30)));
        assert!(matches!(&end, End::Lost(r) if r.contains("no answer from the relay")));
        let end = End::from(SessionError::Local(Error::Closed));
        assert!(matches!(&end, End::Lost(r) if r.starts_with("local failure")));
    }
}
