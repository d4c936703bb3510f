//! The key ring: RSA key pairs that sign access tokens (RS256), kept in the store so every node
//! signs and validates with the same keys, and published as a JWKS.
//!
//! Keys rotate (see [`crate::rotation`]): a new key is stored with an activation instant in the
//! future, published at once, and signs only from that instant; the key before it stays published
//! (and accepted) until it is retired. The ring reloads from the store on a timer and when a token
//! names a key it does not know, so every node, and keys made by the command line, are seen.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

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

/// The parsed key material of one key (parsed once, shared across reloads).
struct Material {
    pair: KeyPair,
    n: String,
    e: String,
    decoding: DecodingKey,
}

/// One loaded key.
#[derive(Clone)]
struct LoadedKey {
    kid: String,
    material: Arc<Material>,
    activate_ms: i64,
    retire_ms: Option<i64>,
}

impl LoadedKey {
    fn load(record: &SigningKey) -> Result<LoadedKey, Error> {
        let pair = KeyPair::from_pkcs8(&record.private_pkcs8).map_err(|e| {
            Error::internal(format!("signing key {} is unreadable: {e}", record.kid))
        })?;
        let public = pair.public_key();
        let n = URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero());
        let e = URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero());
        let decoding = DecodingKey::from_rsa_components(&n, &e).map_err(|e| {
            Error::internal(format!(
                "signing key {} has no usable public key: {e}",
                record.kid
            ))
        })?;
        Ok(LoadedKey {
            kid: record.kid.clone(),
            material: Arc::new(Material {
                pair,
                n,
                e,
                decoding,
            }),
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
    /// When a token naming an unknown key last made the ring reload.
    last_unknown_kid_reload: Mutex<Option<Instant>>,
    /// One reload at a time.
    reloading: tokio::sync::Mutex<()>,
}

/// What a signing key is doing now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Published, not signing yet (activates later).
    Next,
    /// The key new tokens are signed with.
    Active,
    /// Superseded by a newer key, still published and accepted until retired.
    Previous,
    /// No longer published or accepted.
    Retired,
}

impl KeyState {
    /// Lower-case name, for the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Next => "next",
            KeyState::Active => "active",
            KeyState::Previous => "previous",
            KeyState::Retired => "retired",
        }
    }
}

/// The state of each key of `records` (in the store's order, oldest first) at `now`.
pub fn key_states(records: &[SigningKey], now: i64) -> Vec<KeyState> {
    let published = |k: &SigningKey| k.retire_ms.is_none_or(|r| r > now);
    let active = records
        .iter()
        .rposition(|k| k.activate_ms <= now && published(k));
    records
        .iter()
        .enumerate()
        .map(|(i, k)| {
            if !published(k) {
                KeyState::Retired
            } else if Some(i) == active {
                KeyState::Active
            } else if k.activate_ms > now {
                KeyState::Next
            } else {
                KeyState::Previous
            }
        })
        .collect()
}

/// How often, at most, a token naming an unknown key makes the ring reload from the store.
pub const UNKNOWN_KID_RELOAD: Duration = Duration::from_secs(5);

/// A new 2048-bit RSA key record, active at once.
pub fn generate_key() -> Result<SigningKey, Error> {
    generate_key_activating(now_ms())
}

/// A new 2048-bit RSA key record that signs from `activate_ms` on (published before).
pub fn generate_key_activating(activate_ms: i64) -> Result<SigningKey, Error> {
    let pair = KeyPair::generate(KeySize::Rsa2048)
        .map_err(|_| Error::internal("RSA key generation failed"))?;
    let der = pair
        .as_der()
        .map_err(|_| Error::internal("RSA key encoding failed"))?;
    let mut kid = [0u8; 20];
    aws_lc_rs::rand::fill(&mut kid).map_err(|_| Error::internal("no randomness"))?;
    let now = now_ms();
    Ok(SigningKey {
        kid: URL_SAFE_NO_PAD.encode(kid),
        private_pkcs8: der.as_ref().to_vec(),
        created_ms: now,
        activate_ms: activate_ms.max(now),
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
        let keys = records
            .iter()
            .map(LoadedKey::load)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(KeyRing {
            keys: RwLock::new(keys),
            last_unknown_kid_reload: Mutex::new(None),
            reloading: tokio::sync::Mutex::new(()),
        })
    }

    /// Re-reads the keys from the store: new keys are loaded, activation and retirement
    /// instants refreshed. Returns whether the set of keys changed.
    pub async fn reload(&self, store: &dyn Store) -> Result<bool, Error> {
        let _one_at_a_time = self.reloading.lock().await;
        self.reload_locked(store).await
    }

    async fn reload_locked(&self, store: &dyn Store) -> Result<bool, Error> {
        let records = store.signing_keys().await?;
        let known: HashMap<String, Arc<Material>> = {
            let keys = self
                .keys
                .read()
                .map_err(|_| Error::internal("key ring poisoned"))?;
            keys.iter()
                .map(|k| (k.kid.clone(), k.material.clone()))
                .collect()
        };
        let mut loaded = Vec::with_capacity(records.len());
        for record in &records {
            match known.get(&record.kid) {
                Some(material) => loaded.push(LoadedKey {
                    kid: record.kid.clone(),
                    material: material.clone(),
                    activate_ms: record.activate_ms,
                    retire_ms: record.retire_ms,
                }),
                None => loaded.push(LoadedKey::load(record)?),
            }
        }
        if loaded.is_empty() {
            // A store without keys is not a reason to stop validating the tokens already issued.
            return Ok(false);
        }
        let mut keys = self
            .keys
            .write()
            .map_err(|_| Error::internal("key ring poisoned"))?;
        let changed = keys.len() != loaded.len()
            || keys.iter().zip(&loaded).any(|(a, b)| {
                a.kid != b.kid || a.activate_ms != b.activate_ms || a.retire_ms != b.retire_ms
            });
        *keys = loaded;
        Ok(changed)
    }

    /// Reloads because a token named a key this ring does not know, at most once per
    /// [`UNKNOWN_KID_RELOAD`] however many such tokens arrive (concurrent callers wait for the
    /// one reload in flight). Returns whether a reload happened.
    pub async fn reload_for_unknown_kid(&self, store: &dyn Store) -> bool {
        let _one_at_a_time = self.reloading.lock().await;
        {
            let Ok(mut last) = self.last_unknown_kid_reload.lock() else {
                return false;
            };
            if last.is_some_and(|t| t.elapsed() < UNKNOWN_KID_RELOAD) {
                return false;
            }
            *last = Some(Instant::now());
        }
        self.reload_locked(store).await.is_ok()
    }

    /// Signs `header.payload` with the newest active key; returns the compact JWT.
    pub fn sign(&self, claims: &Value) -> Result<String, Error> {
        let keys = self
            .keys
            .read()
            .map_err(|_| Error::internal("key ring poisoned"))?;
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
        let mut signature = vec![0u8; key.material.pair.public_modulus_len()];
        key.material
            .pair
            .sign(
                &RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| Error::internal("signing failed"))?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }

    /// The public key that verifies tokens with this `kid`, if it is published.
    pub fn decoding_key(&self, kid: &str) -> Option<DecodingKey> {
        let keys = self.keys.read().ok()?;
        let now = now_ms();
        keys.iter()
            .find(|k| k.kid == kid && k.published(now))
            .map(|k| k.material.decoding.clone())
    }

    /// Whether the key with this `kid` is still published (tokens it signed are still accepted).
    pub fn is_published(&self, kid: &str) -> bool {
        let Ok(keys) = self.keys.read() else {
            return false;
        };
        let now = now_ms();
        keys.iter().any(|k| k.kid == kid && k.published(now))
    }

    /// The published keys as a JWKS document.
    pub fn jwks(&self, issuer: &str) -> Value {
        let now = now_ms();
        let keys = self.keys.read().map(|keys| {
            keys.iter()
                .filter(|k| k.published(now))
                .map(|k| json!({ "kty": "RSA", "use": "sig", "alg": "RS256", "kid": k.kid, "x5t": k.kid, "n": k.material.n, "e": k.material.e, "issuer": issuer }))
                .collect::<Vec<_>>()
        });
        json!({ "keys": keys.unwrap_or_default() })
    }
}
