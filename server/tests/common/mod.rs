//! Shared test harness: a real relay on 127.0.0.1:0 (in-process or as a child process), and a
//! minimal WebSocket client that speaks the protocol frame by frame.

#![allow(dead_code)]

#[allow(dead_code)]
pub mod blobs;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tern_proto::{ClientFrame, ServerFrame, COMPRESSION_HEADER};
use tern_server::config::Config;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for a frame that should come.
pub const WAIT: Duration = Duration::from_secs(10);

/// Test password for every user.
pub const PASSWORD: &str = "correct horse battery";

/// Where a relay under test keeps its data, inspected from the outside the same way on both
/// backends: the SQLite file, or the PostgreSQL database of scripts/with-postgres.sh.
#[derive(Debug, Clone)]
pub enum Stored {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Stored {
    /// The store of a relay configured with `config`.
    pub fn of(config: &Config) -> Stored {
        match &config.postgres {
            Some(url) => Stored::Postgres(url.clone()),
            None => Stored::Sqlite(config.db_path.clone()),
        }
    }

    /// The store of a relay process given the SQLite path `db`: under scripts/with-postgres.sh
    /// a PostgreSQL database, the same one each time the same path is given (a restarted
    /// relay finds its data again).
    pub fn for_process(db: &Path) -> Stored {
        use std::collections::HashMap;
        use std::sync::{Mutex, OnceLock};
        static DATABASES: OnceLock<Mutex<HashMap<PathBuf, String>>> = OnceLock::new();
        if tern_testkit::postgres::server().is_none() {
            return Stored::Sqlite(db.to_owned());
        }
        let mut known = DATABASES.get_or_init(Default::default).lock().unwrap();
        let url = known
            .entry(db.to_owned())
            .or_insert_with(|| tern_testkit::postgres::test_database().unwrap());
        Stored::Postgres(url.clone())
    }

    /// Whether the relay runs on PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(self, Stored::Postgres(_))
    }

    /// Rows of a query (plain SQL both backends understand), each row's columns joined by `|`.
    pub fn rows(&self, sql: &str) -> Vec<String> {
        match self {
            Stored::Postgres(url) => {
                let out = tern_testkit::postgres::query(url, sql).unwrap();
                out.lines()
                    .map(str::to_owned)
                    .filter(|l| !l.is_empty())
                    .collect()
            }
            Stored::Sqlite(path) => {
                let db = rusqlite::Connection::open(path).unwrap();
                db.busy_timeout(Duration::from_secs(5)).unwrap();
                let mut stmt = db.prepare(sql).unwrap();
                let n = stmt.column_count();
                stmt.query_map([], |r| {
                    let cols: Vec<String> = (0..n)
                        .map(|i| match r.get_ref(i).unwrap() {
                            rusqlite::types::ValueRef::Null => String::new(),
                            rusqlite::types::ValueRef::Integer(v) => v.to_string(),
                            rusqlite::types::ValueRef::Real(v) => v.to_string(),
                            rusqlite::types::ValueRef::Text(t) => {
                                String::from_utf8_lossy(t).into_owned()
                            }
                            rusqlite::types::ValueRef::Blob(b) => format!("{b:02x?}"),
                        })
                        .collect();
                    Ok(cols.join("|"))
                })
                .unwrap()
                .map(|r| r.unwrap())
                .collect()
            }
        }
    }

    /// Everything the store holds on disk, as bytes to search: the SQLite file and its WAL
    /// after a checkpoint (no VACUUM, which would hide leftovers in free space), or a
    /// `pg_dump` of the database.
    pub fn contents(&self) -> Vec<u8> {
        match self {
            Stored::Postgres(url) => {
                let bin = std::env::var_os("TERN_PG_BIN")
                    .map(|d| PathBuf::from(d).join("pg_dump"))
                    .unwrap_or_else(|| PathBuf::from("pg_dump"));
                let out = std::process::Command::new(bin).arg(url).output().unwrap();
                assert!(out.status.success(), "pg_dump: {out:?}");
                out.stdout
            }
            Stored::Sqlite(path) => {
                if let Ok(db) = rusqlite::Connection::open(path) {
                    let _ = db.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
                }
                let mut bytes = std::fs::read(path).unwrap_or_default();
                let mut wal = path.clone().into_os_string();
                wal.push("-wal");
                bytes.extend(std::fs::read(wal).unwrap_or_default());
                bytes
            }
        }
    }
}

/// A relay running inside the test process.
pub struct Relay {
    /// Its data, to inspect from the outside.
    pub stored: Stored,
    pub addr: SocketAddr,
    /// The separate `/metrics` listener.
    pub metrics_addr: SocketAddr,
    pub dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<tern_server::Result<()>>>,
    pub http: reqwest::Client,
}

/// A config suitable for tests: relaxed rate limits unless a test tightens them.
pub fn test_config(dir: &Path) -> Config {
    let mut c = Config::new(dir.join("relay.db"));
    // Under scripts/with-postgres.sh a PostgreSQL database instead, one per folder (a relay
    // restarted on the same folder finds its data again).
    if let Stored::Postgres(url) = Stored::for_process(&c.db_path) {
        c.postgres = Some(url);
    }
    c.synchronous_full = false;
    c.limits.send_rate.burst = 100_000.0;
    c.limits.send_rate.per_second = 100_000.0;
    c.limits.change_rate.burst = 100_000.0;
    c.limits.change_rate.per_second = 100_000.0;
    c.limits.frame_rate.burst = 100_000.0;
    c.limits.frame_rate.per_second = 100_000.0;
    // Tests register many users from 127.0.0.1; tests/abuse.rs tightens this again.
    c.limits.register_per_address.burst = 100_000.0;
    c
}

impl Relay {
    pub async fn start() -> Relay {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Relay {
        let dir = tempfile::tempdir().unwrap();
        let mut config = test_config(dir.path());
        tweak(&mut config);
        Self::start_in(dir, config).await
    }

    pub async fn start_in(dir: tempfile::TempDir, config: Config) -> Relay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let metrics = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let metrics_addr = metrics.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let listeners = tern_server::Listeners {
            main: listener,
            metrics: Some(metrics),
        };
        let stored = Stored::of(&config);
        let task = tokio::spawn(tern_server::serve(listeners, config, async move {
            let _ = stopped.await;
        }));
        Relay {
            stored,
            addr,
            metrics_addr,
            dir,
            stop: Some(stop),
            task: Some(task),
            http: reqwest::Client::new(),
        }
    }

    /// Stop gracefully and wait until the relay has finished.
    pub async fn stop(mut self) -> tempfile::TempDir {
        let _ = self.stop.take().unwrap().send(());
        self.task.take().unwrap().await.unwrap().unwrap();
        std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap())
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn metrics_url(&self, path: &str) -> String {
        format!("http://{}{}", self.metrics_addr, path)
    }

    /// The Prometheus text from the metrics listener.
    pub async fn metrics_text(&self) -> String {
        self.http
            .get(self.metrics_url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// The value of an unlabelled series on `/metrics`.
    pub async fn metric(&self, name: &str) -> u64 {
        let text = self.metrics_text().await;
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in {text}"))
            .parse()
            .unwrap()
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}{}", self.addr, tern_proto::WS_PATH)
    }

    pub async fn post(&self, path: &str, body: Value, token: Option<&str>) -> (u16, Value) {
        post(&self.http, &self.url(path), body, token).await
    }

    pub async fn register(&self, name: &str) {
        let (status, body) = self
            .post(
                "/v1/register",
                json!({"username": name, "password": PASSWORD}),
                None,
            )
            .await;
        assert_eq!(status, 201, "register {name}: {body}");
    }

    pub async fn login(&self, name: &str) -> String {
        login(&self.http, &self.url(""), name).await
    }

    /// Register, log in and connect a fresh user.
    pub async fn user(&self, name: &str) -> Client {
        self.register(name).await;
        let token = self.login(name).await;
        Client::connect(&self.ws_url(), &token).await
    }

    /// `name`, not connected, accepts conversation `conv` (a message request from `observer`)
    /// from a device that then disconnects; `observer` has seen `name` come online and go
    /// offline again, and forgets those frames.
    pub async fn accept_as(&self, name: &str, conv: i64, observer: &mut Client) {
        let mut device = self.device(name).await;
        device.accept(conv).await;
        let who = device.user_id;
        drop(device);
        observer
            .expect(|f| match f {
                ServerFrame::Presence { presence }
                    if presence.user_id.0 == who
                        && !presence.online
                        && presence.last_seen.is_some() =>
                {
                    Some(())
                }
                _ => None,
            })
            .await;
        observer.clear_backlog();
    }

    /// Another device (a new login session) of an existing user.
    pub async fn device(&self, name: &str) -> Client {
        let token = self.login(name).await;
        Client::connect(&self.ws_url(), &token).await
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// alice, signed in through `laptop` and through `phone`, revokes the phone's session through
/// the laptop's relay: the phone's connection, on the other relay, closes with "revoked".
pub async fn revoke_across(laptop: &Relay, phone: &Relay) {
    laptop.register("alice").await;
    let laptop_token = laptop.login("alice").await;
    let phone_token = phone.login("alice").await;
    let mut phone_ws = Client::connect(&phone.ws_url(), &phone_token).await;
    phone_ws.sync(json!({}), 0).await;
    let id = phone_ws.session_id;
    let (status, _) = laptop
        .post(
            &format!("/v1/sessions/{id}/revoke"),
            json!({}),
            Some(&laptop_token),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        phone_ws.expect_close().await,
        Some(tern_proto::close::REVOKED.code)
    );
}

pub async fn post(
    http: &reqwest::Client,
    url: &str,
    body: Value,
    token: Option<&str>,
) -> (u16, Value) {
    let mut req = http.post(url).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

pub async fn login(http: &reqwest::Client, base: &str, name: &str) -> String {
    let (status, body) = post(
        http,
        &format!("{base}/v1/login"),
        json!({"username": name, "password": PASSWORD, "device_name": "test"}),
        None,
    )
    .await;
    assert_eq!(status, 200, "login {name}: {body}");
    body["token"].as_str().unwrap().to_owned()
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A protocol-level test client: one WebSocket, frames in and out, no cleverness.
pub struct Client {
    pub ws: Ws,
    pub user_id: i64,
    pub session_id: i64,
    pub next_id: u64,
    /// Frames received while waiting for something else.
    pub backlog: Vec<ServerFrame>,
}

/// Why a handshake was refused: HTTP status and the JSON error body.
#[derive(Debug)]
pub struct Refusal {
    pub status: u16,
    pub body: Value,
}

pub async fn try_connect(
    url: &str,
    token: Option<&str>,
    extra: &[(&str, &str)],
) -> Result<Ws, Refusal> {
    let mut req = url.into_client_request().unwrap();
    if let Some(t) = token {
        req.headers_mut()
            .insert("authorization", format!("Bearer {t}").parse().unwrap());
    }
    for (k, v) in extra {
        req.headers_mut().insert(
            tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
            let status = res.status().as_u16();
            let body = res
                .body()
                .as_ref()
                .map(|b| serde_json::from_slice(b).unwrap_or(Value::Null))
                .unwrap_or(Value::Null);
            Err(Refusal { status, body })
        }
        Err(e) => panic!("connect failed: {e}"),
    }
}

impl Client {
    pub async fn connect(url: &str, token: &str) -> Client {
        Self::connect_with(url, token, &[]).await
    }

    pub async fn connect_with(url: &str, token: &str, extra: &[(&str, &str)]) -> Client {
        Self::welcomed(try_connect(url, Some(token), extra).await.unwrap()).await
    }

    /// A client on `ws`, once the relay's welcome has arrived.
    async fn welcomed(ws: Ws) -> Client {
        let mut c = Client {
            ws,
            user_id: 0,
            session_id: 0,
            next_id: 1,
            backlog: Vec::new(),
        };
        match c.recv().await {
            ServerFrame::Welcome {
                user_id,
                session_id,
                ..
            } => {
                c.user_id = user_id.0;
                c.session_id = session_id.0;
            }
            other => panic!("expected welcome, got {other:?}"),
        }
        c
    }

    /// Connect with a small receive buffer (4 KiB), so that what the relay writes waits for
    /// the test to read it instead of piling up in the kernel.
    pub async fn connect_small_buffer(url: &str, token: &str) -> Client {
        let mut req = url.into_client_request().unwrap();
        req.headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        let (host, port) = (req.uri().host().unwrap(), req.uri().port_u16().unwrap());
        let addr = tokio::net::lookup_host((host, port))
            .await
            .unwrap()
            .next()
            .unwrap();
        let socket = match addr {
            SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
            SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
        }
        .unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let stream = socket.connect(addr).await.unwrap();
        let (ws, _) = tokio_tungstenite::client_async(req, MaybeTlsStream::Plain(stream))
            .await
            .unwrap();
        Self::welcomed(ws).await
    }

    pub async fn connect_compressed(url: &str, token: &str) -> Client {
        Self::connect_with(url, token, &[(COMPRESSION_HEADER, "deflate")]).await
    }

    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub async fn send_raw(&mut self, msg: Message) {
        self.ws.send(msg).await.unwrap();
    }

    pub async fn send_json(&mut self, v: Value) {
        self.send_raw(Message::Text(v.to_string().into())).await;
    }

    pub async fn send_frame(&mut self, f: &ClientFrame) {
        self.send_json(serde_json::to_value(f).unwrap()).await;
    }

    /// Next frame from the socket (not from the backlog), or None if the socket closed.
    pub async fn try_recv_socket(
        &mut self,
        wait: Duration,
    ) -> Option<Result<ServerFrame, Option<u16>>> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let msg = match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return None,
                Ok(None) => return Some(Err(None)),
                Ok(Some(Err(_))) => return Some(Err(None)),
                Ok(Some(Ok(m))) => m,
            };
            match msg {
                Message::Text(t) => {
                    return Some(Ok(serde_json::from_str(t.as_str())
                        .unwrap_or_else(|e| panic!("bad frame {t}: {e}"))))
                }
                Message::Binary(b) => {
                    let text = tern_proto::compression::inflate(&b, 64 << 20).unwrap();
                    return Some(Ok(serde_json::from_str(&text).unwrap()));
                }
                Message::Close(frame) => return Some(Err(frame.map(|f| u16::from(f.code)))),
                _ => continue,
            }
        }
    }

    pub async fn recv(&mut self) -> ServerFrame {
        if !self.backlog.is_empty() {
            return self.backlog.remove(0);
        }
        match self.try_recv_socket(WAIT).await {
            Some(Ok(f)) => f,
            Some(Err(code)) => panic!("socket closed (code {code:?}) while waiting for a frame"),
            None => panic!("no frame within {WAIT:?}"),
        }
    }

    /// Wait for the first frame matching `pred`, keeping the others in the backlog.
    pub async fn expect<T>(&mut self, mut pred: impl FnMut(&ServerFrame) -> Option<T>) -> T {
        if let Some(pos) = self.backlog.iter().position(|f| pred(f).is_some()) {
            let f = self.backlog.remove(pos);
            return pred(&f).unwrap();
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.try_recv_socket(left).await {
                Some(Ok(f)) => match pred(&f) {
                    Some(t) => return t,
                    None => self.backlog.push(f),
                },
                Some(Err(code)) => {
                    panic!("socket closed (code {code:?}); backlog: {:?}", self.backlog)
                }
                None => panic!(
                    "expected frame did not arrive within {WAIT:?}; backlog: {:?}",
                    self.backlog
                ),
            }
        }
    }

    /// Assert no frame matching `pred` arrives within `wait`.
    pub async fn expect_none(
        &mut self,
        wait: Duration,
        mut pred: impl FnMut(&ServerFrame) -> bool,
    ) {
        assert!(
            !self.backlog.iter().any(&mut pred),
            "unexpected frame in backlog: {:?}",
            self.backlog
        );
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.try_recv_socket(left).await {
                Some(Ok(f)) => {
                    assert!(!pred(&f), "unexpected frame {f:?}");
                    self.backlog.push(f);
                }
                _ => return,
            }
        }
    }

    /// Wait until the socket closes and return the close code.
    pub async fn expect_close(&mut self) -> Option<u16> {
        loop {
            match self.try_recv_socket(WAIT).await {
                Some(Ok(f)) => self.backlog.push(f),
                Some(Err(code)) => return code,
                None => panic!("socket did not close within {WAIT:?}"),
            }
        }
    }

    /// Send a request and wait for the reply (or error) echoing its id.
    pub async fn request(&mut self, mut frame: Value) -> ServerFrame {
        let id = self.next_id();
        frame["id"] = json!(id);
        self.send_json(frame).await;
        self.expect(|f| reply_id(f).filter(|r| *r == id).map(|_| f.clone()))
            .await
    }

    pub async fn start_direct(&mut self, username: &str) -> i64 {
        match self
            .request(json!({"type": "start_direct", "username": username}))
            .await
        {
            ServerFrame::Conversation { conversation, .. } => conversation.conversation_id.0,
            other => panic!("start_direct failed: {other:?}"),
        }
    }

    pub async fn create_group(&mut self, name: &str, members: &[&str]) -> i64 {
        match self
            .request(json!({"type": "create_group", "name": name, "members": members}))
            .await
        {
            ServerFrame::Conversation { conversation, .. } => conversation.conversation_id.0,
            other => panic!("create_group failed: {other:?}"),
        }
    }

    /// Accept a message request (a stranger's direct chat or group invitation).
    pub async fn accept(&mut self, conv: i64) {
        match self
            .request(json!({"type": "accept_request", "conversation_id": conv}))
            .await
        {
            ServerFrame::Conversation { .. } => {}
            other => panic!("accept_request failed: {other:?}"),
        }
    }

    /// Forget frames received but not yet expected.
    pub fn clear_backlog(&mut self) {
        self.backlog.clear();
    }

    /// Send a message and wait for its ack; returns (seq, duplicate).
    pub async fn send_msg(&mut self, conv: i64, client_id: &str, body: &str) -> (u64, bool) {
        match self.request(json!({"type": "send", "conversation_id": conv, "client_id": client_id, "body": body})).await {
            ServerFrame::Ack { seq, duplicate, .. } => (seq.0, duplicate),
            other => panic!("send failed: {other:?}"),
        }
    }

    /// Wait for a pushed message in `conv`.
    /// (Group notices — "alice added bob" — are not what a test waits for here: they are
    /// skipped, and stay in the backlog.)
    pub async fn expect_message(&mut self, conv: i64) -> tern_proto::MessageRecord {
        self.expect(|f| match f {
            ServerFrame::Message { message }
                if message.conversation_id.0 == conv
                    && message.kind != tern_proto::MessageKind::Notice =>
            {
                Some(message.clone())
            }
            _ => None,
        })
        .await
    }

    /// Run a whole sync; returns (messages, conversations, removed, receipts, version, presence).
    pub async fn sync(&mut self, cursors: Value, since: u64) -> SyncResult {
        let id = self.next_id();
        // Tests write cursors as {"conv": seq}; the wire form is a list of objects.
        let cursors: Vec<Value> = cursors
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| json!({"conversation_id": k.parse::<i64>().unwrap(), "seq": v}))
            .collect();
        self.send_json(
            json!({"type": "sync", "id": id, "cursors": cursors, "changes_since": since}),
        )
        .await;
        let mut out = SyncResult::default();
        loop {
            let f = self
                .expect(|f| (reply_id(f) == Some(id)).then(|| f.clone()))
                .await;
            match f {
                ServerFrame::SyncPage {
                    messages,
                    conversations,
                    removed,
                    receipts,
                    ..
                } => {
                    out.pages += 1;
                    out.messages.extend(messages);
                    out.conversations.extend(conversations);
                    out.removed.extend(removed.into_iter().map(|c| c.0));
                    out.receipts.extend(receipts);
                }
                ServerFrame::SyncDone {
                    changes_version,
                    presence,
                    privacy,
                    chat_prefs,
                    ..
                } => {
                    out.version = changes_version;
                    out.presence = presence;
                    out.privacy = privacy;
                    out.chat_prefs = chat_prefs.expect("the relay sends the user's chat prefs");
                    return out;
                }
                other => panic!("unexpected sync reply {other:?}"),
            }
        }
    }

    /// Expect an error reply to the last request with this code.
    pub async fn expect_error(&mut self, frame: Value, code: &str) -> ServerFrame {
        let reply = self.request(frame).await;
        match &reply {
            ServerFrame::Error { code: c, .. } => {
                assert_eq!(serde_json::to_value(c).unwrap(), json!(code), "{reply:?}")
            }
            other => panic!("expected error {code}, got {other:?}"),
        }
        reply
    }
}

#[derive(Debug, Default)]
pub struct SyncResult {
    pub pages: usize,
    pub messages: Vec<tern_proto::MessageRecord>,
    pub conversations: Vec<tern_proto::ConversationInfo>,
    pub removed: Vec<i64>,
    pub receipts: Vec<tern_proto::ReceiptState>,
    pub version: u64,
    pub presence: Vec<tern_proto::Presence>,
    pub privacy: tern_proto::Privacy,
    pub chat_prefs: Vec<tern_proto::ChatPrefs>,
}

/// The request id a frame answers, if it is a reply.
pub fn reply_id(f: &ServerFrame) -> Option<u64> {
    f.reply_id().map(|id| id.0)
}

/// A relay running as a child process (for `kill -9`), started by the shared test kit.
pub struct RelayProcess {
    process: tern_testkit::RelayProcess,
    pub addr: SocketAddr,
    /// Its data, to inspect from the outside.
    pub stored: Stored,
}

impl RelayProcess {
    pub fn spawn(db: &Path, extra: &[&str]) -> RelayProcess {
        Self::spawn_logging(db, extra, "warn").0
    }

    /// Spawn with `TERN_LOG=log`; the returned handle yields everything the relay logged
    /// (to stderr) once it has exited.
    pub fn spawn_logging(
        db: &Path,
        extra: &[&str],
        log: &str,
    ) -> (RelayProcess, std::thread::JoinHandle<String>) {
        use std::io::Read;
        let stored = Stored::for_process(db);
        let mut spec = tern_testkit::RelaySpec::new(env!("CARGO_BIN_EXE_tern-server"), db)
            .args(["--metrics-listen", "off"])
            .args(extra.iter().copied());
        if let Stored::Postgres(url) = &stored {
            spec = spec.args(["--store", url.as_str()]);
        }
        spec.log = log.into();
        spec.capture_stderr = true;
        let mut process = tern_testkit::RelayProcess::start(spec).unwrap();
        let mut stderr = process.take_stderr().unwrap();
        let rest = std::thread::spawn(move || {
            let mut all = String::new();
            let _ = stderr.read_to_string(&mut all);
            all
        });
        let addr = process.addr();
        (
            RelayProcess {
                process,
                addr,
                stored,
            },
            rest,
        )
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}{}", self.addr, tern_proto::WS_PATH)
    }

    pub fn pid(&self) -> u32 {
        self.process.pid().unwrap()
    }

    /// Register `name` with the test password.
    pub async fn register(&self, name: &str) {
        let (status, body) = post(
            &reqwest::Client::new(),
            &format!("{}/v1/register", self.base()),
            json!({"username": name, "password": PASSWORD}),
            None,
        )
        .await;
        assert_eq!(status, 201, "register {name}: {body}");
    }

    /// Log `name` in; returns the token.
    pub async fn login(&self, name: &str) -> String {
        login(&reqwest::Client::new(), &self.base(), name).await
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill9(&mut self) {
        self.process.kill9();
    }

    /// SIGTERM; true if it exited successfully within `patience`.
    pub fn terminate(&mut self, patience: Duration) -> bool {
        self.process.terminate(patience).unwrap()
    }
}

pub fn db_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("relay.db")
}
