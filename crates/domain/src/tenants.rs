//! Tenants, application registrations and token-signing keys: the records behind the identity
//! platform, and the `organization` / `domain` resources Graph serves for a tenant.

use serde::{Deserialize, Serialize};

/// A tenant (an organisation). Every other object belongs to exactly one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    /// The tenant id (GUID), the `tid` of its tokens.
    pub id: String,
    /// The organisation's display name.
    pub display_name: String,
    /// The tenant's verified domain, used in user principal names (`contoso.example`).
    pub domain: String,
    /// Creation instant, epoch milliseconds.
    pub created_ms: i64,
}

/// One client secret of an application, stored hashed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientSecret {
    /// The credential's key id (GUID), as `passwordCredential.keyId`.
    pub key_id: String,
    /// Argon2id PHC hash of the secret.
    pub hash: String,
    /// The first three characters, as Graph's `hint`.
    pub hint: String,
    /// Creation instant, epoch milliseconds.
    pub created_ms: i64,
    /// `passwordCredential.displayName`, when the secret was added through Graph.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Expiry instant (`endDateTime`), epoch milliseconds; `None`: never expires. An expired
    /// secret no longer authenticates.
    #[serde(default)]
    pub end_ms: Option<i64>,
}

/// An application registration: who may obtain tokens, and with which permissions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Application {
    /// The owning tenant.
    pub tenant_id: String,
    /// The application (client) id, the `appid` of its tokens.
    pub client_id: String,
    /// The service principal's object id, the `oid` of its app-only tokens.
    pub object_id: String,
    /// The application's display name (`app_displayname`).
    pub display_name: String,
    /// Client secrets (hashed).
    pub secrets: Vec<ClientSecret>,
    /// Application permissions granted (app-only tokens' `roles`).
    pub app_roles: Vec<String>,
    /// Delegated scopes the application may request for a signed-in user.
    pub delegated_scopes: Vec<String>,
    /// Registered redirect URIs of every platform (loopback URIs are always allowed).
    pub redirect_uris: Vec<String>,
    /// Which of `redirect_uris` were registered as `spa.redirectUris` (the rest, unless public
    /// client, are `web.redirectUris`).
    #[serde(default)]
    pub spa_redirect_uris: Vec<String>,
    /// Which of `redirect_uris` were registered as `publicClient.redirectUris`.
    #[serde(default)]
    pub public_client_redirect_uris: Vec<String>,
    /// Creation instant, epoch milliseconds.
    pub created_ms: i64,
}

/// A token-signing key pair. Kept in the store so every node signs and validates alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKey {
    /// Key id, published in JWKS and written in each token's header.
    pub kid: String,
    /// The private key, PKCS#8 DER.
    pub private_pkcs8: Vec<u8>,
    /// Creation instant, epoch milliseconds.
    pub created_ms: i64,
    /// From this instant the key signs new tokens (it is published before).
    pub activate_ms: i64,
    /// After this instant the key is no longer published or accepted.
    pub retire_ms: Option<i64>,
}

/// What an authorization grant is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantKind {
    /// An authorization code (single use, minutes).
    Code,
    /// A refresh token (single use: each use issues the next one in its family).
    Refresh,
}

impl GrantKind {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantKind::Code => "code",
            GrantKind::Refresh => "refresh",
        }
    }
}

/// An authorization code or refresh token, stored by the hash of its opaque value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// SHA-256 (hex) of the opaque value handed to the client.
    pub id_hash: String,
    /// Code or refresh token.
    pub kind: GrantKind,
    /// Tenant of the user and application.
    pub tenant_id: String,
    /// The application it was issued to.
    pub client_id: String,
    /// The signed-in user.
    pub user_id: String,
    /// Granted scopes, space-separated (Graph scopes and OpenID scopes).
    pub scopes: String,
    /// For codes: the redirect URI the code was sent to (must be repeated when redeeming).
    pub redirect_uri: Option<String>,
    /// For codes: the PKCE challenge.
    pub code_challenge: Option<String>,
    /// For codes: `S256` or `plain`.
    pub code_challenge_method: Option<String>,
    /// For codes: the OpenID nonce to put in the id token.
    pub nonce: Option<String>,
    /// Refresh tokens issued from one sign-in share a family; reuse of a spent one revokes it.
    pub family: String,
    /// Issue instant, epoch ms.
    pub created_ms: i64,
    /// Expiry instant, epoch ms.
    pub expires_ms: i64,
}

/// What redeeming a grant found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(
    clippy::large_enum_variant,
    reason = "made once per token request and matched at once; a box would only add an allocation"
)]
pub enum Redeemed {
    /// Valid and now spent.
    Granted(Grant),
    /// No such grant (or of another kind).
    Unknown,
    /// Past its expiry.
    Expired,
    /// Already spent: its whole family has now been revoked.
    Reused,
}
