//! Why a session stopped, or never started: [`SessionError`], and how each reason becomes an
//! [`End`].
//!
//! Design decision: this enum stays inside the connection task. Nothing here reaches a caller
//! as an error value; it ends the session, and its text becomes the `reason` of the
//! [`crate::ConnectionState`] the UI shows. The crate's public [`Error`] is the one callers see.
//! Only a refused token signs the device out (the relay revoked or expired the session, refused
//! the upgrade with 401, or the stored token cannot even be sent); every other reason means
//! "reconnect".

use std::time::Duration;

use tern_proto::{close, ErrorBody, ErrorCode};
use tokio_tungstenite::tungstenite::{self, http::StatusCode, protocol::CloseFrame};

use super::End;
use crate::error::Error;

/// A reason the connection task stops its session.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SessionError {
    /// The upgrade request could not be built or sent, or the link could not be opened.
    #[error("{0}")]
    Connect(#[source] tungstenite::Error),
    /// The link did not open within the connect timeout.
    #[error("connection attempt timed out")]
    ConnectTimeout,
    /// The stored token cannot be sent as a header.
    #[error("malformed token")]
    MalformedToken,
    /// The relay refused the upgrade.
    #[error("{}", refusal(*status, body.as_ref()))]
    Refused {
        /// The HTTP status of the refusal.
        status: StatusCode,
        /// The relay's error body, when it sent one.
        body: Option<ErrorBody>,
    },
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
    /// The network changed and the link did not answer a ping within [`super::PROBE_WAIT`].
    #[error("no answer from the relay after the network changed")]
    Unanswered,
    /// No welcome within the connect timeout.
    #[error("the relay sent no welcome")]
    NoWelcome,
    /// The first frame was not a welcome.
    #[error("unexpected first frame from the relay")]
    NotWelcome,
    /// The welcome named a protocol version this app did not offer.
    #[error(
        "the relay answered in protocol version {0}, which this version of Tern does not speak (unsupported_version)"
    )]
    OtherProtocol(u32),
    /// Reading failed before the welcome.
    #[error("{0}")]
    Handshake(#[source] tungstenite::Error),
    /// The socket ended before the welcome.
    #[error("closed before welcome")]
    EndedBeforeWelcome,
    /// The relay closed the link because the session was revoked.
    #[error("the session was revoked")]
    Revoked,
    /// The relay closed the link because the session expired.
    #[error("the session expired; sign in again")]
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
    /// The relay answered the sync with an error (it could not reach its database): the
    /// session ends, and the next one syncs again after the usual pause.
    #[error("the relay could not sync: {message} ({code})")]
    SyncRefused {
        /// The relay's error code.
        code: ErrorCode,
        /// Its message.
        message: String,
    },
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

    /// Whether this reason means the token is no longer good: sign out rather than retry.
    fn refuses_token(&self) -> bool {
        match self {
            SessionError::Revoked | SessionError::Expired | SessionError::MalformedToken => true,
            SessionError::Refused { status, .. } => *status == StatusCode::UNAUTHORIZED,
            _ => false,
        }
    }
}

/// A refused upgrade in words: the relay's message and code, else the HTTP status.
fn refusal(status: StatusCode, body: Option<&ErrorBody>) -> String {
    match body {
        Some(b) => format!("{} ({})", b.message, b.code),
        None => format!("HTTP {status}"),
    }
}

impl From<SessionError> for End {
    fn from(error: SessionError) -> End {
        if error.refuses_token() {
            End::SignedOut(error.to_string())
        } else {
            End::Lost(error.to_string())
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
            assert!(matches!(end, End::SignedOut(reason) if reason.starts_with("the session")));
        }
    }

    #[test]
    fn a_refused_token_signs_out_with_the_relays_words_and_other_refusals_retry() {
        let body = ErrorBody {
            code: tern_proto::ErrorCode::Unauthorized,
            message: "session expired".into(),
        };
        let end = End::from(SessionError::Refused {
            status: StatusCode::UNAUTHORIZED,
            body: Some(body),
        });
        assert!(
            matches!(&end, End::SignedOut(r) if r.starts_with("session expired (")),
            "{}",
            describe(&end)
        );
        let end = End::from(SessionError::Refused {
            status: StatusCode::SERVICE_UNAVAILABLE,
            body: None,
        });
        assert!(matches!(&end, End::Lost(r) if r == "HTTP 503 Service Unavailable"));
        assert!(matches!(
            End::from(SessionError::ConnectTimeout),
            End::Lost(_)
        ));
    }

    fn describe(end: &End) -> String {
        match end {
            End::Shutdown => "shutdown".into(),
            End::Lost(r) => format!("lost: {r}"),
            End::SignedOut(r) => format!("signed out: {r}"),
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
