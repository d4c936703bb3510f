//! `serve --tls`: Graph and the identity endpoints over HTTPS with the generated self-signed
//! certificate (or the operator's), links that say `https://`, the certificate kept across
//! restarts, graceful shutdown, and handshakes that fail without harming anyone else.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::Value;
use switchboard::{Config, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::harness::*;

async fn start_tls(data_dir: &Path, tweak: impl FnOnce(&mut Config)) -> Server {
    let mut config = test_config(data_dir);
    config.tls = true;
    tweak(&mut config);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    Server::start(config, listener)
        .await
        .expect("TLS server starts")
}

/// A client that trusts `cert_pem` and nothing else.
fn client_trusting(cert_pem: &Path) -> reqwest::Client {
    let cert =
        reqwest::Certificate::from_pem(&std::fs::read(cert_pem).expect("cert.pem")).expect("PEM");
    reqwest::Client::builder()
        .tls_certs_only([cert])
        .build()
        .expect("client")
}

async fn token(client: &reqwest::Client, server: &Server) -> String {
    let c = server.credentials();
    let r = client
        .post(&c.token_endpoint)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", c.client_id.as_str()),
            ("client_secret", c.client_secret.as_str()),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .expect("token request over https");
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    body["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

async fn get(client: &reqwest::Client, url: &str, token: &str) -> (StatusCode, Value) {
    json(
        client
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .expect("send"),
    )
    .await
}

#[tokio::test]
async fn graph_and_identity_over_https_with_a_generated_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_tls(dir.path(), |_| {}).await;
    let cert = dir.path().join("tls/cert.pem");
    assert_eq!(server.tls_certificate(), Some(cert.as_path()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("tls/key.pem"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "the private key is readable by its owner only");
    }
    let base = format!("https://{}", server.addr());
    assert_eq!(server.url(), base);
    let c = server.credentials().clone();
    assert_eq!(
        c.token_endpoint,
        format!("{base}/{}/oauth2/v2.0/token", c.tenant_id)
    );
    assert_eq!(c.graph_base_url, format!("{base}/v1.0"));
    let on_disk: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("admin-credentials.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(on_disk["tokenEndpoint"], c.token_endpoint.as_str());

    let client = client_trusting(&cert);
    let token = token(&client, &server).await;
    let (status, users) = get(&client, &format!("{base}/v1.0/users"), &token).await;
    assert_eq!(status, StatusCode::OK, "{users}");
    assert!(
        users["@odata.context"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{base}/v1.0/")),
        "{users}"
    );

    // Links the server builds say https.
    let (status, discovery) = get(
        &client,
        &format!(
            "{base}/{}/v2.0/.well-known/openid-configuration",
            c.tenant_id
        ),
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{discovery}");
    for key in [
        "token_endpoint",
        "jwks_uri",
        "issuer",
        "authorization_endpoint",
    ] {
        assert!(
            discovery[key]
                .as_str()
                .unwrap()
                .starts_with(&format!("{base}/")),
            "{key}: {discovery}"
        );
    }
    for alias in ["ada", "bob"] {
        let r = client
            .post(format!("{base}/v1.0/users"))
            .bearer_auth(&token)
            .json(&user_body(alias, alias, &c.domain))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        assert!(
            r.headers()["location"]
                .to_str()
                .unwrap()
                .starts_with(&format!("{base}/v1.0/users/"))
        );
    }
    let (_, page) = get(&client, &format!("{base}/v1.0/users?$top=1"), &token).await;
    let next = page["@odata.nextLink"].as_str().expect("a next link");
    assert!(next.starts_with(&format!("{base}/v1.0/users?")), "{next}");
    let (status, page2) = get(&client, next, &token).await;
    assert_eq!(status, StatusCode::OK, "{page2}");
    assert_eq!(page2["value"].as_array().unwrap().len(), 1);

    // The certificate also names localhost.
    let by_name = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&std::fs::read(&cert).unwrap()).unwrap()])
        .resolve("localhost", server.addr())
        .build()
        .unwrap();
    let (status, _) = get(
        &by_name,
        &format!("https://localhost:{}/v1.0/users", server.addr().port()),
        &token,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn the_certificate_is_kept_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_tls(dir.path(), |_| {}).await;
    let cert = dir.path().join("tls/cert.pem");
    let (first_cert, first_key) = (
        std::fs::read(&cert).unwrap(),
        std::fs::read(dir.path().join("tls/key.pem")).unwrap(),
    );
    let client = client_trusting(&cert);
    let before = token(&client, &server).await;
    server.shutdown().await.expect("clean shutdown");

    let server = start_tls(dir.path(), |_| {}).await;
    assert_eq!(std::fs::read(&cert).unwrap(), first_cert, "cert.pem reused");
    assert_eq!(
        std::fs::read(dir.path().join("tls/key.pem")).unwrap(),
        first_key,
        "key.pem reused"
    );
    // A client that trusted the first start's certificate still connects (a new connection:
    // the client above pooled one to the old address).
    let client = client_trusting(&cert);
    let after = token(&client, &server).await;
    let (status, _) = get(&client, &format!("{}/v1.0/users", server.url()), &after).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(before, after);
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn the_public_url_host_is_in_the_certificate_and_links() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_tls(dir.path(), |c| {
        c.public_url = Some("https://graph.switchboard.test".into())
    })
    .await;
    assert_eq!(
        server.credentials().graph_base_url,
        "https://graph.switchboard.test/v1.0"
    );
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(
            &std::fs::read(server.tls_certificate().unwrap()).unwrap(),
        )
        .unwrap()])
        .resolve("graph.switchboard.test", server.addr())
        .build()
        .unwrap();
    let base = format!("https://graph.switchboard.test:{}", server.addr().port());
    let c = server.credentials().clone();
    let r = client
        .post(format!("{base}/{}/oauth2/v2.0/token", c.tenant_id))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", c.client_id.as_str()),
            ("client_secret", c.client_secret.as_str()),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .expect("the certificate is valid for the public host");
    assert_eq!(r.status(), StatusCode::OK);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_operator_certificate_is_served_as_given() {
    let dir = tempfile::tempdir().unwrap();
    let own = tempfile::tempdir().unwrap();
    let (cert, key) = (own.path().join("chain.pem"), own.path().join("private.pem"));
    switchboard::tls::generate(&cert, &key, &["localhost".into(), "127.0.0.1".into()]).unwrap();
    let server = start_tls(dir.path(), |c| {
        c.tls_cert = Some(cert.clone());
        c.tls_key = Some(key.clone());
    })
    .await;
    assert_eq!(server.tls_certificate(), Some(cert.as_path()));
    assert!(!dir.path().join("tls").exists(), "nothing generated");
    let client = client_trusting(&cert);
    token(&client, &server).await;
    server.shutdown().await.unwrap();

    // Half a pair, or a pair without tls, is a configuration error, not a silent fallback.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut config = test_config(dir.path());
    config.tls = true;
    config.tls_cert = Some(cert.clone());
    assert!(Server::start(config.clone(), listener).await.is_err());
    config.tls = false;
    config.tls_key = Some(key.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    assert!(Server::start(config, listener).await.is_err());
}

#[tokio::test]
async fn failed_handshakes_harm_no_one() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_tls(dir.path(), |_| {}).await;
    let addr = server.addr();
    // A connection that never starts its handshake is held open throughout.
    let _silent = TcpStream::connect(addr).await.unwrap();
    // Plain HTTP on the TLS port: refused, connection closed.
    let mut plain = TcpStream::connect(addr).await.unwrap();
    plain
        .write_all(b"GET /v1.0/users HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), plain.read_to_end(&mut buf))
        .await
        .expect("closed promptly");
    assert!(!buf.starts_with(b"HTTP/1.1 200"));
    // Garbage, then a hang-up mid-handshake.
    let mut garbage = TcpStream::connect(addr).await.unwrap();
    garbage
        .write_all(&[0x16, 0x03, 0x01, 0xff, 0xff, 1, 2, 3])
        .await
        .unwrap();
    drop(garbage);
    // A client that does not trust the certificate fails its handshake.
    let untrusting = reqwest::Client::new()
        .get(format!("https://{addr}/v1.0/users"))
        .send()
        .await;
    assert!(
        untrusting.is_err(),
        "an untrusted self-signed certificate is refused"
    );

    // Everyone else is served as usual.
    let client = client_trusting(server.tls_certificate().unwrap());
    let token = token(&client, &server).await;
    let (status, _) = get(&client, &format!("https://{addr}/v1.0/users"), &token).await;
    assert_eq!(status, StatusCode::OK);
    server
        .shutdown()
        .await
        .expect("clean shutdown with a handshake still pending");
}

/// An in-flight request (its body still arriving) finishes after shutdown has begun.
#[tokio::test]
async fn shutdown_lets_in_flight_https_requests_finish() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_tls(dir.path(), |_| {}).await;
    let addr = server.addr();
    let cert = server.tls_certificate().unwrap().to_path_buf();
    let token = token(&client_trusting(&cert), &server).await;
    let domain = server.credentials().domain.clone();

    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(&cert).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await.unwrap();
    let mut tls = connector
        .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
        .await
        .expect("handshake");
    let body = serde_json::to_vec(&user_body("late", "Late", &domain)).unwrap();
    let (head, tail) = body.split_at(body.len() / 2);
    let request = format!(
        "POST /v1.0/users HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    tls.write_all(request.as_bytes()).await.unwrap();
    tls.write_all(head).await.unwrap();
    tls.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let stopping = tokio::spawn(server.shutdown());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !stopping.is_finished(),
        "shutdown waits for the in-flight request"
    );
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no new connections once stopping"
    );
    tls.write_all(tail).await.unwrap();
    tls.flush().await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut answer))
        .await
        .expect("answered")
        .ok();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    tokio::time::timeout(Duration::from_secs(10), stopping)
        .await
        .expect("stopped")
        .unwrap()
        .expect("clean shutdown");
}
