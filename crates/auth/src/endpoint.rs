//! The token endpoint (`POST /{tenant}/oauth2/v2.0/token`): grants, scope rules and the identity
//! platform's error answers (`error`, `error_description` with an `AADSTS` code, `error_codes`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use switchboard_domain::credentials;
use switchboard_domain::graph_time::now_ms;
use switchboard_domain::store::UserKey;
use switchboard_domain::tenants::{Application, Grant, GrantKind, Redeemed, Tenant};
use switchboard_domain::users::UserRecord;
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
        IdentityError {
            status,
            error,
            code,
            description: description.into(),
        }
    }

    fn server(e: Error) -> Self {
        IdentityError::new(
            500,
            "temporarily_unavailable",
            50000,
            format!("There was an error issuing a token: {}", e.message),
        )
    }
}

/// The resource whose scopes Switchboard issues tokens for.
const GRAPH_RESOURCES: [&str; 2] = [
    "https://graph.microsoft.com/",
    "00000003-0000-0000-c000-000000000000/",
];

/// How long a verified client secret is remembered, so that repeated token requests do not pay
/// for Argon2 each time. Milliseconds.
const VERIFIED_SECRET_TTL_MS: i64 = 5 * 60 * 1000;

/// A client secret that verified: (tenant, client, SHA-256 of the secret, the hash it matched).
type VerifiedSecret = (String, String, Vec<u8>, String);

/// The token endpoint's logic.
pub struct TokenService {
    store: Arc<dyn Store>,
    issuer: Arc<TokenIssuer>,
    /// (tenant, client, SHA-256 of secret, hash it matched) → verified-until, epoch ms.
    verified: Mutex<HashMap<VerifiedSecret, i64>>,
    /// How long an authorization code may wait for its redemption, ms.
    code_lifetime_ms: i64,
}

/// The fields of a token request (form-encoded), with the client credentials from an HTTP Basic
/// header folded in.
pub type TokenForm = HashMap<String, String>;

impl TokenService {
    /// A token service over `store`, signing with `issuer`, whose authorization codes live
    /// `code_lifetime_secs`.
    pub fn new(
        store: Arc<dyn Store>,
        issuer: Arc<TokenIssuer>,
        code_lifetime_secs: i64,
    ) -> TokenService {
        TokenService {
            store,
            issuer,
            verified: Mutex::new(HashMap::new()),
            code_lifetime_ms: code_lifetime_secs.max(1) * 1000,
        }
    }

    /// Answers one token request for the tenant named in the URL. `base_url` is this server's
    /// external URL, the issuer of id tokens.
    pub async fn token(
        &self,
        tenant_key: &str,
        form: &TokenForm,
        base_url: &str,
    ) -> Result<Value, IdentityError> {
        let field = |name: &str| form.get(name).map(String::as_str).filter(|v| !v.is_empty());
        let grant = field("grant_type").ok_or_else(|| missing("grant_type"))?;
        let tenant = self.tenant(tenant_key).await?;
        let client_id = field("client_id").ok_or_else(|| missing("client_id"))?;
        let app = self.app(&tenant, client_id).await?;
        let client_info = field("client_info") == Some("1");
        match grant {
            "client_credentials" => {
                self.check_secret(&tenant, &app, field("client_secret"), true)
                    .await?;
                let scope = field("scope").ok_or_else(|| missing("scope"))?;
                let scopes: Vec<&str> = scope.split_whitespace().collect();
                let is_default = scopes.len() == 1
                    && GRAPH_RESOURCES
                        .iter()
                        .any(|r| scopes[0].eq_ignore_ascii_case(&format!("{r}.default")));
                if !is_default {
                    return Err(IdentityError::new(
                        400,
                        "invalid_scope",
                        1002012,
                        format!(
                            "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
                        ),
                    ));
                }
                let token = self
                    .issuer
                    .issue_app(&tenant, &app)
                    .map_err(IdentityError::server)?;
                Ok(json!({
                    "token_type": "Bearer",
                    "expires_in": self.issuer.lifetime_secs,
                    "ext_expires_in": self.issuer.lifetime_secs,
                    "access_token": token,
                }))
            }
            "password" => {
                // A confidential client proves itself; a public client sends no secret.
                self.check_secret(&tenant, &app, field("client_secret"), false)
                    .await?;
                let username = field("username").ok_or_else(|| missing("username"))?;
                let password = field("password").unwrap_or_default();
                let user = self.check_password(&tenant, username, password).await?;
                let scopes = requested_scopes(&app, field("scope").unwrap_or(""))?;
                let session = Session {
                    tenant: &tenant,
                    app: &app,
                    user: &user,
                    base_url,
                    client_info,
                };
                self.user_tokens(&session, &scopes, None, None).await
            }
            "authorization_code" => {
                self.check_secret(&tenant, &app, field("client_secret"), false)
                    .await?;
                let code = field("code").ok_or_else(|| missing("code"))?;
                let grant = self.redeem(GrantKind::Code, code, &app).await?;
                if field("redirect_uri") != grant.redirect_uri.as_deref() {
                    return Err(IdentityError::new(
                        400,
                        "invalid_grant",
                        70000,
                        "The redirect_uri does not match the one the authorization code was issued for.",
                    ));
                }
                check_pkce(&grant, field("code_verifier"))?;
                let user = self.grant_user(&tenant, &grant).await?;
                let scopes = Scopes::parse_granted(&grant.scopes);
                let session = Session {
                    tenant: &tenant,
                    app: &app,
                    user: &user,
                    base_url,
                    client_info,
                };
                self.user_tokens(&session, &scopes, grant.nonce.as_deref(), None)
                    .await
            }
            "refresh_token" => {
                self.check_secret(&tenant, &app, field("client_secret"), false)
                    .await?;
                let token = field("refresh_token").ok_or_else(|| missing("refresh_token"))?;
                let grant = self.redeem(GrantKind::Refresh, token, &app).await?;
                let user = self.grant_user(&tenant, &grant).await?;
                let mut scopes = Scopes::parse_granted(&grant.scopes);
                // A refresh may narrow the scopes, never widen them.
                if let Some(asked) = field("scope") {
                    let narrowed = requested_scopes(&app, asked)?;
                    if let Some(extra) = narrowed.graph.iter().find(|s| !scopes.graph.contains(s)) {
                        return Err(IdentityError::new(
                            400,
                            "invalid_scope",
                            65001,
                            format!("The scope '{extra}' was not granted to this refresh token."),
                        ));
                    }
                    scopes.graph = narrowed.graph;
                    scopes.openid &= narrowed.openid;
                }
                scopes.offline_access = true;
                let session = Session {
                    tenant: &tenant,
                    app: &app,
                    user: &user,
                    base_url,
                    client_info,
                };
                self.user_tokens(&session, &scopes, None, Some(grant.family))
                    .await
            }
            other => Err(IdentityError::new(
                400,
                "unsupported_grant_type",
                70003,
                format!("The app requested an unsupported grant type '{other}'."),
            )),
        }
    }

    /// The tokens of a signed-in user: an access token, a refresh token when `offline_access`
    /// was granted, an id token when `openid` was, and MSAL's `client_info` when asked.
    async fn user_tokens(
        &self,
        s: &Session<'_>,
        scopes: &Scopes,
        nonce: Option<&str>,
        family: Option<String>,
    ) -> Result<Value, IdentityError> {
        let access = self
            .issuer
            .issue_user(s.tenant, s.app, s.user, &scopes.graph)
            .map_err(IdentityError::server)?;
        let mut answer = json!({
            "token_type": "Bearer",
            "scope": scopes.answer(),
            "expires_in": self.issuer.lifetime_secs,
            "ext_expires_in": self.issuer.lifetime_secs,
            "access_token": access,
        });
        if scopes.offline_access {
            let refresh = random_token();
            let now = now_ms();
            let grant = Grant {
                id_hash: hash_token(&refresh),
                kind: GrantKind::Refresh,
                tenant_id: s.tenant.id.clone(),
                client_id: s.app.client_id.clone(),
                user_id: s.user.id.clone(),
                scopes: scopes.stored(),
                redirect_uri: None,
                code_challenge: None,
                code_challenge_method: None,
                nonce: None,
                family: family.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
                created_ms: now,
                expires_ms: now + REFRESH_TOKEN_LIFETIME_MS,
            };
            self.store
                .insert_grant(&grant)
                .await
                .map_err(|e| IdentityError::server(e.into()))?;
            answer["refresh_token"] = json!(refresh);
        }
        if scopes.openid {
            let id_token = self
                .issuer
                .issue_id_token(s.tenant, s.app, s.user, s.base_url, nonce)
                .map_err(IdentityError::server)?;
            answer["id_token"] = json!(id_token);
        }
        if s.client_info {
            let info = json!({ "uid": s.user.id, "utid": s.tenant.id }).to_string();
            answer["client_info"] = json!(URL_SAFE_NO_PAD.encode(info));
        }
        Ok(answer)
    }

    async fn app(&self, tenant: &Tenant, client_id: &str) -> Result<Application, IdentityError> {
        self.store
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
            })
    }

    async fn check_password(
        &self,
        tenant: &Tenant,
        username: &str,
        password: &str,
    ) -> Result<UserRecord, IdentityError> {
        let bad_credentials = || {
            IdentityError::new(
                400,
                "invalid_grant",
                50126,
                "Error validating credentials due to invalid username or password.",
            )
        };
        let user = self
            .store
            .user(&tenant.id, &UserKey::Upn(username.to_string()))
            .await
            .map_err(|e| IdentityError::server(e.into()))?;
        // Hash even for unknown users, so response time does not reveal which usernames exist.
        let hash = user
            .as_ref()
            .and_then(|u| u.password_hash.clone())
            .unwrap_or_else(|| DUMMY_HASH.to_string());
        let password = password.to_string();
        let ok = tokio::task::spawn_blocking(move || credentials::verify(&password, &hash))
            .await
            .unwrap_or(false);
        let user = user.filter(|_| ok).ok_or_else(bad_credentials)?;
        if !user.account_enabled {
            return Err(IdentityError::new(
                400,
                "invalid_grant",
                50057,
                "The user account is disabled.",
            ));
        }
        Ok(user)
    }

    async fn redeem(
        &self,
        kind: GrantKind,
        value: &str,
        app: &Application,
    ) -> Result<Grant, IdentityError> {
        let redeemed = self
            .store
            .redeem_grant(kind, &hash_token(value), now_ms())
            .await
            .map_err(|e| IdentityError::server(e.into()))?;
        let grant = match (redeemed, kind) {
            (Redeemed::Granted(g), _) => g,
            (Redeemed::Unknown, GrantKind::Code) => {
                return Err(IdentityError::new(
                    400,
                    "invalid_grant",
                    9002313,
                    "Invalid request. The authorization code is malformed or invalid.",
                ));
            }
            (Redeemed::Unknown, GrantKind::Refresh) => {
                return Err(IdentityError::new(
                    400,
                    "invalid_grant",
                    9002313,
                    "Invalid request. The refresh token is malformed or invalid.",
                ));
            }
            (Redeemed::Expired, _) => {
                return Err(IdentityError::new(
                    400,
                    "invalid_grant",
                    70008,
                    "The provided authorization code or refresh token has expired due to inactivity.",
                ));
            }
            (Redeemed::Reused, GrantKind::Code) => {
                return Err(IdentityError::new(
                    400,
                    "invalid_grant",
                    54005,
                    "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.",
                ));
            }
            (Redeemed::Reused, GrantKind::Refresh) => {
                return Err(IdentityError::new(
                    400,
                    "invalid_grant",
                    50173,
                    "The provided grant has been revoked: it was already used, so every token issued from it was revoked.",
                ));
            }
        };
        if !grant.client_id.eq_ignore_ascii_case(&app.client_id) || grant.tenant_id != app.tenant_id
        {
            return Err(IdentityError::new(
                400,
                "invalid_grant",
                70000,
                "The grant was issued to another application.",
            ));
        }
        Ok(grant)
    }

    async fn grant_user(
        &self,
        tenant: &Tenant,
        grant: &Grant,
    ) -> Result<UserRecord, IdentityError> {
        let user = self
            .store
            .user(&tenant.id, &UserKey::Id(grant.user_id.clone()))
            .await
            .map_err(|e| IdentityError::server(e.into()))?
            .ok_or_else(|| {
                IdentityError::new(
                    400,
                    "invalid_grant",
                    50034,
                    "The user account does not exist in the directory.",
                )
            })?;
        if !user.account_enabled {
            return Err(IdentityError::new(
                400,
                "invalid_grant",
                50057,
                "The user account is disabled.",
            ));
        }
        Ok(user)
    }

    /// Checks an authorization request (`GET /{tenant}/oauth2/v2.0/authorize`) before the
    /// sign-in page is shown. Errors before the redirect URI is known to be safe must not be
    /// redirected, so they come back as [`AuthorizeError::Page`].
    pub async fn check_authorize(
        &self,
        tenant_key: &str,
        params: &TokenForm,
    ) -> Result<AuthorizeRequest, AuthorizeError> {
        let field = |name: &str| {
            params
                .get(name)
                .map(String::as_str)
                .filter(|v| !v.is_empty())
        };
        let tenant = self
            .tenant(tenant_key)
            .await
            .map_err(AuthorizeError::Page)?;
        let client_id =
            field("client_id").ok_or_else(|| AuthorizeError::Page(missing("client_id")))?;
        let app = self
            .app(&tenant, client_id)
            .await
            .map_err(AuthorizeError::Page)?;
        let redirect_uri =
            field("redirect_uri").ok_or_else(|| AuthorizeError::Page(missing("redirect_uri")))?;
        if !redirect_allowed(&app, redirect_uri) {
            return Err(AuthorizeError::Page(IdentityError::new(
                400,
                "invalid_request",
                50011,
                format!(
                    "The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs configured for the application '{}'.",
                    app.client_id
                ),
            )));
        }
        let redirect = |e: IdentityError| AuthorizeError::Redirect {
            redirect_uri: redirect_uri.to_string(),
            state: field("state").map(str::to_string),
            error: e,
        };
        if field("response_type") != Some("code") {
            return Err(redirect(IdentityError::new(
                400,
                "unsupported_response_type",
                700054,
                "Only response_type=code is supported.",
            )));
        }
        let method = field("code_challenge_method").unwrap_or("plain");
        if field("code_challenge").is_some() && method != "S256" && method != "plain" {
            return Err(redirect(IdentityError::new(
                400,
                "invalid_request",
                501491,
                "Invalid code_challenge_method: use S256 or plain.",
            )));
        }
        let scopes = requested_scopes(&app, field("scope").unwrap_or("")).map_err(redirect)?;
        Ok(AuthorizeRequest {
            tenant,
            app,
            redirect_uri: redirect_uri.to_string(),
            state: field("state").map(str::to_string),
            scopes: scopes.stored(),
            code_challenge: field("code_challenge").map(str::to_string),
            code_challenge_method: field("code_challenge").map(|_| method.to_string()),
            nonce: field("nonce").map(str::to_string),
            response_mode: field("response_mode").unwrap_or("query").to_string(),
            login_hint: field("login_hint").map(str::to_string),
        })
    }

    /// Signs the user in for an authorization request; returns the authorization code.
    pub async fn sign_in(
        &self,
        request: &AuthorizeRequest,
        username: &str,
        password: &str,
    ) -> Result<String, IdentityError> {
        let user = self
            .check_password(&request.tenant, username, password)
            .await?;
        let code = random_token();
        let now = now_ms();
        let grant = Grant {
            id_hash: hash_token(&code),
            kind: GrantKind::Code,
            tenant_id: request.tenant.id.clone(),
            client_id: request.app.client_id.clone(),
            user_id: user.id,
            scopes: request.scopes.clone(),
            redirect_uri: Some(request.redirect_uri.clone()),
            code_challenge: request.code_challenge.clone(),
            code_challenge_method: request.code_challenge_method.clone(),
            nonce: request.nonce.clone(),
            family: uuid::Uuid::new_v4().to_string(),
            created_ms: now,
            expires_ms: now + self.code_lifetime_ms,
        };
        self.store
            .insert_grant(&grant)
            .await
            .map_err(|e| IdentityError::server(e.into()))?;
        Ok(code)
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
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, secret.as_bytes())
            .as_ref()
            .to_vec();
        let now = now_ms();
        let known = |hash: &str| {
            (
                tenant.id.clone(),
                app.client_id.clone(),
                digest.clone(),
                hash.to_string(),
            )
        };
        // A secret past its `endDateTime` no longer authenticates.
        let live = || {
            app.secrets
                .iter()
                .filter(|s| s.end_ms.is_none_or(|end| end > now))
        };
        if let Ok(cache) = self.verified.lock()
            && live().any(|s| cache.get(&known(&s.hash)).is_some_and(|until| *until > now))
        {
            return Ok(());
        }
        let hashes: Vec<String> = live().map(|s| s.hash.clone()).collect();
        let secret = secret.to_string();
        let matched = tokio::task::spawn_blocking(move || {
            hashes.into_iter().find(|h| credentials::verify(&secret, h))
        })
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
                format!(
                    "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{}'.",
                    app.client_id
                ),
            )),
        }
    }
}

/// Scopes of a delegated sign-in: Graph permissions plus the OpenID Connect ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes {
    /// Graph delegated permissions, canonical spelling.
    pub graph: Vec<String>,
    /// `openid`: an id token is issued.
    pub openid: bool,
    /// `profile`.
    pub profile: bool,
    /// `email`.
    pub email: bool,
    /// `offline_access`: a refresh token is issued.
    pub offline_access: bool,
}

impl Scopes {
    /// The `scope` of the token answer: Graph scopes as full URIs, then the OpenID ones.
    fn answer(&self) -> String {
        let mut out: Vec<String> = self
            .graph
            .iter()
            .map(|s| format!("{}{s}", GRAPH_RESOURCES[0]))
            .collect();
        for (on, name) in [
            (self.openid, "openid"),
            (self.profile, "profile"),
            (self.email, "email"),
        ] {
            if on {
                out.push(name.to_string());
            }
        }
        out.join(" ")
    }

    /// How a grant stores them.
    fn stored(&self) -> String {
        let mut out = self.graph.clone();
        for (on, name) in [
            (self.openid, "openid"),
            (self.profile, "profile"),
            (self.email, "email"),
            (self.offline_access, "offline_access"),
        ] {
            if on {
                out.push(name.to_string());
            }
        }
        out.join(" ")
    }

    fn parse_granted(stored: &str) -> Scopes {
        let mut scopes = Scopes::default();
        for s in stored.split_whitespace() {
            match s {
                "openid" => scopes.openid = true,
                "profile" => scopes.profile = true,
                "email" => scopes.email = true,
                "offline_access" => scopes.offline_access = true,
                other => scopes.graph.push(other.to_string()),
            }
        }
        scopes
    }
}

/// The delegated scopes a request asks for, checked against what the app may have: `.default`
/// means every scope the app is configured for; named scopes narrow that; none named means
/// `.default`.
fn requested_scopes(app: &Application, requested: &str) -> Result<Scopes, IdentityError> {
    let mut scopes = Scopes::default();
    for raw in requested.split_whitespace() {
        match raw.to_ascii_lowercase().as_str() {
            "openid" => {
                scopes.openid = true;
                continue;
            }
            "profile" => {
                scopes.profile = true;
                continue;
            }
            "email" => {
                scopes.email = true;
                continue;
            }
            "offline_access" => {
                scopes.offline_access = true;
                continue;
            }
            _ => {}
        }
        let short = GRAPH_RESOURCES
            .iter()
            .find_map(|r| {
                raw.get(..r.len())
                    .filter(|p| p.eq_ignore_ascii_case(r))
                    .map(|_| &raw[r.len()..])
            })
            .unwrap_or(raw);
        if short.eq_ignore_ascii_case(".default") {
            scopes.graph.extend(app.delegated_scopes.iter().cloned());
            continue;
        }
        match app
            .delegated_scopes
            .iter()
            .find(|s| s.eq_ignore_ascii_case(short))
        {
            Some(s) => scopes.graph.push(s.clone()),
            None => {
                return Err(IdentityError::new(
                    400,
                    "invalid_scope",
                    65001,
                    format!(
                        "The user or administrator has not consented to use the application with ID '{}' for the scope '{short}'.",
                        app.client_id
                    ),
                ));
            }
        }
    }
    if scopes.graph.is_empty() {
        scopes.graph.extend(app.delegated_scopes.iter().cloned());
    }
    scopes.graph.sort();
    scopes.graph.dedup();
    Ok(scopes)
}

/// Loopback redirect URIs are allowed for every application (native and development apps pick
/// their port at run time); any other must be registered exactly.
fn redirect_allowed(app: &Application, uri: &str) -> bool {
    if app.redirect_uris.iter().any(|r| r == uri) {
        return true;
    }
    let Ok(url) = url::Url::parse(uri) else {
        return false;
    };
    url.scheme() == "http"
        && matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
        && url.fragment().is_none()
}

/// RFC 7636: the verifier must hash (S256) or equal (plain) the challenge of the code.
fn check_pkce(grant: &Grant, verifier: Option<&str>) -> Result<(), IdentityError> {
    let Some(challenge) = &grant.code_challenge else {
        return Ok(());
    };
    let mismatch = || {
        IdentityError::new(
            400,
            "invalid_grant",
            501481,
            "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
        )
    };
    let verifier = verifier.ok_or_else(mismatch)?;
    let computed = match grant.code_challenge_method.as_deref() {
        Some("S256") => URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            verifier.as_bytes(),
        )),
        _ => verifier.to_string(),
    };
    if computed == *challenge {
        Ok(())
    } else {
        Err(mismatch())
    }
}

fn missing(name: &str) -> IdentityError {
    IdentityError::new(
        400,
        "invalid_request",
        900144,
        format!("The request body must contain the following parameter: '{name}'."),
    )
}

/// A new opaque code or refresh token: 48 random bytes, URL-safe.
fn random_token() -> String {
    let mut bytes = [0u8; 48];
    // The system generator failing is not something to continue through.
    aws_lc_rs::rand::fill(&mut bytes).unwrap_or_else(|_| std::process::abort());
    URL_SAFE_NO_PAD.encode(bytes)
}

/// How grants are stored: the SHA-256 of their value, in hex.
fn hash_token(value: &str) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, value.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An authorization request that passed its checks, waiting for the user to sign in.
#[derive(Debug, Clone)]
pub struct AuthorizeRequest {
    /// The tenant.
    pub tenant: Tenant,
    /// The application asking.
    pub app: Application,
    /// Where the code goes.
    pub redirect_uri: String,
    /// The client's `state`, returned unchanged.
    pub state: Option<String>,
    /// Scopes to grant, stored form.
    pub scopes: String,
    /// PKCE challenge.
    pub code_challenge: Option<String>,
    /// PKCE method.
    pub code_challenge_method: Option<String>,
    /// OpenID nonce.
    pub nonce: Option<String>,
    /// `query` or `form_post`.
    pub response_mode: String,
    /// Username to pre-fill.
    pub login_hint: Option<String>,
}

/// Why an authorization request cannot go on.
#[derive(Debug, Clone)]
pub enum AuthorizeError {
    /// Shown on a page: the redirect URI is not (yet) trusted.
    Page(IdentityError),
    /// Sent back to the (trusted) redirect URI.
    Redirect {
        /// Where to send it.
        redirect_uri: String,
        /// The client's state.
        state: Option<String>,
        /// The error.
        error: IdentityError,
    },
}

/// The parties of one sign-in.
struct Session<'a> {
    tenant: &'a Tenant,
    app: &'a Application,
    user: &'a UserRecord,
    base_url: &'a str,
    client_info: bool,
}

/// An Argon2id hash of nothing anyone knows, verified against for unknown users.
const DUMMY_HASH: &str = "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$9mGvPsbUMX6xGhHzjYYvZ4/Y5ORgGLyJsz3r5zeS9uQ";
/// Refresh tokens live 90 days.
const REFRESH_TOKEN_LIFETIME_MS: i64 = 90 * 24 * 3600 * 1000;
