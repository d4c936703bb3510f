//! Fuzzes the ids and cursors that arrive in URLs: chat message ids, chat membership ids,
//! `$skiptoken` keyset cursors, Graph date-times and the keys of `@odata.bind` / `$ref` URLs.
//!
//! Beyond "no panic": whatever parses is canonical enough to be written again and parse to
//! the same value (a message id is digits only; a cursor re-encodes to one that decodes to the
//! same values; a date-time in Graph's range writes back to the same instant), and a
//! membership id names a user only for the chat it was made for; a key taken from a URL is
//! never empty and holds no `/` or `'`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard_domain::chat_messages::parse_id;
use switchboard_domain::chats::{member_user_id, membership_id};
use switchboard_domain::teams_apps::navigation_key;
use switchboard_domain::{graph_time, paging};
use switchboard_odata::sql::SortKey;

const KEYS: &[SortKey] = &[
    SortKey {
        column: "created_ms",
        descending: true,
    },
    SortKey {
        column: "id",
        descending: false,
    },
];

/// 0001-01-01 and 9999-12-31T23:59:59.999Z, the range Graph writes.
const FIRST_MS: i64 = -62_135_596_800_000;
const LAST_MS: i64 = 253_402_300_799_999;

fuzz_target!(|text: &str| {
    if let Some(id) = parse_id(text) {
        assert!(
            id >= 0 && text.bytes().all(|b| b.is_ascii_digit()),
            "{text:?}"
        );
        assert_eq!(parse_id(&id.to_string()), Some(id));
    }

    let chat = "19:2da4c29f6d7041eca70b638b43d45437@thread.v2";
    if let Some(user) = member_user_id(text, chat) {
        assert_eq!(user, user.to_ascii_lowercase());
        let again = membership_id("t", chat, &user);
        assert_eq!(member_user_id(&again, chat).as_deref(), Some(user.as_str()));
    }
    // A membership id made for one chat never names a member of another (chat ids never hold
    // `#`, which separates the parts).
    let made = membership_id("t", text, "u");
    if text != chat && !text.contains('#') {
        assert_eq!(member_user_id(&made, chat), None, "{text:?}");
    }

    if let Some(cursor) = paging::decode(KEYS, text) {
        let again = paging::encode(KEYS, &cursor);
        assert_eq!(paging::decode(KEYS, &again), Some(cursor));
        assert_eq!(paging::decode(&KEYS[1..], text), None);
    }

    if let Some(ms) = graph_time::parse(text) {
        if (FIRST_MS..=LAST_MS).contains(&ms) {
            assert_eq!(
                graph_time::parse(&graph_time::millis(ms)),
                Some(ms),
                "{text:?}"
            );
        }
    }

    if let Some(key) = navigation_key(text, "chats") {
        assert!(
            !key.is_empty() && !key.contains(['/', '\'']),
            "{text:?} gave {key:?}"
        );
    }
});
