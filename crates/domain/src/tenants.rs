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
    /// Registered redirect URIs (loopback URIs are always allowed).
    pub redirect_uris: Vec<String>,
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
