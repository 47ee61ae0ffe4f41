//! The relay's error type: refusals with a protocol [`ErrorCode`] and internal failures, and
//! [`ApiError`], the same rendered as an HTTP response with a JSON [`ErrorBody`].

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use tern_proto::{ErrorBody, ErrorCode};

/// Result with the relay's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the relay.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A request was refused for a reason the client should see.
    #[error("{1}")]
    Refused(ErrorCode, String),
    /// SQLite failed.
    #[error("database error: {0}")]
    Db(#[from] rusqlite::Error),
    /// PostgreSQL failed (or could not be reached). Shown with the server's SQLSTATE and
    /// message, which `postgres::Error`'s own text ("db error") leaves out.
    #[error("database error: {}", pg_detail(.0))]
    Pg(#[from] postgres::Error),
    /// Socket or file I/O failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// TLS certificate or key could not be loaded.
    #[error("tls configuration: {0}")]
    Tls(String),
    /// An invariant broke; logged, reported to clients as `internal`.
    #[error("internal error: {0}")]
    Internal(String),
}

/// A PostgreSQL error with what the server said, when it said something.
fn pg_detail(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

impl Error {
    /// A refusal with a code and a human message.
    pub fn refused(code: ErrorCode, message: impl Into<String>) -> Self {
        Error::Refused(code, message.into())
    }

    /// The protocol code a client sees for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Refused(code, _) => *code,
            _ => ErrorCode::Internal,
        }
    }

    /// The message a client sees: the refusal's text, or a generic line for internal failures
    /// (their detail goes to the log, not to the client).
    pub fn client_message(&self) -> String {
        match self {
            Error::Refused(_, msg) => msg.clone(),
            _ => "the relay failed to process the request".into(),
        }
    }
}

/// An [`Error`] rendered as an HTTP response with a JSON [`ErrorBody`].
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.0.code();
        let status = match code {
            ErrorCode::Unauthorized
            | ErrorCode::InvalidToken
            | ErrorCode::TokenExpired
            | ErrorCode::TokenRevoked
            | ErrorCode::InvalidCredentials => StatusCode::UNAUTHORIZED,
            ErrorCode::UsernameTaken => StatusCode::CONFLICT,
            ErrorCode::TooManyAttempts | ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::SessionLimit
            | ErrorCode::Forbidden
            | ErrorCode::RegistrationClosed
            | ErrorCode::InvalidInvite => StatusCode::FORBIDDEN,
            ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::ShuttingDown | ErrorCode::Busy => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        };
        if code == ErrorCode::Internal {
            tracing::error!(error = %self.0, "request failed");
        }
        (
            status,
            Json(ErrorBody {
                code,
                message: self.0.client_message(),
            }),
        )
            .into_response()
    }
}
