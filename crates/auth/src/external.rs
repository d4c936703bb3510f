//! External identity providers: Graph routes also accept access tokens from other OpenID Connect
//! issuers the configuration trusts (`[[trusted_issuers]]`), for users who exist in a Switchboard
//! tenant. Such a token becomes the same [`Principal`] as one of Switchboard's own, so every
//! permission check works unchanged.
//!
//! Validation pins the algorithm to RS256 (never the header's `alg`), checks `iss` exactly, `aud`,
//! `exp` and `nbf` (with a minute of leeway for clocks on other machines), and the signature
//! against the issuer's JWKS. The JWKS is fetched over HTTP(S) (its URL configured, or found in
//! `{issuer}/.well-known/openid-configuration`), cached for its `Cache-Control: max-age` clamped
//! to between five minutes and a day, and fetched again, by one request at a time, when a token
//! names a key it does not hold, at most once every 30 seconds.

use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use switchboard_domain::principal::PrincipalKind;
use switchboard_domain::store::UserKey;
use switchboard_domain::{Error, Principal, Store};

/// One trusted issuer, as configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedIssuer {
    /// The issuer URL, exactly as tokens carry it in `iss`.
    pub issuer: String,
    /// The audience tokens must be issued for (`aud`).
    pub audience: String,
    /// Where the issuer's keys are; unset: `jwks_uri` of `{issuer}/.well-known/openid-configuration`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// The Switchboard tenant (id or domain) the issuer's users belong to.
    pub tenant: String,
    /// The claim naming the user: matched against `userPrincipalName` case-insensitively, or,
    /// for `oid`, against the user's object id.
    #[serde(default = "default_user_claim")]
    pub user_claim: String,
    /// The claim with the delegated scopes (space-separated, or a list).
    #[serde(default = "default_scopes_claim")]
    pub scopes_claim: String,
    /// The claim with the application roles (a list, or space-separated).
    #[serde(default = "default_roles_claim")]
    pub roles_claim: String,
}

fn default_user_claim() -> String {
    "preferred_username".into()
}

fn default_scopes_claim() -> String {
    "scp".into()
}

fn default_roles_claim() -> String {
    "roles".into()
}

/// A refetch for an unknown `kid` (or after a failure) happens at most this often.
pub const REFETCH_INTERVAL: Duration = Duration::from_secs(30);
/// Cached keys live at least this long, whatever `max-age` says.
const MIN_CACHE: Duration = Duration::from_secs(5 * 60);
/// …and at most this long.
const MAX_CACHE: Duration = Duration::from_secs(24 * 3600);
/// Without `max-age`, keys are cached this long.
const DEFAULT_CACHE: Duration = Duration::from_secs(3600);
/// Clock skew allowed on `exp` and `nbf`, seconds.
const LEEWAY_SECS: u64 = 60;
/// Discovery documents and key sets larger than this are refused.
const MAX_DOCUMENT_BYTES: usize = 512 * 1024;

/// The keys of one issuer, as last fetched.
#[derive(Default)]
struct KeyCache {
    keys: Vec<(Option<String>, DecodingKey)>,
    /// The JWKS URL (configured or discovered).
    jwks_uri: Option<String>,
    /// Fresh until then; a fetch is due after.
    fresh_until: Option<Instant>,
    /// The last fetch attempt, successful or not.
    last_attempt: Option<Instant>,
}

impl KeyCache {
    fn key(&self, kid: Option<&str>) -> Option<DecodingKey> {
        match kid {
            Some(kid) => self
                .keys
                .iter()
                .find(|(k, _)| k.as_deref() == Some(kid))
                .map(|(_, d)| d.clone()),
            // A token without `kid` is accepted only when the issuer publishes a single key.
            None if self.keys.len() == 1 => Some(self.keys[0].1.clone()),
            None => None,
        }
    }
}

/// Whether a fetch should happen now: the cache is stale (or empty), or the key is unknown; in
/// either case not sooner than [`REFETCH_INTERVAL`] after the last attempt, unless the cache has
/// never been filled and nothing was tried yet.
fn fetch_due(fresh: bool, has_key: bool, last_attempt: Option<Instant>, now: Instant) -> bool {
    if fresh && has_key {
        return false;
    }
    last_attempt.is_none_or(|t| now.duration_since(t) >= REFETCH_INTERVAL)
}

/// One issuer and its cached keys.
struct IssuerState {
    config: TrustedIssuer,
    cache: std::sync::RwLock<KeyCache>,
    /// One fetch at a time (single flight).
    fetching: tokio::sync::Mutex<()>,
}

/// The trusted issuers and the HTTP client that fetches their keys.
pub struct TrustedIssuers {
    client: reqwest::Client,
    issuers: Vec<IssuerState>,
}

/// Keys must come over HTTPS, except from this machine (development and tests).
fn check_url(what: &str, text: &str) -> Result<url::Url, Error> {
    let url = url::Url::parse(text).map_err(|e| {
        Error::internal(format!("trusted issuer {what} '{text}' is not a URL: {e}"))
    })?;
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(Error::internal(format!(
            "trusted issuer {what} '{text}' must be an https URL (plain http is allowed only for localhost)"
        ))),
    }
}

impl TrustedIssuers {
    /// Checks the configuration and builds the HTTP client; fetches nothing yet.
    pub fn new(configs: &[TrustedIssuer]) -> Result<TrustedIssuers, Error> {
        let mut issuers = Vec::new();
        for c in configs {
            if c.audience.is_empty() || c.tenant.is_empty() || c.user_claim.is_empty() {
                return Err(Error::internal(format!(
                    "trusted issuer '{}' needs audience, tenant and user_claim",
                    c.issuer
                )));
            }
            if issuers
                .iter()
                .any(|i: &IssuerState| i.config.issuer == c.issuer)
            {
                return Err(Error::internal(format!(
                    "trusted issuer '{}' is configured twice",
                    c.issuer
                )));
            }
            match &c.jwks_uri {
                Some(uri) => {
                    check_url("jwks_uri", uri)?;
                }
                None => {
                    check_url("issuer", &c.issuer)?;
                }
            }
            issuers.push(IssuerState {
                cache: std::sync::RwLock::new(KeyCache {
                    jwks_uri: c.jwks_uri.clone(),
                    ..KeyCache::default()
                }),
                config: c.clone(),
                fetching: tokio::sync::Mutex::new(()),
            });
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| {
                Error::internal(format!(
                    "cannot build the HTTP client for trusted issuers: {e}"
                ))
            })?;
        Ok(TrustedIssuers { client, issuers })
    }

    /// Whether any issuer is configured.
    pub fn is_empty(&self) -> bool {
        self.issuers.is_empty()
    }

    /// Whether tokens naming `iss` are validated here rather than as Switchboard's own.
    pub fn trusts(&self, iss: &str) -> bool {
        self.issuers.iter().any(|i| i.config.issuer == iss)
    }

    /// Validates a token whose (unverified) `iss` names a trusted issuer; returns the principal
    /// of the local user (or application) it stands for, or Graph's 401.
    pub async fn validate(
        &self,
        token: &str,
        header: &Header,
        iss: &str,
        store: &dyn Store,
    ) -> Result<Principal, Error> {
        let Some(issuer) = self.issuers.iter().find(|i| i.config.issuer == iss) else {
            return Err(Error::unauthenticated(
                "Access token validation failure. Invalid issuer.",
            ));
        };
        // Never trust the header's algorithm: these issuers are pinned to RS256.
        if header.alg != Algorithm::RS256 {
            return Err(Error::unauthenticated(
                "Access token validation failure. Invalid signing algorithm.",
            ));
        }
        let key = self.key(issuer, header.kid.as_deref()).await?;
        let c = &issuer.config;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[c.audience.as_str()]);
        validation.set_issuer(&[c.issuer.as_str()]);
        validation.set_required_spec_claims(&["exp", "aud", "iss"]);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind as K;
                match e.kind() {
                    K::ExpiredSignature | K::ImmatureSignature => {
                        Error::unauthenticated("Access token has expired or is not yet valid.")
                    }
                    K::InvalidAudience => {
                        Error::unauthenticated("Access token validation failure. Invalid audience.")
                    }
                    K::InvalidIssuer => {
                        Error::unauthenticated("Access token validation failure. Invalid issuer.")
                    }
                    K::InvalidSignature => Error::unauthenticated(
                        "Access token validation failure. Invalid signature.",
                    ),
                    _ => Error::unauthenticated("Access token validation failure."),
                }
            })?
            .claims;
        self.principal(c, &claims, store).await
    }

    /// The local principal for validated claims.
    async fn principal(
        &self,
        c: &TrustedIssuer,
        claims: &Map<String, Value>,
        store: &dyn Store,
    ) -> Result<Principal, Error> {
        let tenant = store.tenant(&c.tenant).await?.ok_or_else(|| {
            Error::unauthenticated(format!(
                "Access token validation failure. The tenant '{}' of issuer '{}' does not exist.",
                c.tenant, c.issuer
            ))
        })?;
        let client_id = ["appid", "azp", "client_id"]
            .iter()
            .find_map(|name| claims.get(*name).and_then(Value::as_str))
            .unwrap_or_default()
            .to_string();
        let scopes = words(claims.get(&c.scopes_claim));
        let roles = words(claims.get(&c.roles_claim));
        let user = claims
            .get(&c.user_claim)
            .and_then(Value::as_str)
            .filter(|u| !u.is_empty());
        let delegated = match claims.get("idtyp").and_then(Value::as_str) {
            Some("app") => false,
            Some("user") => true,
            _ => scopes.is_some() || (roles.is_none() && user.is_some()),
        };
        if !delegated {
            return Ok(Principal {
                tenant_id: tenant.id,
                client_id,
                kind: PrincipalKind::App {
                    roles: roles.unwrap_or_default(),
                },
            });
        }
        let unknown = || {
            Error::unauthenticated(
                "Access token validation failure. The user the token names does not exist in this directory.",
            )
        };
        let name = user.ok_or_else(unknown)?;
        let key = if c.user_claim == "oid" {
            UserKey::Id(name.to_ascii_lowercase())
        } else {
            UserKey::Upn(name.to_string())
        };
        let local = store.user(&tenant.id, &key).await?.ok_or_else(unknown)?;
        if !local.account_enabled {
            return Err(Error::unauthenticated(
                "Access token validation failure. The user account is disabled.",
            ));
        }
        Ok(Principal {
            tenant_id: tenant.id,
            client_id,
            kind: PrincipalKind::User {
                user_id: local.id,
                scopes: scopes.unwrap_or_default(),
            },
        })
    }

    /// The key for `kid`, from the cache or a (single-flight, rate-limited) fetch.
    async fn key(&self, issuer: &IssuerState, kid: Option<&str>) -> Result<DecodingKey, Error> {
        let unknown =
            || Error::unauthenticated("Access token validation failure. Unknown signing key.");
        let due = |cache: &KeyCache| {
            let now = Instant::now();
            let fresh = cache.fresh_until.is_some_and(|t| now < t);
            fetch_due(fresh, cache.key(kid).is_some(), cache.last_attempt, now)
        };
        {
            let cache = issuer
                .cache
                .read()
                .map_err(|_| Error::internal("key cache poisoned"))?;
            if !due(&cache) {
                return cache.key(kid).ok_or_else(unknown);
            }
        }
        let _one_at_a_time = issuer.fetching.lock().await;
        // Another request may have fetched while this one waited.
        {
            let mut cache = issuer
                .cache
                .write()
                .map_err(|_| Error::internal("key cache poisoned"))?;
            if !due(&cache) {
                return cache.key(kid).ok_or_else(unknown);
            }
            cache.last_attempt = Some(Instant::now());
        }
        let jwks_uri = issuer.cache.read().ok().and_then(|c| c.jwks_uri.clone());
        match self.fetch(&issuer.config, jwks_uri).await {
            Ok((jwks_uri, keys, lifetime)) => {
                let mut cache = issuer
                    .cache
                    .write()
                    .map_err(|_| Error::internal("key cache poisoned"))?;
                cache.keys = keys;
                cache.jwks_uri = Some(jwks_uri);
                cache.fresh_until = Some(Instant::now() + lifetime);
                cache.key(kid).ok_or_else(unknown)
            }
            Err(e) => {
                tracing::warn!(issuer = %issuer.config.issuer, "cannot fetch the signing keys of a trusted issuer: {e}");
                let mut cache = issuer
                    .cache
                    .write()
                    .map_err(|_| Error::internal("key cache poisoned"))?;
                if issuer.config.jwks_uri.is_none() {
                    // Discover again next time: the document may have moved the keys.
                    cache.jwks_uri = None;
                }
                // Stale keys still validate while the issuer cannot be reached.
                cache.key(kid).ok_or_else(|| {
                    Error::unauthenticated(format!(
                        "Access token validation failure. The signing keys of issuer '{}' could not be fetched.",
                        issuer.config.issuer
                    ))
                })
            }
        }
    }

    /// Fetches the key set (discovering its URL first when needed): the URL, the usable keys,
    /// and how long to cache them.
    async fn fetch(
        &self,
        c: &TrustedIssuer,
        jwks_uri: Option<String>,
    ) -> Result<(String, Vec<(Option<String>, DecodingKey)>, Duration), String> {
        let jwks_uri = match jwks_uri {
            Some(uri) => uri,
            None => {
                let url = format!(
                    "{}/.well-known/openid-configuration",
                    c.issuer.trim_end_matches('/')
                );
                let (doc, _) = self.get_json(&url).await?;
                // OpenID Connect Discovery §4.3: the document must name the issuer it was asked for.
                if doc.get("issuer").and_then(Value::as_str) != Some(c.issuer.as_str()) {
                    return Err(format!(
                        "{url} names issuer {:?}, not {}",
                        doc.get("issuer"),
                        c.issuer
                    ));
                }
                let uri = doc
                    .get("jwks_uri")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("{url} has no jwks_uri"))?;
                check_url("jwks_uri", uri).map_err(|e| e.message)?;
                uri.to_string()
            }
        };
        let (jwks, max_age) = self.get_json(&jwks_uri).await?;
        let keys = parse_jwks(&jwks);
        if keys.is_empty() {
            return Err(format!("{jwks_uri} holds no RS256 signing key"));
        }
        let lifetime = max_age.unwrap_or(DEFAULT_CACHE).clamp(MIN_CACHE, MAX_CACHE);
        Ok((jwks_uri, keys, lifetime))
    }

    /// GETs a JSON document (bounded in size); returns it with the response's `max-age`.
    async fn get_json(&self, url: &str) -> Result<(Value, Option<Duration>), String> {
        let mut response = self
            .client
            .get(url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("{url} answered {}", response.status()));
        }
        let max_age = response
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok())
            .and_then(max_age);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| format!("{url}: {e}"))? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_DOCUMENT_BYTES {
                return Err(format!("{url} is larger than {MAX_DOCUMENT_BYTES} bytes"));
            }
        }
        let doc = serde_json::from_slice(&body).map_err(|e| format!("{url} is not JSON: {e}"))?;
        Ok((doc, max_age))
    }
}

/// `max-age` of a `Cache-Control` header.
fn max_age(header: &str) -> Option<Duration> {
    header.split(',').find_map(|d| {
        let (name, value) = d.trim().split_once('=')?;
        name.trim().eq_ignore_ascii_case("max-age").then(|| {
            value
                .trim()
                .trim_matches('"')
                .parse()
                .ok()
                .map(Duration::from_secs)
        })?
    })
}

/// The RS256 signing keys of a JWKS (other key types and uses are skipped).
fn parse_jwks(jwks: &Value) -> Vec<(Option<String>, DecodingKey)> {
    let Some(keys) = jwks.get("keys").and_then(Value::as_array) else {
        return Vec::new();
    };
    keys.iter()
        .filter(|k| k.get("kty").and_then(Value::as_str) == Some("RSA"))
        .filter(|k| {
            k.get("use")
                .and_then(Value::as_str)
                .is_none_or(|u| u == "sig")
        })
        .filter(|k| {
            k.get("alg")
                .and_then(Value::as_str)
                .is_none_or(|a| a == "RS256")
        })
        .filter_map(|k| {
            let n = k.get("n")?.as_str()?;
            let e = k.get("e")?.as_str()?;
            let key = DecodingKey::from_rsa_components(n, e).ok()?;
            Some((
                k.get("kid").and_then(Value::as_str).map(str::to_string),
                key,
            ))
        })
        .collect()
}

/// A claim holding names: a space-separated string or a list of strings.
fn words(claim: Option<&Value>) -> Option<Vec<String>> {
    match claim? {
        Value::String(s) => Some(s.split_whitespace().map(str::to_string).collect()),
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
        ),
        _ => None,
    }
}

/// The `iss` of a token, unverified: only to choose how to validate it.
pub fn unverified_issuer(token: &str) -> Option<String> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    #[derive(Deserialize)]
    struct Iss {
        iss: Option<String>,
    }
    serde_json::from_slice::<Iss>(&bytes).ok()?.iss
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refetches_are_rate_limited() {
        let now = Instant::now();
        assert!(fetch_due(false, false, None, now), "first use fetches");
        assert!(
            !fetch_due(true, true, Some(now), now),
            "fresh and known: no fetch"
        );
        let recent = now - Duration::from_secs(5);
        assert!(
            !fetch_due(true, false, Some(recent), now),
            "unknown kid, but fetched 5 s ago"
        );
        assert!(
            !fetch_due(false, true, Some(recent), now),
            "stale, but a fetch was tried 5 s ago"
        );
        let old = now - REFETCH_INTERVAL;
        assert!(
            fetch_due(true, false, Some(old), now),
            "unknown kid, 30 s later"
        );
    }

    #[test]
    fn cache_control_and_claims() {
        assert_eq!(
            max_age("public, max-age=86400"),
            Some(Duration::from_secs(86400))
        );
        assert_eq!(max_age("no-cache"), None);
        assert_eq!(
            words(Some(&serde_json::json!("User.Read  Mail.Send"))),
            Some(vec!["User.Read".into(), "Mail.Send".into()])
        );
        assert_eq!(
            words(Some(&serde_json::json!(["A", "B"]))),
            Some(vec!["A".into(), "B".into()])
        );
        assert_eq!(words(None), None);
    }

    #[test]
    fn issuers_must_be_https_except_loopback() {
        let c = |issuer: &str| TrustedIssuer {
            issuer: issuer.into(),
            audience: "api://switchboard".into(),
            jwks_uri: None,
            tenant: "contoso.example".into(),
            user_claim: default_user_claim(),
            scopes_claim: default_scopes_claim(),
            roles_claim: default_roles_claim(),
        };
        assert!(TrustedIssuers::new(&[c("https://login.example.org/t/v2.0")]).is_ok());
        assert!(TrustedIssuers::new(&[c("http://127.0.0.1:9999/t/v2.0")]).is_ok());
        assert!(TrustedIssuers::new(&[c("http://idp.example.org/t/v2.0")]).is_err());
        assert!(TrustedIssuers::new(&[c("https://a.example"), c("https://a.example")]).is_err());
    }
}
