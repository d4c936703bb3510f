//! A bounded memory of access tokens already validated, so a client that sends the same bearer
//! token on every call pays the RS256 signature check (tens of microseconds) once per token
//! instead of once per request.
//!
//! Only what the signature makes permanent is remembered: the claims (as the [`Principal`] they
//! map to), the signing key's id and the validity window. Everything that can change over a
//! token's lifetime is checked again on every hit: the clock against `nbf`/`exp`, and whether the
//! signing key is still published (a retired or revoked key stops its tokens at once). Entries are
//! keyed by the SHA-256 of the token, so a hit means the very same token string was validated.

use std::collections::HashMap;
use std::sync::RwLock;

use aws_lc_rs::digest;
use switchboard_domain::Principal;

/// Tokens remembered at most; when full, expired entries go first, then everything (the next
/// requests re-validate, which is only the cost this cache saves).
pub const CAPACITY: usize = 4096;

/// What a successful validation established, valid while its key is published and the clock is
/// inside `[nbf, exp]`.
#[derive(Clone)]
pub struct Validated {
    /// The caller the token stands for.
    pub principal: Principal,
    /// The signing key that verified it.
    pub kid: String,
    /// `nbf`, seconds.
    pub not_before: i64,
    /// `exp`, seconds.
    pub expires: i64,
}

impl Validated {
    /// Whether the validity window holds at `now` (seconds), with the validator's own rule and
    /// no leeway: expired when `exp < now`, not yet valid when `nbf > now`.
    pub fn current(&self, now: i64) -> bool {
        self.not_before <= now && now <= self.expires
    }
}

type Key = [u8; 32];

/// The cache; one per token validator.
#[derive(Default)]
pub struct ValidatedTokens {
    entries: RwLock<HashMap<Key, Validated>>,
}

fn key(token: &str) -> Key {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, token.as_bytes()).as_ref());
    out
}

impl ValidatedTokens {
    /// The remembered validation of `token`, if any (not checked against the clock or the keys:
    /// the caller does that).
    pub fn get(&self, token: &str) -> Option<Validated> {
        let entries = self.entries.read().ok()?;
        entries.get(&key(token)).cloned()
    }

    /// Remembers a validation that just succeeded at `now` (seconds).
    pub fn insert(&self, token: &str, validated: Validated, now: i64) {
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        if entries.len() >= CAPACITY {
            entries.retain(|_, v| v.current(now));
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(key(token), validated);
    }

    /// Forgets `token` (it failed a re-check).
    pub fn remove(&self, token: &str) {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(&key(token));
        }
    }

    /// How many tokens are remembered.
    pub fn len(&self) -> usize {
        self.entries.read().map(|e| e.len()).unwrap_or(0)
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_domain::principal::PrincipalKind;

    fn validated(nbf: i64, exp: i64) -> Validated {
        Validated {
            principal: Principal {
                tenant_id: "t".into(),
                client_id: "c".into(),
                kind: PrincipalKind::App { roles: vec![] },
            },
            kid: "k".into(),
            not_before: nbf,
            expires: exp,
        }
    }

    #[test]
    fn the_window_follows_the_validators_rule() {
        let v = validated(100, 200);
        assert!(!v.current(99));
        assert!(v.current(100));
        assert!(v.current(200));
        assert!(!v.current(201));
    }

    #[test]
    fn only_the_same_token_hits() {
        let cache = ValidatedTokens::default();
        cache.insert("a.b.c", validated(0, 10), 0);
        assert!(cache.get("a.b.c").is_some());
        assert!(cache.get("a.b.d").is_none());
        cache.remove("a.b.c");
        assert!(cache.get("a.b.c").is_none());
    }

    #[test]
    fn it_stays_bounded() {
        let cache = ValidatedTokens::default();
        for i in 0..CAPACITY + 10 {
            cache.insert(&format!("t{i}"), validated(0, 10), 5);
        }
        assert!(cache.len() <= CAPACITY);
        // Expired entries are dropped first when it is full.
        let cache = ValidatedTokens::default();
        for i in 0..CAPACITY - 1 {
            cache.insert(&format!("old{i}"), validated(0, 1), 0);
        }
        cache.insert("live", validated(0, 100), 0);
        cache.insert("new", validated(0, 100), 50);
        assert_eq!(cache.len(), 2);
        assert!(cache.get("live").is_some());
    }
}
