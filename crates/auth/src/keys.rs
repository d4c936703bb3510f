//! The key ring: RSA key pairs that sign access tokens (RS256), kept in the store so every node
//! signs and validates with the same keys, and published as a JWKS.

use std::sync::RwLock;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use serde_json::{Value, json};
use switchboard_domain::graph_time::now_ms;
use switchboard_domain::tenants::SigningKey;
use switchboard_domain::{Error, Store};

/// One loaded key.
struct LoadedKey {
    kid: String,
    pair: KeyPair,
    n: String,
    e: String,
    decoding: DecodingKey,
    activate_ms: i64,
    retire_ms: Option<i64>,
}

impl LoadedKey {
    fn load(record: &SigningKey) -> Result<LoadedKey, Error> {
        let pair = KeyPair::from_pkcs8(&record.private_pkcs8)
            .map_err(|e| Error::internal(format!("signing key {} is unreadable: {e}", record.kid)))?;
        let public = pair.public_key();
        let n = URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero());
        let e = URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero());
        let decoding = DecodingKey::from_rsa_components(&n, &e)
            .map_err(|e| Error::internal(format!("signing key {} has no usable public key: {e}", record.kid)))?;
        Ok(LoadedKey {
            kid: record.kid.clone(),
            pair,
            n,
            e,
            decoding,
            activate_ms: record.activate_ms,
            retire_ms: record.retire_ms,
        })
    }

    fn published(&self, now: i64) -> bool {
        self.retire_ms.is_none_or(|r| r > now)
    }
}

/// The signing keys, newest last.
pub struct KeyRing {
    keys: RwLock<Vec<LoadedKey>>,
}

/// A new 2048-bit RSA key record, active at once.
pub fn generate_key() -> Result<SigningKey, Error> {
    let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| Error::internal("RSA key generation failed"))?;
    let der = pair.as_der().map_err(|_| Error::internal("RSA key encoding failed"))?;
    let mut kid = [0u8; 20];
    aws_lc_rs::rand::fill(&mut kid).map_err(|_| Error::internal("no randomness"))?;
    let now = now_ms();
    Ok(SigningKey {
        kid: URL_SAFE_NO_PAD.encode(kid),
        private_pkcs8: der.as_ref().to_vec(),
        created_ms: now,
        activate_ms: now,
        retire_ms: None,
    })
}

impl KeyRing {
    /// Loads the store's keys, creating the first one if there is none.
    pub async fn load_or_create(store: &dyn Store) -> Result<KeyRing, Error> {
        let mut records = store.signing_keys().await?;
        if records.is_empty() {
            let key = tokio::task::spawn_blocking(generate_key)
                .await
                .map_err(|_| Error::internal("key generation task failed"))??;
            store.insert_signing_key(&key).await?;
            records = store.signing_keys().await?;
        }
        let keys = records.iter().map(LoadedKey::load).collect::<Result<Vec<_>, _>>()?;
        Ok(KeyRing { keys: RwLock::new(keys) })
    }

    /// Signs `header.payload` with the newest active key; returns the compact JWT.
    pub fn sign(&self, claims: &Value) -> Result<String, Error> {
        let keys = self.keys.read().map_err(|_| Error::internal("key ring poisoned"))?;
        let now = now_ms();
        let key = keys
            .iter()
            .rev()
            .find(|k| k.activate_ms <= now && k.published(now))
            .ok_or_else(|| Error::internal("no active signing key"))?;
        let header = json!({ "typ": "JWT", "alg": "RS256", "x5t": key.kid, "kid": key.kid });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0u8; key.pair.public_modulus_len()];
        key.pair
            .sign(&RSA_PKCS1_SHA256, &aws_lc_rs::rand::SystemRandom::new(), signing_input.as_bytes(), &mut signature)
            .map_err(|_| Error::internal("signing failed"))?;
        Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }

    /// The public key that verifies tokens with this `kid`, if it is published.
    pub fn decoding_key(&self, kid: &str) -> Option<DecodingKey> {
        let keys = self.keys.read().ok()?;
        let now = now_ms();
        keys.iter().find(|k| k.kid == kid && k.published(now)).map(|k| k.decoding.clone())
    }

    /// The published keys as a JWKS document.
    pub fn jwks(&self, issuer: &str) -> Value {
        let now = now_ms();
        let keys = self.keys.read().map(|keys| {
            keys.iter()
                .filter(|k| k.published(now))
                .map(|k| json!({ "kty": "RSA", "use": "sig", "alg": "RS256", "kid": k.kid, "x5t": k.kid, "n": k.n, "e": k.e, "issuer": issuer }))
                .collect::<Vec<_>>()
        });
        json!({ "keys": keys.unwrap_or_default() })
    }
}
