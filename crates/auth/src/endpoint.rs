//! The token endpoint (`POST /{tenant}/oauth2/v2.0/token`): grants, scope rules and the identity
//! platform's error answers (`error`, `error_description` with an `AADSTS` code, `error_codes`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use switchboard_domain::credentials;
use switchboard_domain::graph_time::now_ms;
use switchboard_domain::store::UserKey;
use switchboard_domain::tenants::{Application, Tenant};
use switchboard_domain::{Error, Store};

use crate::tokens::TokenIssuer;

/// An error answer of the identity platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityError {
    /// HTTP status: 400, or 401 for a bad client credential.
    pub status: u16,
    /// OAuth error (`invalid_client`, `invalid_grant`, …).
    pub error: &'static str,
    /// The `AADSTS` number.
    pub code: u32,
    /// Human text, without the `AADSTSnnnn:` prefix.
    pub description: String,
}

impl IdentityError {
    fn new(status: u16, error: &'static str, code: u32, description: impl Into<String>) -> Self {
        IdentityError { status, error, code, description: description.into() }
    }

    fn server(e: Error) -> Self {
        IdentityError::new(500, "temporarily_unavailable", 50000, format!("There was an error issuing a token: {}", e.message))
    }
}

/// The resource whose scopes Switchboard issues tokens for.
const GRAPH_RESOURCES: [&str; 2] = ["https://graph.microsoft.com/", "00000003-0000-0000-c000-000000000000/"];
/// OpenID Connect scopes, which are not Graph permissions.
const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// How long a verified client secret is remembered, so that repeated token requests do not pay
/// for Argon2 each time. Milliseconds.
const VERIFIED_SECRET_TTL_MS: i64 = 5 * 60 * 1000;

/// The token endpoint's logic.
pub struct TokenService {
    store: Arc<dyn Store>,
    issuer: Arc<TokenIssuer>,
    /// (tenant, client, SHA-256 of secret, hash it matched) → verified-until, epoch ms.
    verified: Mutex<HashMap<(String, String, Vec<u8>, String), i64>>,
}

/// The fields of a token request (form-encoded), with the client credentials from an HTTP Basic
/// header folded in.
pub type TokenForm = HashMap<String, String>;

impl TokenService {
    /// A token service over `store`, signing with `issuer`.
    pub fn new(store: Arc<dyn Store>, issuer: Arc<TokenIssuer>) -> TokenService {
        TokenService { store, issuer, verified: Mutex::new(HashMap::new()) }
    }

    /// Answers one token request for the tenant named in the URL.
    pub async fn token(&self, tenant_key: &str, form: &TokenForm) -> Result<Value, IdentityError> {
        let field = |name: &str| form.get(name).map(String::as_str).filter(|v| !v.is_empty());
        let grant = field("grant_type").ok_or_else(|| {
            IdentityError::new(400, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
        })?;
        let tenant = self.tenant(tenant_key).await?;
        let client_id = field("client_id").ok_or_else(|| {
            IdentityError::new(400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
        })?;
        let app = self
            .store
            .application(&tenant.id, &client_id.to_ascii_lowercase())
            .await
            .map_err(|e| IdentityError::server(e.into()))?
            .ok_or_else(|| {
                IdentityError::new(
                    400,
                    "unauthorized_client",
                    700016,
                    format!("Application with identifier '{client_id}' was not found in the directory '{}'.", tenant.id),
                )
            })?;
        match grant {
            "client_credentials" => {
                self.check_secret(&tenant, &app, field("client_secret"), true).await?;
                let scope = field("scope").ok_or_else(|| {
                    IdentityError::new(400, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
                })?;
                let scopes: Vec<&str> = scope.split_whitespace().collect();
                let is_default = scopes.len() == 1
                    && GRAPH_RESOURCES.iter().any(|r| scopes[0].eq_ignore_ascii_case(&format!("{r}.default")));
                if !is_default {
                    return Err(IdentityError::new(
                        400,
                        "invalid_scope",
                        1002012,
                        format!("The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."),
                    ));
                }
                let token = self.issuer.issue_app(&tenant, &app).map_err(IdentityError::server)?;
                Ok(json!({
                    "token_type": "Bearer",
                    "expires_in": self.issuer.lifetime_secs,
                    "ext_expires_in": self.issuer.lifetime_secs,
                    "access_token": token,
                }))
            }
            "password" => {
                // A confidential client proves itself; a public client sends no secret.
                self.check_secret(&tenant, &app, field("client_secret"), false).await?;
                let username = field("username").ok_or_else(|| {
                    IdentityError::new(400, "invalid_request", 900144, "The request body must contain the following parameter: 'username'.")
                })?;
                let password = field("password").unwrap_or_default().to_string();
                let bad_credentials = || IdentityError::new(400, "invalid_grant", 50126, "Error validating credentials due to invalid username or password.");
                let user = self
                    .store
                    .user(&tenant.id, &UserKey::Upn(username.to_string()))
                    .await
                    .map_err(|e| IdentityError::server(e.into()))?
                    .ok_or_else(bad_credentials)?;
                let hash = user.password_hash.clone().ok_or_else(bad_credentials)?;
                let ok = tokio::task::spawn_blocking(move || credentials::verify(&password, &hash))
                    .await
                    .unwrap_or(false);
                if !ok {
                    return Err(bad_credentials());
                }
                if !user.account_enabled {
                    return Err(IdentityError::new(400, "invalid_grant", 50057, "The user account is disabled."));
                }
                let granted = delegated_scopes(&app, field("scope").unwrap_or(""))?;
                let token = self.issuer.issue_user(&tenant, &app, &user, &granted).map_err(IdentityError::server)?;
                let mut answered: Vec<String> =
                    granted.iter().map(|s| format!("{}{s}", GRAPH_RESOURCES[0])).collect();
                let requested = field("scope").unwrap_or("");
                answered.extend(
                    OIDC_SCOPES
                        .iter()
                        .filter(|o| requested.split_whitespace().any(|r| r.eq_ignore_ascii_case(o)) && **o != "offline_access")
                        .map(|o| o.to_string()),
                );
                Ok(json!({
                    "token_type": "Bearer",
                    "scope": answered.join(" "),
                    "expires_in": self.issuer.lifetime_secs,
                    "ext_expires_in": self.issuer.lifetime_secs,
                    "access_token": token,
                }))
            }
            other => Err(IdentityError::new(
                400,
                "unsupported_grant_type",
                70003,
                format!("The app requested an unsupported grant type '{other}'."),
            )),
        }
    }

    async fn tenant(&self, key: &str) -> Result<Tenant, IdentityError> {
        self.store
            .tenant(key)
            .await
            .map_err(|e| IdentityError::server(e.into()))?
            .ok_or_else(|| {
                IdentityError::new(
                    400,
                    "invalid_tenant",
                    90002,
                    format!("Tenant '{key}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."),
                )
            })
    }

    async fn check_secret(
        &self,
        tenant: &Tenant,
        app: &Application,
        secret: Option<&str>,
        required: bool,
    ) -> Result<(), IdentityError> {
        let Some(secret) = secret else {
            if required {
                return Err(IdentityError::new(
                    401,
                    "invalid_client",
                    7000215,
                    "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
                ));
            }
            return Ok(());
        };
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, secret.as_bytes()).as_ref().to_vec();
        let now = now_ms();
        let known = |hash: &str| (tenant.id.clone(), app.client_id.clone(), digest.clone(), hash.to_string());
        if let Ok(cache) = self.verified.lock() {
            if app.secrets.iter().any(|s| cache.get(&known(&s.hash)).is_some_and(|until| *until > now)) {
                return Ok(());
            }
        }
        let hashes: Vec<String> = app.secrets.iter().map(|s| s.hash.clone()).collect();
        let secret = secret.to_string();
        let matched = tokio::task::spawn_blocking(move || hashes.into_iter().find(|h| credentials::verify(&secret, h)))
            .await
            .ok()
            .flatten();
        match matched {
            Some(hash) => {
                if let Ok(mut cache) = self.verified.lock() {
                    cache.retain(|_, until| *until > now);
                    cache.insert(known(&hash), now + VERIFIED_SECRET_TTL_MS);
                }
                Ok(())
            }
            None => Err(IdentityError::new(
                401,
                "invalid_client",
                7000215,
                format!("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{}'.", app.client_id),
            )),
        }
    }
}

/// The delegated Graph scopes a request asks for, checked against what the app may have:
/// `.default` means every scope the app is configured for; named scopes narrow that.
fn delegated_scopes(app: &Application, requested: &str) -> Result<Vec<String>, IdentityError> {
    let mut granted = Vec::new();
    for raw in requested.split_whitespace() {
        if OIDC_SCOPES.iter().any(|o| raw.eq_ignore_ascii_case(o)) {
            continue;
        }
        let short = GRAPH_RESOURCES
            .iter()
            .find_map(|r| raw.get(..r.len()).filter(|p| p.eq_ignore_ascii_case(r)).map(|_| &raw[r.len()..]))
            .unwrap_or(raw);
        if short.eq_ignore_ascii_case(".default") {
            granted.extend(app.delegated_scopes.iter().cloned());
            continue;
        }
        match app.delegated_scopes.iter().find(|s| s.eq_ignore_ascii_case(short)) {
            Some(s) => granted.push(s.clone()),
            None => {
                return Err(IdentityError::new(
                    400,
                    "invalid_scope",
                    65001,
                    format!("The user or administrator has not consented to use the application with ID '{}' for the scope '{short}'.", app.client_id),
                ));
            }
        }
    }
    if granted.is_empty() {
        granted.extend(app.delegated_scopes.iter().cloned());
    }
    granted.sort();
    granted.dedup();
    Ok(granted)
}
