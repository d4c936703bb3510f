//! Teams chats (`microsoft.graph.chat`): records, Graph's rules for creating and changing chats,
//! members (`aadUserConversationMember`) and per-user state, who may see which chat, and the
//! system event messages each change posts.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use switchboard_odata::QueryOptions;
use switchboard_odata::schema::{Caps, EntitySchema, Property, PropertyType, Relation};
use switchboard_odata::sql::{SortKey, compile_orderby};

use crate::chat_messages::{self, initiator, user_identity};
use crate::error::{Error, ErrorKind, Family};
use crate::graph_time::now_ms;
use crate::paging;
use crate::permissions;
use crate::principal::{Principal, PrincipalKind};
use crate::store::{ChatAccess, ListQuery, Store};
use crate::users::UserRecord;

/// `chatType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatType {
    /// Two people; at most one such chat per pair.
    OneOnOne,
    /// Any number of people, with an optional topic.
    Group,
    /// The chat of an online meeting.
    Meeting,
}

impl ChatType {
    /// Graph's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ChatType::OneOnOne => "oneOnOne",
            ChatType::Group => "group",
            ChatType::Meeting => "meeting",
        }
    }

    /// Parses Graph's spelling, case-insensitively.
    pub fn parse(text: &str) -> Option<ChatType> {
        [ChatType::OneOnOne, ChatType::Group, ChatType::Meeting]
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(text))
    }
}

/// A chat as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRecord {
    /// Graph's chat id (`19:…@thread.v2`, `19:{a}_{b}@unq.gbl.spaces`).
    pub id: String,
    /// The tenant it was created in.
    pub tenant_id: String,
    /// Its type.
    pub chat_type: ChatType,
    /// Group chats' topic.
    pub topic: Option<String>,
    /// `createdDateTime`, epoch ms.
    pub created_ms: i64,
    /// `lastUpdatedDateTime`, epoch ms: renames and membership changes.
    pub last_updated_ms: i64,
    /// `createdDateTime` of the newest message, if any.
    pub last_message_ms: Option<i64>,
    /// `onlineMeetingInfo` for meeting chats.
    pub online_meeting: Option<Value>,
}

/// One member of a chat, as stored (with the user's directory data joined in).
#[derive(Debug, Clone, PartialEq)]
pub struct MemberRecord {
    /// The chat.
    pub chat_id: String,
    /// The member's user id.
    pub user_id: String,
    /// The member's home tenant.
    pub tenant_id: String,
    /// `displayName` (from the directory).
    pub display_name: Option<String>,
    /// `email` (from the directory).
    pub email: Option<String>,
    /// `roles`: `owner` or `guest`.
    pub roles: Vec<String>,
    /// `visibleHistoryStartDateTime`: `None` = no history shared; `Some(FULL_HISTORY)` = all.
    pub visible_history_ms: Option<i64>,
    /// When the member was added.
    pub added_ms: i64,
    /// `viewpoint.isHidden` for this member.
    pub is_hidden: bool,
    /// `viewpoint.lastMessageReadDateTime` for this member.
    pub last_read_ms: Option<i64>,
}

/// `0001-01-01T00:00:00Z` in epoch ms: Teams' "entire history" and "never" instant.
pub const BEGINNING_OF_TIME_MS: i64 = -62_135_596_800_000;

impl MemberRecord {
    /// Graph's membership id: base64 of `0##{tenant}##{chat}##{user}`.
    pub fn membership_id(&self) -> String {
        membership_id(&self.tenant_id, &self.chat_id, &self.user_id)
    }
}

/// Graph's membership id for a user in a chat.
pub fn membership_id(tenant_id: &str, chat_id: &str, user_id: &str) -> String {
    STANDARD.encode(format!("0##{tenant_id}##{chat_id}##{user_id}"))
}

/// The user id a membership id names in `chat_id` (bare user ids are accepted too, as some
/// Graph samples use them).
pub fn member_user_id(membership: &str, chat_id: &str) -> Option<String> {
    if uuid::Uuid::try_parse(membership).is_ok() {
        return Some(membership.to_ascii_lowercase());
    }
    let decoded = String::from_utf8(STANDARD.decode(membership).ok()?).ok()?;
    let parts: Vec<&str> = decoded.split("##").collect();
    match parts.as_slice() {
        [.., chat, user] if *chat == chat_id => Some(user.to_ascii_lowercase()),
        _ => None,
    }
}

/// A chat with what one caller sees of it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatView {
    /// The chat.
    pub chat: ChatRecord,
    /// The caller's membership (for `viewpoint`), when the caller is a member.
    pub me: Option<MemberRecord>,
}

/// The `chats` catalogue: what `$filter` and `$orderby` may name on chat lists.
pub static CHAT_SCHEMA: EntitySchema = EntitySchema {
    type_name: "microsoft.graph.chat",
    key_column: "id",
    properties: &[
        chat_prop("id", "id", PropertyType::String, false),
        chat_prop("topic", "topic", PropertyType::String, false),
        chat_prop(
            "chatType",
            "chat_type",
            PropertyType::Enum(&["oneOnOne", "group", "meeting"]),
            false,
        ),
        chat_prop(
            "createdDateTime",
            "created_ms",
            PropertyType::DateTime,
            false,
        ),
        chat_prop(
            "lastUpdatedDateTime",
            "last_updated_ms",
            PropertyType::DateTime,
            false,
        ),
        chat_prop("tenantId", "tenant_id", PropertyType::String, false),
        chat_prop(
            "lastMessagePreview/createdDateTime",
            "last_message_ms",
            PropertyType::DateTime,
            true,
        ),
        Property {
            name: "members",
            column: "id",
            ty: PropertyType::EntityCollection(&MEMBERS_RELATION),
            caps: Caps {
                filter: true,
                orderby: false,
                select: false,
                search: false,
                case_insensitive: false,
            },
        },
    ],
};

static MEMBERS_RELATION: Relation = Relation {
    table: "chat_member_view",
    parent_column: "id",
    child_column: "chat_id",
    schema: &MEMBER_SCHEMA,
};

/// The members of a chat, for `members/any(m: m/displayName eq '…')`.
pub static MEMBER_SCHEMA: EntitySchema = EntitySchema {
    type_name: "microsoft.graph.aadUserConversationMember",
    key_column: "user_id",
    properties: &[
        Property {
            name: "displayName",
            column: "display_name",
            ty: PropertyType::String,
            caps: MEMBER_CAPS,
        },
        Property {
            name: "userId",
            column: "user_id",
            ty: PropertyType::String,
            caps: MEMBER_CAPS,
        },
        Property {
            name: "email",
            column: "email",
            ty: PropertyType::String,
            caps: MEMBER_CAPS,
        },
        Property {
            name: "tenantId",
            column: "tenant_id",
            ty: PropertyType::String,
            caps: MEMBER_CAPS,
        },
    ],
};

const MEMBER_CAPS: Caps = Caps {
    filter: true,
    orderby: false,
    select: false,
    search: false,
    case_insensitive: true,
};

const fn chat_prop(
    name: &'static str,
    column: &'static str,
    ty: PropertyType,
    orderby: bool,
) -> Property {
    Property {
        name,
        column,
        ty,
        caps: Caps {
            filter: true,
            orderby,
            select: true,
            search: false,
            case_insensitive: true,
        },
    }
}

/// A member as a create or add request names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberInput {
    /// The `user@odata.bind` value (a URL or path ending in `users('x')` or `users/x`).
    pub user_bind: Option<String>,
    /// `roles`.
    pub roles: Option<Vec<String>>,
    /// `visibleHistoryStartDateTime`, epoch ms.
    pub visible_history_ms: Option<i64>,
}

/// A create-chat request body, as read by the HTTP layer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChatInput {
    /// `chatType`, as sent.
    pub chat_type: Option<String>,
    /// `topic`.
    pub topic: Option<String>,
    /// `members`.
    pub members: Option<Vec<MemberInput>>,
}

/// What the store did with a create-chat request.
#[derive(Debug, Clone, PartialEq)]
pub enum Created {
    /// A new chat.
    New(ChatRecord),
    /// The one-on-one chat of this pair existed already.
    Existing(ChatRecord),
}

/// A change to per-member state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewpointChange {
    /// Hide (true) or unhide (false) the chat for the user.
    Hidden(bool),
    /// Set the read marker (`None`: never read).
    LastRead(Option<i64>),
}

/// One page of chats.
#[derive(Debug, Clone)]
pub struct ChatPage {
    /// The chats, with the caller's view of each.
    pub items: Vec<ChatView>,
    /// `$skiptoken` of the next page.
    pub skiptoken: Option<String>,
}

/// How a chat route named the user whose chats it addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// `/chats/…`: the caller (delegated) or no one (app-only).
    Caller,
    /// `/me/chats/…`.
    Me,
    /// `/users/{id}/chats/…`.
    User(String),
}

const TEAMS: Family = Family::Teams;

fn bad(message: impl Into<String>) -> Error {
    Error::bad_request(TEAMS, message)
}

fn forbidden(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Forbidden, "Forbidden", message)
}

/// Parses the user key out of a `user@odata.bind` value: `…/users('key')` or `…/users/key`.
pub fn bound_user_key(bind: &str) -> Option<String> {
    let lower = bind.to_ascii_lowercase();
    let at = lower.rfind("users")?;
    let rest = &bind[at + "users".len()..];
    let key = if let Some(inner) = rest.strip_prefix("('").and_then(|r| r.strip_suffix("')")) {
        inner.replace("''", "'")
    } else if let Some(inner) = rest
        .strip_prefix("(%27")
        .and_then(|r| r.strip_suffix("%27)"))
    {
        inner.to_string()
    } else if let Some(inner) = rest.strip_prefix('/') {
        inner.trim_end_matches('/').to_string()
    } else {
        return None;
    };
    let key = percent_decode(&key);
    (!key.is_empty() && !key.contains('/')).then_some(key)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 3 <= bytes.len()
            && let Some(b) = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The chats family's operations over a store.
pub struct Chats<'a> {
    /// The store.
    pub store: &'a dyn Store,
}

const MAX_PAGE: u64 = 50;

impl Chats<'_> {
    /// The user a route addresses, checked against the caller: a delegated caller may only
    /// address themselves; an app-only caller must name a user (except where it may not at all).
    pub async fn owner_user(
        &self,
        caller: &Principal,
        owner: &Owner,
    ) -> Result<Option<UserRecord>, Error> {
        match (owner, &caller.kind) {
            (Owner::Caller | Owner::Me, PrincipalKind::User { user_id, .. }) => {
                Ok(Some(self.user(caller, user_id).await?))
            }
            (Owner::Me, PrincipalKind::App { .. }) => Err(bad(
                "/me request is only valid with delegated authentication flow.",
            )),
            (Owner::Caller, PrincipalKind::App { .. }) => Ok(None),
            (Owner::User(key), kind) => {
                let user = self.user(caller, key).await?;
                if let PrincipalKind::User { user_id, .. } = kind
                    && !user.id.eq_ignore_ascii_case(user_id)
                {
                    return Err(forbidden(
                        "A delegated caller may only address their own chats.",
                    ));
                }
                Ok(Some(user))
            }
        }
    }

    async fn user(&self, caller: &Principal, key: &str) -> Result<UserRecord, Error> {
        self.store
            .user(&caller.tenant_id, &crate::users::user_key(key))
            .await?
            .ok_or_else(|| Error::not_found(Family::Directory, key))
    }

    /// The chat, if the caller may see it: a delegated caller (or the addressed user) must be a
    /// member; an app-only caller sees its tenant's chats. Others get 404, revealing nothing.
    pub async fn visible(
        &self,
        caller: &Principal,
        owner: &Owner,
        chat_id: &str,
    ) -> Result<ChatView, Error> {
        // The same checks as `owner_user`, then the chat and the membership, in one store read
        // (this runs before every message send and list).
        let key = access_key(caller, owner)?;
        let user_key = key.map(crate::users::user_key);
        let access = self
            .store
            .chat_access(&caller.tenant_id, user_key.as_ref(), chat_id)
            .await?;
        check_access(caller, owner, chat_id, access)
    }

    /// `POST /chats` (and `/me/chats`, `/users/{id}/chats`).
    pub async fn create(
        &self,
        caller: &Principal,
        owner: &Owner,
        input: ChatInput,
    ) -> Result<Created, Error> {
        caller.require(&permissions::CHAT_CREATE)?;
        let creator = self.owner_user(caller, owner).await?;
        let chat_type = match input.chat_type.as_deref() {
            None => ChatType::Group,
            Some(t) => ChatType::parse(t)
                .ok_or_else(|| bad(format!("Invalid value '{t}' for property 'chatType'.")))?,
        };
        let topic = input.topic.filter(|t| !t.is_empty());
        if let Some(t) = &topic {
            check_topic(t)?;
        }
        let now = now_ms();
        // Resolve every member: the seed's own example names none, which means "just me".
        let requested = match input.members {
            Some(m) if !m.is_empty() => m,
            _ => match &creator {
                Some(c) => vec![MemberInput {
                    user_bind: Some(format!("users('{}')", c.id)),
                    roles: None,
                    visible_history_ms: None,
                }],
                None => return Err(bad("An application must name the chat's members.")),
            },
        };
        let mut members = Vec::with_capacity(requested.len());
        for m in requested {
            let member = self.resolve_member(caller, &m, "", now).await?;
            if members
                .iter()
                .any(|x: &MemberRecord| x.user_id == member.user_id)
            {
                return Err(bad(format!(
                    "The user '{}' is listed more than once.",
                    member.user_id
                )));
            }
            members.push(member);
        }
        if let Some(c) = &creator
            && !members.iter().any(|m| m.user_id == c.id)
        {
            return Err(bad("The caller must be one of the chat's members."));
        }
        let id = match chat_type {
            ChatType::OneOnOne => {
                if members.len() != 2 {
                    return Err(bad("A oneOnOne chat must have exactly two members."));
                }
                if topic.is_some() {
                    return Err(bad("A oneOnOne chat cannot have a topic."));
                }
                let mut ids = [members[0].user_id.clone(), members[1].user_id.clone()];
                ids.sort();
                format!("19:{}_{}@unq.gbl.spaces", ids[0], ids[1])
            }
            ChatType::Group => format!("19:{}@thread.v2", uuid::Uuid::new_v4().simple()),
            ChatType::Meeting => format!(
                "19:meeting_{}@thread.v2",
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(uuid::Uuid::new_v4().as_bytes())
            ),
        };
        for m in &mut members {
            m.chat_id = id.clone();
            // Initial members see the whole (empty) history.
            m.visible_history_ms.get_or_insert(BEGINNING_OF_TIME_MS);
        }
        let online_meeting = (chat_type == ChatType::Meeting).then(|| {
            let organizer = creator.as_ref().map(|c| user_identity(&c.id, Some(&c.display_name), &caller.tenant_id));
            json!({
                "calendarEventId": null,
                "joinWebUrl": format!("https://teams.microsoft.com/l/meetup-join/{}/0", urlencode(&id)),
                "organizer": organizer,
            })
        });
        let chat = ChatRecord {
            id: id.clone(),
            tenant_id: caller.tenant_id.clone(),
            chat_type,
            topic: topic.clone(),
            created_ms: now,
            last_updated_ms: now,
            last_message_ms: None,
            online_meeting,
        };
        let mut events = Vec::new();
        if chat_type != ChatType::OneOnOne {
            let detail = json!({
                "@odata.type": "#microsoft.graph.membersAddedEventMessageDetail",
                "visibleHistoryStartDateTime": crate::graph_time::millis(BEGINNING_OF_TIME_MS),
                "members": members.iter().map(|m| user_identity(&m.user_id, None, &m.tenant_id)).collect::<Vec<_>>(),
                "initiator": self.initiator(caller),
            });
            events.push(chat_messages::system_event(
                &id,
                &caller.tenant_id,
                detail,
                now,
            ));
            if let Some(topic) = &topic {
                events.push(chat_messages::system_event(
                    &id,
                    &caller.tenant_id,
                    renamed(&id, topic, self.initiator(caller)),
                    now,
                ));
            }
        }
        Ok(self.store.create_chat(&chat, &members, &events).await?)
    }

    fn initiator(&self, caller: &Principal) -> Value {
        match &caller.kind {
            PrincipalKind::User { user_id, .. } => {
                initiator(Some((user_id, &caller.tenant_id)), None)
            }
            PrincipalKind::App { .. } => initiator(None, Some((&caller.client_id, ""))),
        }
    }

    async fn resolve_member(
        &self,
        caller: &Principal,
        m: &MemberInput,
        chat_id: &str,
        now: i64,
    ) -> Result<MemberRecord, Error> {
        let bind = m
            .user_bind
            .as_deref()
            .ok_or_else(|| bad("Each member needs 'user@odata.bind'."))?;
        let key = bound_user_key(bind)
            .ok_or_else(|| bad(format!("Invalid 'user@odata.bind' value '{bind}'.")))?;
        let user = self
            .store
            .user(&caller.tenant_id, &crate::users::user_key(&key))
            .await?
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::NotFound,
                    "NotFound",
                    format!("The user '{key}' was not found in the tenant."),
                )
            })?;
        let roles = m.roles.clone().unwrap_or_else(|| vec!["owner".into()]);
        let roles = roles
            .iter()
            .map(|r| match r.to_ascii_lowercase().as_str() {
                "owner" => Ok("owner".to_string()),
                "guest" => Ok("guest".to_string()),
                other => Err(bad(format!(
                    "Invalid role '{other}': chat members are 'owner' or 'guest'."
                ))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(MemberRecord {
            chat_id: chat_id.to_string(),
            user_id: user.id,
            tenant_id: user.tenant_id,
            display_name: Some(user.display_name),
            email: user.mail,
            roles,
            visible_history_ms: m.visible_history_ms,
            added_ms: now,
            is_hidden: false,
            last_read_ms: None,
        })
    }

    /// `GET /chats`, `/me/chats`, `/users/{id}/chats`.
    pub async fn list(
        &self,
        caller: &Principal,
        owner: &Owner,
        q: &QueryOptions,
    ) -> Result<ChatPage, Error> {
        let perms = if matches!(owner, Owner::User(_)) {
            &permissions::CHATS_READ_FOR_USER
        } else {
            &permissions::CHATS_READ
        };
        caller.require(perms)?;
        let user = self
            .owner_user(caller, owner)
            .await?
            .ok_or_else(|| bad("An application lists a user's chats at /users/{id}/chats."))?;
        if q.skip.is_some() || q.search.is_some() || q.select.is_some() {
            return Err(bad(
                "$skip, $search and $select are not supported on chats.",
            ));
        }
        let top = q.top.unwrap_or(MAX_PAGE);
        if top == 0 {
            return Err(bad("$top must be at least 1."));
        }
        for item in &q.orderby {
            let ok = item
                .path
                .eq_ignore_ascii_case("lastMessagePreview/createdDateTime")
                && item.descending;
            if !ok {
                return Err(bad(
                    "Chats can only be ordered by 'lastMessagePreview/createdDateTime desc'.",
                ));
            }
        }
        let mut order =
            compile_orderby(&q.orderby, &CHAT_SCHEMA).map_err(|e| bad(e.to_string()))?;
        let mut full = order.clone();
        full.push(SortKey {
            column: CHAT_SCHEMA.key_column,
            descending: false,
        });
        let after = match &q.skiptoken {
            Some(t) => {
                Some(paging::decode(&full, t).ok_or_else(|| bad("The $skiptoken is invalid."))?)
            }
            None => None,
        };
        let query = ListQuery {
            filter: q.filter.as_ref(),
            search: None,
            order: std::mem::take(&mut order),
            after,
            limit: top.min(MAX_PAGE) as usize,
            count: false,
        };
        let page = self
            .store
            .list_chats(&caller.tenant_id, &user.id, &query)
            .await
            .map_err(|e| Error::from(e).in_family(TEAMS))?;
        Ok(ChatPage {
            skiptoken: page.next.map(|c| paging::encode(&full, &c)),
            items: page.items,
        })
    }

    /// `GET /chats/{id}`.
    pub async fn get(
        &self,
        caller: &Principal,
        owner: &Owner,
        chat_id: &str,
    ) -> Result<ChatView, Error> {
        caller.require(&permissions::CHAT_READ)?;
        self.visible(caller, owner, chat_id).await
    }

    /// `PATCH /chats/{id}`: the topic of a group chat.
    pub async fn rename(
        &self,
        caller: &Principal,
        owner: &Owner,
        chat_id: &str,
        topic: Option<String>,
    ) -> Result<ChatView, Error> {
        caller.require(&permissions::CHAT_UPDATE)?;
        let view = self.visible(caller, owner, chat_id).await?;
        let Some(topic) = topic else { return Ok(view) };
        if view.chat.chat_type == ChatType::OneOnOne {
            return Err(bad("The topic of a oneOnOne chat cannot be set."));
        }
        check_topic(&topic)?;
        if view.chat.topic.as_deref() == Some(topic.as_str()) {
            return Ok(view);
        }
        let now = now_ms();
        let event = chat_messages::system_event(
            chat_id,
            &caller.tenant_id,
            renamed(chat_id, &topic, self.initiator(caller)),
            now,
        );
        let chat = self
            .store
            .rename_chat(&caller.tenant_id, chat_id, &topic, now, &event)
            .await?
            .ok_or_else(|| Error::not_found(TEAMS, chat_id))?;
        Ok(ChatView { chat, me: view.me })
    }

    /// `DELETE /chats/{id}` (an administrator's soft delete).
    pub async fn delete(&self, caller: &Principal, chat_id: &str) -> Result<(), Error> {
        caller.require(&permissions::CHAT_DELETE)?;
        if !self
            .store
            .delete_chat(&caller.tenant_id, chat_id, now_ms())
            .await?
        {
            return Err(Error::not_found(TEAMS, chat_id));
        }
        Ok(())
    }

    /// `hideForUser`, `unhideForUser`, `markChatReadForUser`, `markChatUnreadForUser`: the
    /// caller's own state only.
    pub async fn set_viewpoint(
        &self,
        caller: &Principal,
        owner: &Owner,
        chat_id: &str,
        target_user: &str,
        change: ViewpointChange,
    ) -> Result<(), Error> {
        caller.require(&permissions::CHAT_USER_STATE)?;
        let view = self.visible(caller, owner, chat_id).await?;
        let me = view
            .me
            .ok_or_else(|| forbidden("Only a signed-in member can change their view of a chat."))?;
        if !target_user.eq_ignore_ascii_case(&me.user_id) {
            return Err(forbidden(
                "A user can only change their own view of a chat.",
            ));
        }
        self.store
            .set_viewpoint(chat_id, &me.user_id, change)
            .await?;
        Ok(())
    }

    /// `GET /chats/{id}/members`.
    pub async fn members(
        &self,
        caller: &Principal,
        owner: &Owner,
        chat_id: &str,
    ) -> Result<Vec<MemberRecord>, Error> {
        caller.require(&permissions::CHAT_MEMBERS_READ)?;
        self.visible(caller, owner, chat_id).await?;
        Ok(self.store.members(chat_id).await?)
    }

    /// `GET /chats/{id}/members/{membership-id}`.
    pub async fn member(
        &self,
        caller: &Principal,
        owner: &Owner,
        chat_id: &str,
        membership: &str,
    ) -> Result<MemberRecord, Error> {
        caller.require(&permissions::CHAT_MEMBERS_READ)?;
        self.visible(caller, owner, chat_id).await?;
        let user_id = member_user_id(membership, chat_id)
            .ok_or_else(|| Error::not_found(TEAMS, membership))?;
        self.store
            .member(chat_id, &user_id)
            .await?
            .ok_or_else(|| Error::not_found(TEAMS, membership))
    }

    /// `POST /chats/{id}/members`.
    pub async fn add_member(
        &self,
        caller: &Principal,
        owner: &Owner,
        chat_id: &str,
        input: MemberInput,
    ) -> Result<MemberRecord, Error> {
        caller.require(&permissions::CHAT_MEMBERS_WRITE)?;
        let view = self.visible(caller, owner, chat_id).await?;
        if view.chat.chat_type == ChatType::OneOnOne {
            return Err(bad("Members cannot be added to a oneOnOne chat."));
        }
        let now = now_ms();
        let member = self.resolve_member(caller, &input, chat_id, now).await?;
        let history = member.visible_history_ms.map(crate::graph_time::millis);
        let detail = json!({
            "@odata.type": "#microsoft.graph.membersAddedEventMessageDetail",
            "visibleHistoryStartDateTime": history.unwrap_or_else(|| crate::graph_time::millis(now)),
            "members": [user_identity(&member.user_id, None, &member.tenant_id)],
            "initiator": self.initiator(caller),
        });
        let event = chat_messages::system_event(chat_id, &caller.tenant_id, detail, now);
        match self.store.add_member(&member, &event).await {
            // Read back: the store fixes where a member without history starts seeing the chat.
            Ok(()) => Ok(self
                .store
                .member(chat_id, &member.user_id)
                .await?
                .unwrap_or(member)),
            Err(crate::StoreError::Conflict(_)) => Err(Error::new(
                ErrorKind::Conflict,
                "Conflict",
                format!(
                    "The user '{}' is already a member of the chat.",
                    member.user_id
                ),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// `DELETE /chats/{id}/members/{membership-id}`.
    pub async fn remove_member(
        &self,
        caller: &Principal,
        owner: &Owner,
        chat_id: &str,
        membership: &str,
    ) -> Result<(), Error> {
        caller.require(&permissions::CHAT_MEMBERS_WRITE)?;
        let view = self.visible(caller, owner, chat_id).await?;
        if view.chat.chat_type == ChatType::OneOnOne {
            return Err(bad("Members cannot be removed from a oneOnOne chat."));
        }
        let user_id = member_user_id(membership, chat_id)
            .ok_or_else(|| Error::not_found(TEAMS, membership))?;
        let target = self
            .store
            .member(chat_id, &user_id)
            .await?
            .ok_or_else(|| Error::not_found(TEAMS, membership))?;
        let now = now_ms();
        let detail = json!({
            "@odata.type": "#microsoft.graph.membersDeletedEventMessageDetail",
            "members": [user_identity(&target.user_id, None, &target.tenant_id)],
            "initiator": self.initiator(caller),
        });
        let event = chat_messages::system_event(chat_id, &caller.tenant_id, detail, now);
        match self
            .store
            .remove_member(chat_id, &user_id, now, &event)
            .await?
        {
            RemoveOutcome::Removed => Ok(()),
            RemoveOutcome::NotMember => Err(Error::not_found(TEAMS, membership)),
            RemoveOutcome::LastMember => Err(bad("The last member of a chat cannot be removed.")),
        }
    }
}

/// What removing a member did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoveOutcome {
    /// Removed.
    Removed,
    /// There was no such member.
    NotMember,
    /// Refused: the chat would have no members left.
    LastMember,
}

fn renamed(chat_id: &str, topic: &str, initiator: Value) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.chatRenamedEventMessageDetail",
        "chatId": chat_id,
        "chatDisplayName": topic,
        "initiator": initiator,
    })
}

/// Graph's topic rules: at most 250 characters, no `:`.
fn check_topic(topic: &str) -> Result<(), Error> {
    if topic.chars().count() > 250 {
        return Err(bad("The topic is longer than 250 characters."));
    }
    if topic.contains(':') {
        return Err(bad("The topic cannot contain ':'."));
    }
    Ok(())
}

/// Percent-encodes a chat id for links (`:` and `@` as Teams writes them).
pub fn urlencode(id: &str) -> String {
    id.replace('%', "%25")
        .replace(':', "%3A")
        .replace('@', "%40")
}

/// `webUrl` of a chat.
pub fn web_url(chat: &ChatRecord) -> String {
    format!(
        "https://teams.microsoft.com/l/chat/{}/0?tenantId={}",
        urlencode(&chat.id),
        chat.tenant_id
    )
}

/// The user a chat route addresses (the caller for `/chats` and `/me`, or `/users/{key}`), or
/// `None` for an app-only caller on `/chats`; an app-only caller cannot say `/me`.
pub fn access_key<'a>(caller: &'a Principal, owner: &'a Owner) -> Result<Option<&'a str>, Error> {
    match (owner, &caller.kind) {
        (Owner::Caller | Owner::Me, PrincipalKind::User { user_id, .. }) => {
            Ok(Some(user_id.as_str()))
        }
        (Owner::Me, PrincipalKind::App { .. }) => Err(bad(
            "/me request is only valid with delegated authentication flow.",
        )),
        (Owner::Caller, PrincipalKind::App { .. }) => Ok(None),
        (Owner::User(key), _) => Ok(Some(key.as_str())),
    }
}

/// Decides [`Chats::visible`] from what the store read for [`access_key`]: the addressed user
/// must exist (and be the caller, for a delegated caller), the chat must exist and the user be
/// its member; otherwise the same errors as ever.
pub fn check_access(
    caller: &Principal,
    owner: &Owner,
    chat_id: &str,
    (user, chat, member): ChatAccess,
) -> Result<ChatView, Error> {
    let key = access_key(caller, owner)?;
    let user = match key {
        Some(k) => Some(user.ok_or_else(|| Error::not_found(Family::Directory, k))?),
        None => None,
    };
    if let (Owner::User(_), PrincipalKind::User { user_id, .. }, Some(u)) =
        (owner, &caller.kind, &user)
        && !u.id.eq_ignore_ascii_case(user_id)
    {
        return Err(forbidden(
            "A delegated caller may only address their own chats.",
        ));
    }
    let chat = chat.ok_or_else(|| Error::not_found(TEAMS, chat_id))?;
    let me = match user {
        Some(_) => Some(member.ok_or_else(|| Error::not_found(TEAMS, chat_id))?),
        None => None,
    };
    Ok(ChatView { chat, me })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_user_keys() {
        assert_eq!(
            bound_user_key(
                "https://graph.microsoft.com/v1.0/users('8b081ef6-4792-4def-b2c9-c363a1bf41d5')"
            )
            .as_deref(),
            Some("8b081ef6-4792-4def-b2c9-c363a1bf41d5")
        );
        assert_eq!(
            bound_user_key("https://graph.microsoft.com/v1.0/users/alex@contoso.com").as_deref(),
            Some("alex@contoso.com")
        );
        assert_eq!(
            bound_user_key("users('o''brien@x.example')").as_deref(),
            Some("o'brien@x.example")
        );
        assert_eq!(
            bound_user_key("http://127.0.0.1:9/beta/users('a%40b.example')").as_deref(),
            Some("a@b.example")
        );
        assert_eq!(
            bound_user_key("https://graph.microsoft.com/v1.0/groups('x')"),
            None
        );
        assert_eq!(bound_user_key("users/"), None);
    }

    #[test]
    fn membership_ids_round_trip() {
        let id = membership_id("t", "19:abc@thread.v2", "u-1");
        assert_eq!(
            member_user_id(&id, "19:abc@thread.v2").as_deref(),
            Some("u-1")
        );
        assert_eq!(member_user_id(&id, "19:other@thread.v2"), None);
        assert_eq!(member_user_id("garbage!", "19:abc@thread.v2"), None);
    }
}
