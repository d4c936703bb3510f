//! Access tokens: the claims Switchboard puts in them (Graph's v1.0 token shape: `aud`, `iss`,
//! `tid`, `appid`, `oid`, `roles` or `scp`, …) and their validation on every Graph call.

use std::sync::Arc;

use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;
use serde_json::{Value, json};
use switchboard_domain::principal::PrincipalKind;
use switchboard_domain::tenants::{Application, Tenant};
use switchboard_domain::users::UserRecord;
use switchboard_domain::{Error, Principal, Store};

use crate::external::{TrustedIssuers, unverified_issuer};
use crate::keys::KeyRing;
use crate::validated::{Validated, ValidatedTokens};

/// The audiences Graph tokens carry (`aud`): the resource URI or Graph's application id.
pub const GRAPH_AUDIENCES: [&str; 2] = [
    "https://graph.microsoft.com",
    "00000003-0000-0000-c000-000000000000",
];

/// The issuer Graph's v1.0 access tokens name for a tenant.
pub fn issuer(tenant_id: &str) -> String {
    format!("https://sts.windows.net/{tenant_id}/")
}

/// Issues and validates access tokens.
pub struct TokenIssuer {
    ring: Arc<KeyRing>,
    /// Lifetime of an access token, seconds.
    pub lifetime_secs: i64,
    /// Other issuers whose tokens Graph routes accept.
    trusted: Option<TrustedIssuers>,
    /// Own tokens whose signature was already verified.
    validated: ValidatedTokens,
}

#[derive(Deserialize)]
struct Claims {
    tid: String,
    appid: String,
    iss: String,
    #[serde(default)]
    oid: Option<String>,
    #[serde(default)]
    idtyp: Option<String>,
    #[serde(default)]
    scp: Option<String>,
    #[serde(default)]
    roles: Option<Vec<String>>,
    // Required (and checked) by the validation; read again only to remember the window.
    #[serde(default)]
    exp: Option<serde_json::Number>,
    #[serde(default)]
    nbf: Option<serde_json::Number>,
}

fn now_secs() -> i64 {
    switchboard_domain::graph_time::now_ms() / 1000
}

impl TokenIssuer {
    /// An issuer signing with `ring`.
    pub fn new(ring: Arc<KeyRing>, lifetime_secs: i64) -> TokenIssuer {
        TokenIssuer {
            ring,
            lifetime_secs,
            trusted: None,
            validated: ValidatedTokens::default(),
        }
    }

    /// Also accepts tokens from these external issuers.
    pub fn with_trusted_issuers(mut self, trusted: TrustedIssuers) -> TokenIssuer {
        self.trusted = Some(trusted).filter(|t| !t.is_empty());
        self
    }

    /// The key ring (for JWKS).
    pub fn ring(&self) -> &KeyRing {
        &self.ring
    }

    fn base_claims(
        &self,
        tenant: &Tenant,
        app: &Application,
        idtyp: &str,
    ) -> serde_json::Map<String, Value> {
        let now = now_secs();
        let mut claims = serde_json::Map::new();
        for (k, v) in [
            ("aud", json!(GRAPH_AUDIENCES[0])),
            ("iss", json!(issuer(&tenant.id))),
            ("iat", json!(now)),
            ("nbf", json!(now)),
            ("exp", json!(now + self.lifetime_secs)),
            ("app_displayname", json!(app.display_name)),
            ("appid", json!(app.client_id)),
            ("appidacr", json!("1")),
            ("idp", json!(issuer(&tenant.id))),
            ("idtyp", json!(idtyp)),
            ("tid", json!(tenant.id)),
            ("uti", json!(uuid::Uuid::new_v4().simple().to_string())),
            ("ver", json!("1.0")),
        ] {
            claims.insert(k.into(), v);
        }
        claims
    }

    /// An app-only token carrying the application's roles.
    pub fn issue_app(&self, tenant: &Tenant, app: &Application) -> Result<String, Error> {
        let mut claims = self.base_claims(tenant, app, "app");
        claims.insert("oid".into(), json!(app.object_id));
        claims.insert("sub".into(), json!(app.object_id));
        claims.insert("roles".into(), json!(app.app_roles));
        self.ring.sign(&Value::Object(claims))
    }

    /// A delegated token for `user` signed in to `app`, with the granted scopes.
    pub fn issue_user(
        &self,
        tenant: &Tenant,
        app: &Application,
        user: &UserRecord,
        scopes: &[String],
    ) -> Result<String, Error> {
        let mut claims = self.base_claims(tenant, app, "user");
        claims.insert("oid".into(), json!(user.id));
        claims.insert("sub".into(), json!(user.id));
        claims.insert("scp".into(), json!(scopes.join(" ")));
        claims.insert("upn".into(), json!(user.user_principal_name));
        claims.insert("unique_name".into(), json!(user.user_principal_name));
        claims.insert("name".into(), json!(user.display_name));
        if let Some(g) = &user.given_name {
            claims.insert("given_name".into(), json!(g));
        }
        if let Some(s) = &user.surname {
            claims.insert("family_name".into(), json!(s));
        }
        self.ring.sign(&Value::Object(claims))
    }

    /// An OpenID Connect id token (v2.0 shape) for `user` signed in to `app`, issued by this
    /// server's `{base_url}/{tenant}/v2.0` (the issuer its discovery document names).
    pub fn issue_id_token(
        &self,
        tenant: &Tenant,
        app: &Application,
        user: &UserRecord,
        base_url: &str,
        nonce: Option<&str>,
    ) -> Result<String, Error> {
        let now = now_secs();
        let mut claims = json!({
            "aud": app.client_id,
            "iss": format!("{base_url}/{}/v2.0", tenant.id),
            "iat": now,
            "nbf": now,
            "exp": now + self.lifetime_secs,
            "name": user.display_name,
            "oid": user.id,
            "preferred_username": user.user_principal_name,
            "sub": user.id,
            "tid": tenant.id,
            "ver": "2.0",
        });
        if let Some(nonce) = nonce {
            claims["nonce"] = json!(nonce);
        }
        if let Some(mail) = &user.mail {
            claims["email"] = json!(mail);
        }
        self.ring.sign(&claims)
    }

    /// Validates a bearer token and returns the principal it stands for, or the 401 Graph gives.
    /// Tokens whose `iss` names a trusted external issuer are validated against that issuer's
    /// keys and mapped to a user of `store`; any other token must be one of Switchboard's own.
    pub async fn validate(&self, token: &str, store: &dyn Store) -> Result<Principal, Error> {
        if token.is_empty() {
            return Err(Error::unauthenticated("Access token is empty."));
        }
        // A token already verified here: only what can change since is checked again. Only own
        // tokens are remembered (see below), so external issuers' checks always run.
        if let Some(hit) = self.validated.get(token) {
            let now = now_secs();
            if hit.current(now) && self.ring.is_published(&hit.kid) {
                return Ok(hit.principal);
            }
            // Expired, not yet valid or its key retired: the full validation gives the error.
            self.validated.remove(token);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| {
            Error::unauthenticated("CompactToken parsing failed with error code: 80049217")
        })?;
        // Never trust the header's algorithm: only RS256 is issued, so only RS256 is accepted.
        if header.alg != Algorithm::RS256 {
            return Err(Error::unauthenticated(
                "Access token validation failure. Invalid signing algorithm.",
            ));
        }
        if let Some(trusted) = &self.trusted {
            // The unverified issuer only chooses the validator; that validator checks it again.
            if let Some(iss) = unverified_issuer(token).filter(|iss| trusted.trusts(iss)) {
                return trusted.validate(token, &header, &iss, store).await;
            }
        }
        let unknown =
            || Error::unauthenticated("Access token validation failure. Unknown signing key.");
        let kid = header.kid.as_deref().ok_or_else(unknown)?;
        let key = match self.ring.decoding_key(kid) {
            Some(key) => key,
            None => {
                // Perhaps a key another node (or the command line) made since the last reload.
                self.ring.reload_for_unknown_kid(store).await;
                self.ring.decoding_key(kid).ok_or_else(unknown)?
            }
        };
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&GRAPH_AUDIENCES);
        validation.set_required_spec_claims(&["exp", "nbf", "aud", "iss"]);
        validation.leeway = 0;
        validation.validate_nbf = true;
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            match e.kind() {
                K::ExpiredSignature | K::ImmatureSignature => {
                    Error::unauthenticated("Access token has expired or is not yet valid.")
                }
                K::InvalidAudience => {
                    Error::unauthenticated("Access token validation failure. Invalid audience.")
                }
                K::InvalidSignature => {
                    Error::unauthenticated("Access token validation failure. Invalid signature.")
                }
                _ => Error::unauthenticated("Access token validation failure."),
            }
        })?;
        let c = data.claims;
        if c.iss != issuer(&c.tid) {
            return Err(Error::unauthenticated(
                "Access token validation failure. Invalid issuer.",
            ));
        }
        let kind = match (c.idtyp.as_deref(), c.scp, c.oid) {
            (Some("user"), Some(scp), Some(oid)) | (None, Some(scp), Some(oid)) => {
                PrincipalKind::User {
                    user_id: oid,
                    scopes: scp.split_whitespace().map(str::to_string).collect(),
                }
            }
            (Some("app") | None, None, _) => PrincipalKind::App {
                roles: c.roles.unwrap_or_default(),
            },
            _ => {
                return Err(Error::unauthenticated(
                    "Access token validation failure. Inconsistent claims.",
                ));
            }
        };
        let principal = Principal {
            tenant_id: c.tid,
            client_id: c.appid,
            kind,
        };
        if let (Some(not_before), Some(expires)) = (
            c.nbf.as_ref().and_then(serde_json::Number::as_i64),
            c.exp.as_ref().and_then(serde_json::Number::as_i64),
        ) {
            self.validated.insert(
                token,
                Validated {
                    principal: principal.clone(),
                    kid: kid.to_string(),
                    not_before,
                    expires,
                },
                now_secs(),
            );
        }
        Ok(principal)
    }
}
