//! Chat messages rendered as JSON, kept by version: consecutive pages of a chat's messages are
//! mostly the same messages, and a message's JSON does not change until the message does.
//!
//! A rendering is found by the message's chat, id and change sequence number (every change to a
//! message takes a new one, so a rendering is never stale, on one node or many) and by the
//! request's [`MessageStyle`] (everything of a request the JSON depends on).

use std::collections::HashMap;
use std::sync::Mutex;

use switchboard_domain::chat_messages::Rendering;

use crate::chat_messages::MessageStyle;

/// Two generations of renderings, bounded in bytes: new renderings and the ones found again go
/// to the current generation; when it outgrows the budget it becomes the previous one and the
/// old previous is dropped. Memory stays under twice the budget, and what pages keep reading
/// stays (each read moves it forward) without any per-entry bookkeeping.
pub struct MessageRenderings {
    budget_bytes: usize,
    generations: Mutex<Generations>,
}

#[derive(Default)]
struct Generations {
    current: HashMap<Version, Entry>,
    current_bytes: usize,
    previous: HashMap<Version, Entry>,
}

/// A message version and a style. The chat is compared on the entry instead of hashed into the
/// key, so a lookup allocates nothing.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Version {
    id: i64,
    seq: i64,
    style: MessageStyle,
}

struct Entry {
    chat_id: Box<str>,
    json: Rendering,
}

impl Entry {
    fn bytes(&self) -> usize {
        // The JSON, the chat id, and roughly what the map spends on a slot.
        self.json.get().len() + self.chat_id.len() + 64
    }
}

impl MessageRenderings {
    /// Keeps at most about twice `budget_bytes` of renderings.
    pub fn new(budget_bytes: usize) -> MessageRenderings {
        MessageRenderings {
            budget_bytes,
            generations: Mutex::new(Generations::default()),
        }
    }

    /// The rendering of message `id` of `chat_id` at change sequence `seq`, in `style`.
    pub fn get(&self, chat_id: &str, id: i64, seq: i64, style: MessageStyle) -> Option<Rendering> {
        let version = Version { id, seq, style };
        let mut g = self.lock();
        if let Some(e) = g.current.get(&version) {
            return (*e.chat_id == *chat_id).then(|| e.json.clone());
        }
        let found = g.previous.remove(&version)?;
        if *found.chat_id != *chat_id {
            g.previous.insert(version, found);
            return None;
        }
        let json = found.json.clone();
        self.insert(&mut g, version, found);
        Some(json)
    }

    /// Keeps `json` as the rendering of message `id` of `chat_id` at change sequence `seq`.
    pub fn put(&self, chat_id: &str, id: i64, seq: i64, style: MessageStyle, json: Rendering) {
        let entry = Entry {
            chat_id: chat_id.into(),
            json,
        };
        if entry.bytes() > self.budget_bytes {
            return;
        }
        let mut g = self.lock();
        self.insert(&mut g, Version { id, seq, style }, entry);
    }

    /// How many renderings are kept (both generations).
    pub fn len(&self) -> usize {
        let g = self.lock();
        g.current.len() + g.previous.len()
    }

    /// Whether no rendering is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn insert(&self, g: &mut Generations, version: Version, entry: Entry) {
        let bytes = entry.bytes();
        if g.current_bytes + bytes > self.budget_bytes {
            g.previous = std::mem::take(&mut g.current);
            g.current_bytes = 0;
        }
        g.current_bytes += bytes;
        if let Some(replaced) = g.current.insert(version, entry) {
            g.current_bytes -= replaced.bytes();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Generations> {
        // A panic while holding the lock leaves whole maps behind (no entry is half-written).
        self.generations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::value::RawValue;

    use super::*;

    fn json(text: &str) -> Rendering {
        Arc::from(RawValue::from_string(text.to_string()).unwrap())
    }

    const PLAIN: MessageStyle = MessageStyle {
        unknown_enum_members: false,
    };
    const UNKNOWN: MessageStyle = MessageStyle {
        unknown_enum_members: true,
    };

    #[test]
    fn a_rendering_is_found_only_by_its_chat_version_and_style() {
        let r = MessageRenderings::new(1 << 20);
        r.put("chat-a", 1, 10, PLAIN, json(r#"{"id":"1"}"#));
        assert_eq!(
            r.get("chat-a", 1, 10, PLAIN).unwrap().get(),
            r#"{"id":"1"}"#
        );
        assert!(r.get("chat-a", 1, 11, PLAIN).is_none(), "a newer version");
        assert!(r.get("chat-b", 1, 10, PLAIN).is_none(), "another chat");
        assert!(r.get("chat-a", 1, 10, UNKNOWN).is_none(), "another style");
        assert!(r.get("chat-a", 2, 10, PLAIN).is_none(), "another message");
    }

    #[test]
    fn memory_stays_under_twice_the_budget_and_reads_keep_entries() {
        let one = json(r#"{"id":"0000000000"}"#);
        let size = one.get().len() + "c".len() + 64;
        let r = MessageRenderings::new(size * 10);
        for id in 0..1000 {
            r.put("c", id, id, PLAIN, one.clone());
            // Message 0 is read after every write: it is never dropped.
            assert!(r.get("c", 0, 0, PLAIN).is_some(), "after {id}");
            assert!(r.len() <= 20, "{} kept after {id}", r.len());
        }
        assert!(
            r.get("c", 1, 1, PLAIN).is_none(),
            "old, unread renderings are dropped"
        );
        assert!(r.get("c", 999, 999, PLAIN).is_some());
    }

    #[test]
    fn a_rendering_larger_than_the_budget_is_not_kept() {
        let r = MessageRenderings::new(8);
        r.put("c", 1, 1, PLAIN, json(r#"{"id":"1"}"#));
        assert!(r.is_empty());
    }
}
