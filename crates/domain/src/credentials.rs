//! Secrets: generating client secrets, and hashing passwords and secrets with Argon2id (PHC
//! strings). Hashing is CPU-heavy by design, so async callers run it on a blocking thread.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use rand::RngCore;

/// Argon2id cost parameters. The defaults follow OWASP's minimum (19 MiB, 2 passes); tests and
/// benchmarks may lower them through configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashCost {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over memory.
    pub iterations: u32,
}

impl Default for HashCost {
    fn default() -> Self {
        HashCost {
            memory_kib: 19 * 1024,
            iterations: 2,
        }
    }
}

fn argon(cost: HashCost) -> Argon2<'static> {
    let params =
        Params::new(cost.memory_kib.max(8), cost.iterations.max(1), 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password or secret into a PHC string.
pub fn hash(secret: &str, cost: HashCost) -> String {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    // Encoding 16 random bytes as a salt cannot fail; fall back to a fixed-length alphabet if the
    // library ever disagrees, rather than panicking.
    let salt = SaltString::encode_b64(&salt)
        .unwrap_or_else(|_| SaltString::from_b64("c2FsdHNhbHRzYWx0").expect("static salt"));
    argon(cost)
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .unwrap_or_default()
}

/// Whether `secret` matches the PHC string `phc` (parameters are read from the string).
pub fn verify(secret: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(secret.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A new client secret: 40 characters from a URL-safe alphabet, as the identity platform's are
/// about that long.
pub fn new_client_secret() -> String {
    let mut bytes = [0u8; 30];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let cheap = HashCost {
            memory_kib: 64,
            iterations: 1,
        };
        let h = hash("s3cret!", cheap);
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("s3cret!", &h));
        assert!(!verify("s3cret?", &h));
        assert!(!verify("s3cret!", "not a hash"));
        assert_ne!(new_client_secret(), new_client_secret());
        assert_eq!(new_client_secret().len(), 40);
    }
}
