//! Fuzzes delta tokens, which clients hand back in `$skiptoken` / `$deltatoken` (attacker
//! controlled). Two modes, by the first byte:
//!
//! - the rest is a token text: it must never verify (the fuzzer does not know the secret), as
//!   a plain or a scoped token, of either kind, and must not panic;
//! - the rest edits a genuine token (position and replacement byte pairs): the edited token
//!   must verify only if it equals the original.

#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard_domain::change_tokens::{
    ChangeToken, TokenKind, sign, sign_scoped, verify, verify_scoped,
};

const SECRET: &[u8] = b"fuzzing-secret-0123456789abcdef!";
const NOW: i64 = 1_700_000_000_000;

fn token() -> ChangeToken {
    ChangeToken {
        kind: TokenKind::Delta,
        tenant_id: "9188040d-6c67-4c5b-b112-36a304b66dad".into(),
        user_id: "b0f7d2a1-2c3e-4f5a-8b9c-0d1e2f3a4b5c".into(),
        seq: 4242,
        issued_ms: NOW - 1000,
    }
}

fn accepted(text: &str) -> bool {
    [TokenKind::Page, TokenKind::Delta].into_iter().any(|kind| {
        verify(SECRET, text, kind, NOW).is_ok() || verify_scoped(SECRET, text, kind, NOW).is_ok()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        if let Ok(text) = std::str::from_utf8(rest) {
            assert!(!accepted(text), "forged token accepted: {text:?}");
        }
        return;
    }
    let original = if mode % 4 == 1 {
        sign(SECRET, &token())
    } else {
        sign_scoped(SECRET, &token(), "folder|$select=subject")
    };
    let mut bytes = original.clone().into_bytes();
    for edit in rest.chunks_exact(2) {
        let at = edit[0] as usize % (bytes.len() + 1);
        if at == bytes.len() {
            bytes.push(edit[1]);
        } else {
            bytes[at] = edit[1];
        }
    }
    let Ok(text) = String::from_utf8(bytes) else {
        return;
    };
    if text != original {
        assert!(
            !accepted(&text),
            "{original:?} edited to {text:?} still verifies"
        );
    } else {
        assert!(accepted(&text));
    }
});
