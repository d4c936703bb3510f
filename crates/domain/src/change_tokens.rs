//! The state tokens of `getAllMessages/delta` and of mail folder message delta: which user's
//! messages, and the last change sequence number the client has seen (plus, for scoped tokens,
//! what else the round is bound to), signed so a client can neither forge nor alter one.
//!
//! Every write of a chat message stamps it with the tenant's next change sequence number (see
//! the store), so "everything that changed since" is "every message with a higher number". A
//! token is `base64url(payload) "." base64url(HMAC-SHA256(secret, payload))`, the payload being
//! `v1|kind|tenant|user|seq|issued_ms`. The secret is made once per database. `$skiptoken`s
//! (mid-round) live a day, `$deltatoken`s thirty days; an older one asks the client to start over.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How long a `$skiptoken` (the next page of a round) stays valid.
pub const PAGE_TOKEN_TTL_MS: i64 = 24 * 3600 * 1000;
/// How long a `$deltatoken` (the start of the next round) stays valid.
pub const DELTA_TOKEN_TTL_MS: i64 = 30 * 24 * 3600 * 1000;

/// Which link a token was made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// `@odata.nextLink` (`$skiptoken`): more of the current round.
    Page,
    /// `@odata.deltaLink` (`$deltatoken`): the next round.
    Delta,
}

impl TokenKind {
    fn tag(self) -> &'static str {
        match self {
            TokenKind::Page => "p",
            TokenKind::Delta => "d",
        }
    }

    fn ttl(self) -> i64 {
        match self {
            TokenKind::Page => PAGE_TOKEN_TTL_MS,
            TokenKind::Delta => DELTA_TOKEN_TTL_MS,
        }
    }
}

/// What a token carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeToken {
    /// Next page or next round.
    pub kind: TokenKind,
    /// The tenant.
    pub tenant_id: String,
    /// The user whose chats' messages are tracked.
    pub user_id: String,
    /// The last change sequence number already delivered.
    pub seq: i64,
    /// When the token was issued, epoch ms.
    pub issued_ms: i64,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Not a token this server issued (or altered since).
    Invalid,
    /// Issued here, but too long ago.
    Expired,
}

fn mac(secret: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut m =
        <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes keys of any length");
    m.update(payload);
    m.finalize().into_bytes().to_vec()
}

/// Signs a token.
pub fn sign(secret: &[u8], token: &ChangeToken) -> String {
    seal(secret, &payload(token))
}

/// Signs a token that also carries a scope (what else the round is bound to, e.g. a mail
/// folder and the round's query options). Scoped and unscoped tokens never verify as each other.
pub fn sign_scoped(secret: &[u8], token: &ChangeToken, scope: &str) -> String {
    seal(secret, &format!("{}|{scope}", payload(token)))
}

fn payload(token: &ChangeToken) -> String {
    format!(
        "v1|{}|{}|{}|{}|{}",
        token.kind.tag(),
        token.tenant_id,
        token.user_id,
        token.seq,
        token.issued_ms
    )
}

fn seal(secret: &[u8], payload: &str) -> String {
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(payload.as_bytes()),
        URL_SAFE_NO_PAD.encode(mac(secret, payload.as_bytes()))
    )
}

/// The payload of a token whose signature holds.
fn open(secret: &[u8], text: &str) -> Result<String, TokenError> {
    let (payload, signature) = text.split_once('.').ok_or(TokenError::Invalid)?;
    let payload = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| TokenError::Invalid)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| TokenError::Invalid)?;
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret).map_err(|_| TokenError::Invalid)?;
    m.update(&payload);
    m.verify_slice(&signature)
        .map_err(|_| TokenError::Invalid)?;
    String::from_utf8(payload).map_err(|_| TokenError::Invalid)
}

fn parse(parts: &[&str], kind: TokenKind, now_ms: i64) -> Result<ChangeToken, TokenError> {
    let ["v1", tag, tenant, user, seq, issued] = parts else {
        return Err(TokenError::Invalid);
    };
    if *tag != kind.tag() {
        return Err(TokenError::Invalid);
    }
    let token = ChangeToken {
        kind,
        tenant_id: tenant.to_string(),
        user_id: user.to_string(),
        seq: seq.parse().map_err(|_| TokenError::Invalid)?,
        issued_ms: issued.parse().map_err(|_| TokenError::Invalid)?,
    };
    if now_ms.saturating_sub(token.issued_ms) > kind.ttl() {
        return Err(TokenError::Expired);
    }
    Ok(token)
}

/// Checks a token's signature, kind and age.
pub fn verify(
    secret: &[u8],
    text: &str,
    kind: TokenKind,
    now_ms: i64,
) -> Result<ChangeToken, TokenError> {
    let payload = open(secret, text)?;
    let parts: Vec<&str> = payload.split('|').collect();
    parse(&parts, kind, now_ms)
}

/// Checks a scoped token's signature, kind and age; returns it with its scope.
pub fn verify_scoped(
    secret: &[u8],
    text: &str,
    kind: TokenKind,
    now_ms: i64,
) -> Result<(ChangeToken, String), TokenError> {
    let payload = open(secret, text)?;
    let parts: Vec<&str> = payload.splitn(7, '|').collect();
    let [head @ .., scope] = parts.as_slice() else {
        return Err(TokenError::Invalid);
    };
    if parts.len() != 7 {
        return Err(TokenError::Invalid);
    }
    Ok((parse(head, kind, now_ms)?, scope.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(kind: TokenKind) -> ChangeToken {
        ChangeToken {
            kind,
            tenant_id: "t".into(),
            user_id: "u".into(),
            seq: 42,
            issued_ms: 1_000,
        }
    }

    #[test]
    fn round_trip_and_refusals() {
        let secret = b"0123456789abcdef0123456789abcdef";
        let text = sign(secret, &token(TokenKind::Delta));
        assert_eq!(
            verify(secret, &text, TokenKind::Delta, 2_000),
            Ok(token(TokenKind::Delta))
        );
        // The wrong kind, another secret, an altered payload, garbage.
        assert_eq!(
            verify(secret, &text, TokenKind::Page, 2_000),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            verify(b"another secret", &text, TokenKind::Delta, 2_000),
            Err(TokenError::Invalid)
        );
        let (_, sig) = text.split_once('.').unwrap();
        let forged = format!("{}.{sig}", URL_SAFE_NO_PAD.encode("v1|d|t|u|1|1000"));
        assert_eq!(
            verify(secret, &forged, TokenKind::Delta, 2_000),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            verify(secret, "garbage", TokenKind::Delta, 2_000),
            Err(TokenError::Invalid)
        );
        // A scoped token carries its scope and is no unscoped one, nor the reverse.
        let scoped = sign_scoped(secret, &token(TokenKind::Delta), "folder|with|bars");
        assert_eq!(
            verify_scoped(secret, &scoped, TokenKind::Delta, 2_000),
            Ok((token(TokenKind::Delta), "folder|with|bars".to_string()))
        );
        assert_eq!(
            verify(secret, &scoped, TokenKind::Delta, 2_000),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            verify_scoped(secret, &text, TokenKind::Delta, 2_000),
            Err(TokenError::Invalid)
        );
        // Too old.
        assert_eq!(
            verify(
                secret,
                &text,
                TokenKind::Delta,
                1_000 + DELTA_TOKEN_TTL_MS + 1
            ),
            Err(TokenError::Expired)
        );
        // The age of a token issued at the far end of time saturates instead of overflowing
        // (found by the `tokens_expire` property; the server never signs such a time).
        let ancient = ChangeToken {
            issued_ms: i64::MIN,
            ..token(TokenKind::Delta)
        };
        assert_eq!(
            verify(secret, &sign(secret, &ancient), TokenKind::Delta, i64::MAX),
            Err(TokenError::Expired)
        );
        let page = sign(secret, &token(TokenKind::Page));
        assert_eq!(
            verify(
                secret,
                &page,
                TokenKind::Page,
                1_000 + PAGE_TOKEN_TTL_MS + 1
            ),
            Err(TokenError::Expired)
        );
    }
}
