//! Opening the WebSocket: the upgrade request with the device's token, protocol version,
//! instance tag and compression offer, within the connect timeout.
//!
//! A refused upgrade is a [`SessionError::Refused`] carrying the relay's status and error body;
//! a 401 means the token is no longer valid, which signs the device out instead of retrying.

use tern_proto::{ErrorBody, COMPRESSION_HEADER, INSTANCE_HEADER, PROTOCOL_HEADER};
use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest, protocol::WebSocketConfig};

use super::failure::SessionError;
use super::session::Ws;
use crate::shared::Shared;

/// This process's instance tag: a reconnect replaces this process's older connection of the
/// session, while another program sharing the login keeps its own.
fn process_instance() -> &'static str {
    static TAG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TAG.get_or_init(|| uuid::Uuid::now_v7().simple().to_string())
}

/// Open the WebSocket with this device's token; true when the relay agreed to compression.
pub(super) async fn connect(shared: &Shared) -> Result<(Ws, bool), SessionError> {
    let mut req = shared
        .config
        .ws_url()
        .into_client_request()
        .map_err(SessionError::Connect)?;
    let headers = req.headers_mut();
    let bearer = format!("Bearer {}", shared.token.expose())
        .parse()
        .map_err(|_| SessionError::MalformedToken)?;
    headers.insert("authorization", bearer);
    headers.insert(PROTOCOL_HEADER, tern_proto::PROTOCOL_VERSION.into());
    headers.insert(
        INSTANCE_HEADER,
        process_instance().parse().expect("hex header"),
    );
    if shared.config.compression {
        headers.insert(
            COMPRESSION_HEADER,
            "deflate".parse().expect("static header"),
        );
    }
    let ws_config = WebSocketConfig::default()
        .read_buffer_size(16 * 1024)
        .max_message_size(Some(64 << 20));
    let attempt = tokio_tungstenite::connect_async_with_config(req, Some(ws_config), true);
    match tokio::time::timeout(shared.config.timing.connect_timeout, attempt).await {
        Err(_) => Err(SessionError::ConnectTimeout),
        Ok(Ok((ws, res))) => {
            let compression = res
                .headers()
                .get(COMPRESSION_HEADER)
                .is_some_and(|v| v == "deflate");
            Ok((ws, compression))
        }
        Ok(Err(tungstenite::Error::Http(res))) => {
            let body = res
                .body()
                .as_ref()
                .and_then(|b| serde_json::from_slice::<ErrorBody>(b).ok());
            Err(SessionError::Refused {
                status: res.status(),
                body,
            })
        }
        Ok(Err(e)) => Err(SessionError::Connect(e)),
    }
}
