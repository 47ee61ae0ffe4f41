//! The relay over TLS: `https://` accounts and `wss://` messaging with a configured
//! certificate, and no plaintext answer on the same port.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::*;
use serde_json::json;
use tern_proto::ServerFrame;
use tern_server::config::TlsPaths;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::Connector;

#[tokio::test]
async fn accounts_and_messages_work_over_https_and_wss() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).unwrap();
    let mut config = test_config(dir.path());
    config.tls = Some(TlsPaths {
        cert: cert_path,
        key: key_path,
    });
    let relay = Relay::start_in(dir, config).await;
    let port = relay.addr.port();

    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap())
        .build()
        .unwrap();
    let base = format!("https://localhost:{port}");
    let (status, _) = post(
        &http,
        &format!("{base}/v1/register"),
        json!({"username": "alice", "password": PASSWORD}),
        None,
    )
    .await;
    assert_eq!(status, 201);
    let token = login(&http, &base, "alice").await;

    // Plain HTTP on the TLS port gets nowhere.
    assert!(reqwest::get(format!("http://127.0.0.1:{port}/health"))
        .await
        .is_err());

    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let mut req = format!("wss://localhost:{port}{}", tern_proto::WS_PATH)
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (ws, _) = tokio_tungstenite::connect_async_tls_with_config(
        req,
        None,
        false,
        Some(Connector::Rustls(Arc::new(tls))),
    )
    .await
    .unwrap();
    let mut client = Client {
        ws,
        user_id: 0,
        session_id: 0,
        next_id: 1,
        backlog: Vec::new(),
    };
    assert!(matches!(client.recv().await, ServerFrame::Welcome { .. }));
    assert!(matches!(
        client.request(json!({"type": "ping"})).await,
        ServerFrame::Pong { .. }
    ));
}

#[test]
fn pem_files_without_a_certificate_or_key_are_refused_naming_the_file() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    let missing = dir.path().join("missing.pem");
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).unwrap();
    let refusal = |cert: &Path, key: &Path| {
        let paths = TlsPaths {
            cert: cert.into(),
            key: key.into(),
        };
        match tern_server::tls::acceptor(&paths) {
            Ok(_) => panic!("{} and {} were accepted", cert.display(), key.display()),
            Err(e) => e.to_string(),
        }
    };

    let no_key = refusal(&cert_path, &cert_path);
    assert!(
        no_key.contains(&format!("no private key in {}", cert_path.display())),
        "{no_key}"
    );
    let no_cert = refusal(&key_path, &key_path);
    assert!(
        no_cert.contains(&format!("no certificate in {}", key_path.display())),
        "{no_cert}"
    );
    let unopened = refusal(&missing, &key_path);
    assert!(
        unopened.contains(&format!("cannot open {}", missing.display())),
        "{unopened}"
    );
    let unopened = refusal(&cert_path, &missing);
    assert!(
        unopened.contains(&format!("cannot open {}", missing.display())),
        "{unopened}"
    );
    assert!(tern_server::tls::acceptor(&TlsPaths {
        cert: cert_path,
        key: key_path,
    })
    .is_ok());
}
