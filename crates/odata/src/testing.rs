//! Small catalogues for tests, property tests and the fuzz targets (a chat with members, covering
//! every property type), and the checks they share. Not part of the supported API.

use crate::schema::{Caps, EntitySchema, Property, PropertyType, Relation};

const FILTER_SORT_SELECT: Caps = Caps {
    filter: true,
    orderby: true,
    select: true,
    ..Caps::NONE
};
const FILTER_SELECT: Caps = Caps {
    filter: true,
    select: true,
    ..Caps::NONE
};

/// `microsoft.graph.chat`, in table `chats`.
pub static CHAT: EntitySchema = EntitySchema {
    type_name: "microsoft.graph.chat",
    key_column: "id",
    properties: &[
        Property {
            name: "id",
            column: "id",
            ty: PropertyType::String,
            caps: FILTER_SORT_SELECT,
        },
        Property {
            name: "topic",
            column: "topic",
            ty: PropertyType::String,
            caps: Caps::ALL_CASE_INSENSITIVE,
        },
        Property {
            name: "chatType",
            column: "chat_type",
            ty: PropertyType::Enum(&["oneOnOne", "group", "meeting", "unknownFutureValue"]),
            caps: FILTER_SELECT,
        },
        Property {
            name: "createdDateTime",
            column: "created_ms",
            ty: PropertyType::DateTime,
            caps: FILTER_SORT_SELECT,
        },
        Property {
            name: "lastMessagePreview/createdDateTime",
            column: "last_message_at",
            ty: PropertyType::DateTime,
            caps: Caps {
                filter: true,
                orderby: true,
                ..Caps::NONE
            },
        },
        Property {
            name: "isHiddenForAllMembers",
            column: "hidden",
            ty: PropertyType::Boolean,
            caps: FILTER_SELECT,
        },
        Property {
            name: "tenantId",
            column: "tenant_id",
            ty: PropertyType::Guid,
            caps: FILTER_SELECT,
        },
        Property {
            name: "unreadCount",
            column: "unread_count",
            ty: PropertyType::Int64,
            caps: FILTER_SORT_SELECT,
        },
        Property {
            name: "categories",
            column: "categories",
            ty: PropertyType::StringCollection,
            caps: Caps {
                case_insensitive: true,
                ..FILTER_SELECT
            },
        },
        Property {
            name: "labels",
            column: "labels",
            ty: PropertyType::StringCollection,
            caps: FILTER_SELECT,
        },
        Property {
            name: "webUrl",
            column: "web_url",
            ty: PropertyType::String,
            caps: Caps {
                select: true,
                ..Caps::NONE
            },
        },
        Property {
            name: "members",
            column: "id",
            ty: PropertyType::EntityCollection(&CHAT_MEMBERS),
            caps: Caps {
                filter: true,
                ..Caps::NONE
            },
        },
    ],
};

/// Chat → members, through `chat_members.chat_id`.
pub static CHAT_MEMBERS: Relation = Relation {
    table: "chat_members",
    parent_column: "id",
    child_column: "chat_id",
    schema: &MEMBER,
};

/// `microsoft.graph.aadUserConversationMember`, in table `chat_members`.
pub static MEMBER: EntitySchema = EntitySchema {
    type_name: "microsoft.graph.aadUserConversationMember",
    key_column: "id",
    properties: &[
        Property {
            name: "id",
            column: "id",
            ty: PropertyType::String,
            caps: FILTER_SORT_SELECT,
        },
        Property {
            name: "displayName",
            column: "display_name",
            ty: PropertyType::String,
            caps: Caps::ALL_CASE_INSENSITIVE,
        },
        Property {
            name: "email",
            column: "email",
            ty: PropertyType::String,
            caps: Caps {
                search: true,
                case_insensitive: true,
                ..FILTER_SELECT
            },
        },
        Property {
            name: "roles",
            column: "roles",
            ty: PropertyType::StringCollection,
            caps: FILTER_SELECT,
        },
        Property {
            name: "userId",
            column: "user_id",
            ty: PropertyType::Guid,
            caps: FILTER_SELECT,
        },
        Property {
            name: "visibleHistoryStartDateTime",
            column: "history_start_ms",
            ty: PropertyType::DateTime,
            caps: FILTER_SORT_SELECT,
        },
    ],
};

/// Checks that `fts` is FTS5 syntax in which everything but `AND`, `OR`, `NOT` and
/// parentheses is inside `"…"` strings (with `""` for a quote), so no text of the client's can
/// act as FTS5 syntax.
pub fn only_quoted_terms(fts: &str) -> bool {
    let mut chars = fts.chars().peekable();
    let mut word = String::new();
    let operator_ok = |w: &str| w.is_empty() || ["AND", "OR", "NOT"].contains(&w);
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                if !word.is_empty() {
                    return false;
                }
                loop {
                    match chars.next() {
                        None => return false,
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                        }
                        Some('"') => break,
                        Some(_) => {}
                    }
                }
            }
            ' ' | '(' | ')' => {
                if !operator_ok(&word) {
                    return false;
                }
                word.clear();
            }
            c => word.push(c),
        }
    }
    operator_ok(&word)
}
