//! Configuration: compiled defaults, then a TOML file, then `SWITCHBOARD_*` environment
//! variables, then command-line flags, each overriding the one before. One typed value, checked
//! at start and passed down; nothing reads configuration from anywhere else.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use switchboard_auth::{RotationPolicy, TrustedIssuer};

/// Everything `switchboard serve` can be told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address and port to listen on. Loopback by default, so a fresh install is not reachable
    /// from the network until you say so.
    pub listen: String,
    /// Directory holding the database, the signing keys and `admin-credentials.json`.
    pub data_dir: PathBuf,
    /// The URL clients reach this server at, used in `@odata.nextLink`, `Location` and the
    /// credentials file. Unset: taken from each request's `Host` header.
    pub public_url: Option<String>,
    /// Serve HTTPS (Graph and the identity endpoints) instead of plain HTTP. Without `tls_cert`
    /// and `tls_key`, a self-signed certificate is generated on first start and kept in
    /// `<data_dir>/tls/`.
    pub tls: bool,
    /// PEM certificate chain to serve with `tls` (leaf first); needs `tls_key`.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// The verified domain of the tenant created on first start (user principal names end in it).
    pub tenant_domain: String,
    /// Display name of the tenant created on first start.
    pub tenant_name: String,
    /// Lifetime of issued access tokens, in seconds (the identity platform's is about an hour).
    pub token_lifetime_secs: i64,
    /// Lifetime of an authorization code, in seconds (the identity platform's is ten minutes).
    pub authorization_code_lifetime_secs: i64,
    /// Signing keys rotate when the newest is this many days old (fractions allowed); `0` turns
    /// automatic rotation off (`switchboard keys rotate` still works).
    pub key_rotation_days: f64,
    /// A new signing key is published in the JWKS this many seconds before it signs.
    pub key_publish_lead_secs: i64,
    /// Largest request body accepted, in bytes (Graph's own limit is 4 MB).
    pub max_body_bytes: usize,
    /// Argon2id memory cost for passwords and client secrets, in KiB. Lower only for tests.
    pub hash_memory_kib: u32,
    /// Argon2id passes for passwords and client secrets.
    pub hash_iterations: u32,
    /// Read-only SQLite connections serving reads concurrently with the writer.
    pub sqlite_readers: usize,
    /// Log filter (`info`, `debug`, `switchboard_api=debug,info`, …); `RUST_LOG` overrides it.
    pub log: String,
    /// On first start, seed a fictional organisation (users with passwords, listed in
    /// `<data-dir>/sample-users.json`) so a newcomer can sign in at once.
    pub sample_data: bool,
    /// Other OpenID Connect issuers whose access tokens Graph routes accept, for users of a
    /// Switchboard tenant.
    pub trusted_issuers: Vec<TrustedIssuer>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./switchboard-data"),
            public_url: None,
            tls: false,
            tls_cert: None,
            tls_key: None,
            tenant_domain: "switchboard.example".into(),
            tenant_name: "Switchboard".into(),
            token_lifetime_secs: 3599,
            authorization_code_lifetime_secs: 600,
            key_rotation_days: 30.0,
            key_publish_lead_secs: 3600,
            max_body_bytes: 4 * 1024 * 1024,
            hash_memory_kib: 19 * 1024,
            hash_iterations: 2,
            sqlite_readers: 4,
            log: "info".into(),
            sample_data: false,
            trusted_issuers: Vec::new(),
        }
    }
}

/// Flags given on the command line; only those set override the layers below.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Overrides {
    /// `--listen`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    /// `--data-dir`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// `--public-url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    /// `--tls`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<bool>,
    /// `--sample-data`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample_data: Option<bool>,
}

/// Every configuration key.
const KEYS: &[&str] = &[
    "listen",
    "data_dir",
    "public_url",
    "tls",
    "tls_cert",
    "tls_key",
    "tenant_domain",
    "tenant_name",
    "token_lifetime_secs",
    "authorization_code_lifetime_secs",
    "key_rotation_days",
    "key_publish_lead_secs",
    "max_body_bytes",
    "hash_memory_kib",
    "hash_iterations",
    "sqlite_readers",
    "log",
    "sample_data",
    "trusted_issuers",
];

impl Config {
    /// Loads the layered configuration.
    #[allow(
        clippy::result_large_err,
        reason = "figment's own error, returned once at start-up"
    )]
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, figment::Error> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            if !file.exists() {
                return Err(figment::Error::from(format!(
                    "config file {} does not exist",
                    file.display()
                )));
            }
            figment = figment.merge(Toml::file(file));
        }
        figment
            // Only the documented keys: other SWITCHBOARD_* variables (a test harness's, say) are not config.
            .merge(Env::prefixed("SWITCHBOARD_").only(KEYS))
            .merge(Serialized::defaults(overrides))
            .extract()
    }

    /// The signing-key rotation policy, checked.
    pub fn rotation_policy(&self) -> anyhow::Result<RotationPolicy> {
        anyhow::ensure!(
            self.key_rotation_days.is_finite() && self.key_rotation_days >= 0.0,
            "key_rotation_days must be a number of days, 0 or more"
        );
        anyhow::ensure!(
            self.key_publish_lead_secs >= 0,
            "key_publish_lead_secs must be 0 or more"
        );
        Ok(RotationPolicy::new(
            self.key_rotation_days,
            self.key_publish_lead_secs,
            self.token_lifetime_secs,
        ))
    }

    /// The example configuration file: every key with its default and its documentation.
    pub fn example() -> String {
        let d = Config::default();
        format!(
            r#"# Switchboard configuration. Every key is optional; the values shown are the defaults.
# Precedence: defaults < this file (--config) < SWITCHBOARD_<KEY> environment variables < flags.

# Address and port to listen on. Loopback by default, so a fresh install is not reachable from
# the network until you say so. (--listen, SWITCHBOARD_LISTEN)
listen = "{listen}"

# Directory holding the database, the signing keys and admin-credentials.json.
# (--data-dir, SWITCHBOARD_DATA_DIR)
data_dir = "{data_dir}"

# The URL clients reach this server at, used in @odata.nextLink, Location and the credentials
# file. Unset: taken from each request's Host header. (--public-url, SWITCHBOARD_PUBLIC_URL)
# public_url = "https://graph.example.org"

# Serve HTTPS (Graph and the identity endpoints) instead of plain HTTP. Without tls_cert and
# tls_key, a self-signed certificate for localhost, 127.0.0.1, ::1 and the host of public_url is
# generated on first start, kept in <data_dir>/tls/cert.pem and key.pem, and reused afterwards:
# clients trust that cert.pem. (--tls, SWITCHBOARD_TLS)
tls = {tls}

# Your own PEM certificate chain (leaf first) and its private key, served with tls = true instead
# of the generated certificate. (SWITCHBOARD_TLS_CERT, SWITCHBOARD_TLS_KEY)
# tls_cert = "/etc/switchboard/fullchain.pem"
# tls_key = "/etc/switchboard/privkey.pem"

# The verified domain of the tenant created on first start (user principal names end in it).
tenant_domain = "{tenant_domain}"

# Display name of the tenant created on first start.
tenant_name = "{tenant_name}"

# Lifetime of issued access tokens, in seconds.
token_lifetime_secs = {token_lifetime_secs}

# Lifetime of an authorization code (sign-in page → token endpoint), in seconds.
authorization_code_lifetime_secs = {authorization_code_lifetime_secs}

# Signing keys rotate: a new key is made when the newest is this many days old (fractions
# allowed; 0 turns automatic rotation off, leaving `switchboard keys rotate`). The new key is
# published in the JWKS key_publish_lead_secs before it signs, and the key it replaces stays
# published until every token it signed has expired, then it is retired.
key_rotation_days = {key_rotation_days}

# How long a new signing key is published before it signs, in seconds: at least as long as
# anyone validating Switchboard's tokens caches its JWKS.
key_publish_lead_secs = {key_publish_lead_secs}

# Largest request body accepted, in bytes.
max_body_bytes = {max_body_bytes}

# Argon2id cost for passwords and client secrets: memory in KiB and passes. Lower only for tests.
hash_memory_kib = {hash_memory_kib}
hash_iterations = {hash_iterations}

# Read-only SQLite connections serving reads concurrently with the single writer.
sqlite_readers = {sqlite_readers}

# Log filter; RUST_LOG overrides it.
log = "{log}"

# On first start, seed a fictional organisation: users with passwords, listed in
# <data-dir>/sample-users.json, so you can sign in at once. (--sample-data)
sample_data = {sample_data}

# Access tokens from other OpenID Connect issuers that Graph routes also accept, for users of a
# Switchboard tenant (see docs/identity.md). One [[trusted_issuers]] table per issuer; in TOML,
# tables come after every plain key.
# [[trusted_issuers]]
# issuer = "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0"
# audience = "api://switchboard"
# tenant = "switchboard.example"      # the Switchboard tenant (id or domain) its users belong to
# jwks_uri = "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/discovery/v2.0/keys"
#                                     # optional: else found in {{issuer}}/.well-known/openid-configuration
# user_claim = "preferred_username"   # matched to userPrincipalName; "oid" matches the object id
# scopes_claim = "scp"                # delegated scopes, space-separated
# roles_claim = "roles"               # application roles
"#,
            listen = d.listen,
            data_dir = d.data_dir.display(),
            tls = d.tls,
            tenant_domain = d.tenant_domain,
            tenant_name = d.tenant_name,
            token_lifetime_secs = d.token_lifetime_secs,
            authorization_code_lifetime_secs = d.authorization_code_lifetime_secs,
            key_rotation_days = d.key_rotation_days,
            key_publish_lead_secs = d.key_publish_lead_secs,
            max_body_bytes = d.max_body_bytes,
            hash_memory_kib = d.hash_memory_kib,
            hash_iterations = d.hash_iterations,
            sqlite_readers = d.sqlite_readers,
            log = d.log,
            sample_data = d.sample_data,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed example must be exactly what the code documents, so they cannot drift.
    #[test]
    fn example_file_is_current() {
        let committed = include_str!("../../../config.example.toml");
        assert_eq!(
            committed,
            Config::example(),
            "run `switchboard config example > config.example.toml`"
        );
        let parsed: Config = toml_parse(&Config::example());
        assert_eq!(parsed, Config::default());
    }

    fn toml_parse(text: &str) -> Config {
        Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::string(text))
            .extract()
            .unwrap()
    }

    #[test]
    fn layers_override_in_order() {
        let dir = std::env::temp_dir().join(format!("sb-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("c.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:1\"\ntoken_lifetime_secs = 10\n",
        )
        .unwrap();
        let flags = Overrides {
            listen: Some("127.0.0.1:2".into()),
            ..Overrides::default()
        };
        let c = Config::load(Some(&file), &flags).unwrap();
        assert_eq!(c.listen, "127.0.0.1:2");
        assert_eq!(c.token_lifetime_secs, 10);
        std::fs::write(&file, "nonsense_key = 1\n").unwrap();
        assert!(Config::load(Some(&file), &Overrides::default()).is_err());
    }
}
