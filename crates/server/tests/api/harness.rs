//! Starting servers and talking to them as a client would.

use std::path::{Path, PathBuf};

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::Value;
use switchboard::{Config, Server};
use tempfile::TempDir;

/// A server on a fresh data directory, and a client for it.
pub struct TestServer {
    pub server: Option<Server>,
    pub dir: TempDir,
    pub base: String,
    pub client: reqwest::Client,
    pub config: Config,
}

/// Configuration for tests: cheap password hashing (the real cost is tested by the unit tests),
/// everything else as shipped.
pub fn test_config(data_dir: &Path) -> Config {
    Config {
        listen: "127.0.0.1:0".into(),
        data_dir: data_dir.to_path_buf(),
        hash_memory_kib: 64,
        hash_iterations: 1,
        ..Config::default()
    }
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = test_config(dir.path());
        tweak(&mut config);
        Self::start_in(dir, config).await
    }

    pub async fn start_in(dir: TempDir, config: Config) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let server = Server::start(config.clone(), listener)
            .await
            .expect("server starts");
        let base = format!("http://{}", server.addr());
        TestServer {
            server: Some(server),
            dir,
            base,
            client: reqwest::Client::new(),
            config,
        }
    }

    /// Stops the server gracefully and starts a new one on the same data directory.
    pub async fn restart(mut self) -> TestServer {
        if let Some(server) = self.server.take() {
            server.shutdown().await.expect("clean shutdown");
        }
        let config = self.config.clone();
        Self::start_in(self.dir, config).await
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    pub fn creds(&self) -> &switchboard::AdminCredentials {
        self.server.as_ref().expect("running").credentials()
    }

    pub fn domain(&self) -> String {
        self.creds().domain.clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A token request; returns status and JSON.
    pub async fn token_request(&self, tenant: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let r = self
            .client
            .post(self.url(&format!("/{tenant}/oauth2/v2.0/token")))
            .form(form)
            .send()
            .await
            .expect("token request");
        let status = r.status();
        (status, r.json().await.expect("token answer is JSON"))
    }

    /// Runs `switchboard ARGS…` against this server's data directory; returns its stdout.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args(args)
            .arg("--data-dir")
            .arg(self.data_dir())
            .env("SWITCHBOARD_HASH_MEMORY_KIB", "64")
            .env("SWITCHBOARD_HASH_ITERATIONS", "1")
            .output()
            .expect("run switchboard");
        assert!(
            out.status.success(),
            "switchboard {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// An app-only token for an application's credentials, from the token endpoint.
    pub async fn app_token_for(&self, tenant_id: &str, client_id: &str, secret: &str) -> String {
        let (status, body) = self
            .token_request(
                tenant_id,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", client_id),
                    ("client_secret", secret),
                    ("scope", "https://graph.microsoft.com/.default"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }

    /// Another tenant, created through the CLI: its credentials (as `admin-credentials.json`
    /// has them) and an app-only token of its administrator.
    pub async fn other_tenant(&self, name: &str, domain: &str) -> (Value, String) {
        let other: Value = serde_json::from_str(
            &self.cli(&["tenant", "create", "--name", name, "--domain", domain]),
        )
        .expect("tenant create prints JSON");
        let token = self
            .app_token_for(
                other["tenantId"].as_str().unwrap(),
                other["clientId"].as_str().unwrap(),
                other["clientSecret"].as_str().unwrap(),
            )
            .await;
        (other, token)
    }

    /// An app-only token for the administrator application, from the token endpoint.
    pub async fn admin_token(&self) -> String {
        let c = self.creds().clone();
        self.app_token_for(&c.tenant_id, &c.client_id, &c.client_secret)
            .await
    }

    /// A delegated token for a user, by the password grant with the administrator application.
    pub async fn user_token(&self, upn: &str, password: &str, scope: &str) -> String {
        let c = self.creds().clone();
        let (status, body) = self
            .token_request(
                &c.tenant_id,
                &[
                    ("grant_type", "password"),
                    ("client_id", &c.client_id),
                    ("client_secret", &c.client_secret),
                    ("username", upn),
                    ("password", password),
                    ("scope", scope),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }

    pub fn request(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        json(
            self.request(Method::GET, path, token)
                .send()
                .await
                .expect("send"),
        )
        .await
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> (StatusCode, Value) {
        json(
            self.request(Method::POST, path, token)
                .json(body)
                .send()
                .await
                .expect("send"),
        )
        .await
    }

    pub async fn patch(&self, path: &str, token: &str, body: &Value) -> (StatusCode, Value) {
        json(
            self.request(Method::PATCH, path, token)
                .json(body)
                .send()
                .await
                .expect("send"),
        )
        .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> (StatusCode, Value) {
        json(
            self.request(Method::DELETE, path, token)
                .send()
                .await
                .expect("send"),
        )
        .await
    }

    /// Creates a user through the API; returns its JSON.
    pub async fn create_user(&self, token: &str, alias: &str, display_name: &str) -> Value {
        let body = user_body(alias, display_name, &self.domain());
        let (status, user) = self.post("/v1.0/users", token, &body).await;
        assert_eq!(status, StatusCode::CREATED, "{user}");
        user
    }
}

pub const PASSWORD: &str = "Switchboard-Test-1";

pub fn user_body(alias: &str, display_name: &str, domain: &str) -> Value {
    serde_json::json!({
        "accountEnabled": true,
        "displayName": display_name,
        "mailNickname": alias,
        "userPrincipalName": format!("{alias}@{domain}"),
        "passwordProfile": { "forceChangePasswordNextSignIn": false, "password": PASSWORD }
    })
}

/// Status and JSON body (Null when the body is empty).
pub async fn json(r: Response) -> (StatusCode, Value) {
    let status = r.status();
    let text = r.text().await.expect("body");
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, value)
}

/// Asserts a Graph error envelope with the given status and code.
pub fn assert_error(status: StatusCode, body: &Value, expected_status: u16, code: &str) {
    assert_eq!(status.as_u16(), expected_status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    let inner = &body["error"]["innerError"];
    assert!(
        inner["request-id"].is_string() && inner["client-request-id"].is_string(),
        "{body}"
    );
    let date = inner["date"].as_str().unwrap_or_default();
    assert_eq!(
        date.len(),
        19,
        "innerError.date is yyyy-mm-ddThh:mm:ss: {date}"
    );
    assert!(!date.ends_with('Z'));
}
