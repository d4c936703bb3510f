//! The store contract: every operation the domain needs from storage, in domain terms. Each
//! backend (SQLite now, PostgreSQL for scale-out) implements [`Store`]; nothing above this trait
//! sees a driver type.
//!
//! The contract's promise on writes: when a write method returns `Ok`, the change is committed
//! and durable (on disk, fsync'd). Backends may group concurrent writes into one transaction to
//! make that cheap, but never acknowledge before the commit.

use async_trait::async_trait;
use switchboard_odata::ODataError;
use switchboard_odata::ast::{Expr, Search};
use switchboard_odata::sql::{SortKey, SqlValue};

use crate::chat_messages::{
    ChangeOutcome, ChangePage, Listed, MessageChange, MessageRecord, NewMessage, RenderedLookup,
};
use crate::chats::{ChatRecord, ChatView, Created, MemberRecord, RemoveOutcome, ViewpointChange};
use crate::tenants::{Application, Grant, GrantKind, Redeemed, SigningKey, Tenant};
use crate::users::{UserPatch, UserRecord};

/// What a chat route checks first: the user (when one is addressed), the chat, the membership.
pub type ChatAccess = (Option<UserRecord>, Option<ChatRecord>, Option<MemberRecord>);

/// Builds the message to send from the [`ChatAccess`] read in the same transaction, or refuses.
pub type PrepareSend = Box<dyn FnOnce(ChatAccess) -> Result<NewMessage, crate::Error> + Send>;

/// Judges a [`ChatAccess`] read in the same transaction as the messages it guards: which chat's
/// messages the caller may read, from which creation instant on (epoch ms), or a refusal.
pub type CheckRead = Box<dyn FnOnce(ChatAccess) -> Result<(String, i64), crate::Error> + Send>;

/// What can go wrong in a store, independent of the backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The client's query could not be compiled against the resource's catalogue.
    InvalidQuery(ODataError),
    /// A uniqueness rule was broken; the text names the rule (e.g. `users.userPrincipalName`).
    Conflict(String),
    /// The store cannot take work now (shutting down, overloaded); retrying may succeed.
    Unavailable(String),
    /// Anything else: an I/O or driver failure, a corrupt row.
    Internal(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::InvalidQuery(e) => write!(f, "invalid query: {e}"),
            StoreError::Conflict(w) => write!(f, "conflict: {w}"),
            StoreError::Unavailable(w) => write!(f, "unavailable: {w}"),
            StoreError::Internal(w) => write!(f, "internal: {w}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// A collection query, already checked against Graph's rules by the domain.
#[derive(Debug, Clone, Default)]
pub struct ListQuery<'a> {
    /// `$filter`, compiled by the store against the resource's catalogue.
    pub filter: Option<&'a Expr>,
    /// `$search`, directory style (word prefixes).
    pub search: Option<&'a Search>,
    /// Sort keys; the store appends the resource's key (ascending) as the final tie-breaker
    /// unless it is already among them.
    pub order: Vec<SortKey>,
    /// Keyset cursor: the sort-key values (tie-breaker last) of the last row already returned.
    pub after: Option<Vec<SqlValue>>,
    /// Page size.
    pub limit: usize,
    /// Also count every matching row (`$count=true`).
    pub count: bool,
}

/// One page of a collection.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The rows of this page, in order.
    pub items: Vec<T>,
    /// The cursor to continue after the last row, when more rows exist.
    pub next: Option<Vec<SqlValue>>,
    /// The total number of matching rows, when asked for.
    pub count: Option<u64>,
}

/// How a user is named in a URL: object id or user principal name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserKey {
    /// The object id (a GUID, lowercase).
    Id(String),
    /// The user principal name, matched case-insensitively.
    Upn(String),
}

/// Counters a store keeps about itself, for benchmarks and the group-commit test.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Transactions committed by the writer.
    pub commits: u64,
    /// Write operations acknowledged (each belongs to one commit).
    pub writes: u64,
}

/// The storage contract. See the module documentation for the durability promise.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    // --- tenants, applications, keys ---

    /// Creates a tenant with its administrator application, atomically.
    async fn create_tenant(&self, tenant: &Tenant, admin: &Application) -> Result<(), StoreError>;
    /// Every tenant, oldest first.
    async fn tenants(&self) -> Result<Vec<Tenant>, StoreError>;
    /// A tenant by id or by its verified domain (case-insensitive).
    async fn tenant(&self, id_or_domain: &str) -> Result<Option<Tenant>, StoreError>;
    /// An application registration by its client id, within a tenant.
    async fn application(
        &self,
        tenant_id: &str,
        client_id: &str,
    ) -> Result<Option<Application>, StoreError>;
    /// Every application registration of a tenant, oldest (the administrator) first.
    async fn applications(&self, tenant_id: &str) -> Result<Vec<Application>, StoreError>;
    /// Registers a new application.
    async fn insert_application(&self, app: &Application) -> Result<(), StoreError>;
    /// Replaces an application registration (secrets, permissions).
    async fn update_application(&self, app: &Application) -> Result<(), StoreError>;
    /// A page of a tenant's application registrations (`GET /applications`).
    async fn list_applications(
        &self,
        tenant_id: &str,
        query: &ListQuery<'_>,
    ) -> Result<Page<Application>, StoreError>;
    /// Deletes an application registration; `false` when there was none.
    async fn delete_application(
        &self,
        tenant_id: &str,
        client_id: &str,
    ) -> Result<bool, StoreError>;
    /// Every token-signing key, oldest first.
    async fn signing_keys(&self) -> Result<Vec<SigningKey>, StoreError>;
    /// Stores a new token-signing key.
    async fn insert_signing_key(&self, key: &SigningKey) -> Result<(), StoreError>;
    /// Sets when a signing key stops being published and accepted; `false` when there is no
    /// such key.
    async fn set_signing_key_retire(
        &self,
        kid: &str,
        retire_ms: Option<i64>,
    ) -> Result<bool, StoreError>;

    /// Stores an authorization code or refresh token.
    async fn insert_grant(&self, grant: &Grant) -> Result<(), StoreError>;
    /// Spends a grant, atomically: a second redemption finds it spent and revokes its family.
    async fn redeem_grant(
        &self,
        kind: GrantKind,
        id_hash: &str,
        now_ms: i64,
    ) -> Result<Redeemed, StoreError>;

    // --- users ---

    /// Creates a user. A duplicate user principal name is `Conflict("users.userPrincipalName")`.
    async fn insert_user(&self, user: &UserRecord) -> Result<(), StoreError>;
    /// Creates many users in one transaction (sample data, benchmarks).
    async fn insert_users(&self, users: &[UserRecord]) -> Result<(), StoreError>;
    /// A user of the tenant by id or user principal name.
    async fn user(&self, tenant_id: &str, key: &UserKey) -> Result<Option<UserRecord>, StoreError>;
    /// Several users of the tenant, each as [`Store::user`] finds it, in the order of `keys`.
    /// The default makes one read per key; a backend may do one round trip.
    async fn users_by_keys(
        &self,
        tenant_id: &str,
        keys: &[UserKey],
    ) -> Result<Vec<Option<UserRecord>>, StoreError> {
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            out.push(self.user(tenant_id, key).await?);
        }
        Ok(out)
    }
    /// A page of the tenant's users.
    async fn list_users(
        &self,
        tenant_id: &str,
        query: &ListQuery<'_>,
    ) -> Result<Page<UserRecord>, StoreError>;
    /// Applies `patch` to the user in one transaction; `None` when there is no such user.
    async fn update_user(
        &self,
        tenant_id: &str,
        user_id: &str,
        patch: &UserPatch,
    ) -> Result<Option<UserRecord>, StoreError>;
    /// Deletes a user; `false` when there was none.
    async fn delete_user(&self, tenant_id: &str, user_id: &str) -> Result<bool, StoreError>;

    // --- chats ---

    /// Creates a chat with its members and system event messages, atomically. A one-on-one
    /// chat that exists already (same id) is returned instead, unchanged.
    async fn create_chat(
        &self,
        chat: &ChatRecord,
        members: &[MemberRecord],
        events: &[NewMessage],
    ) -> Result<Created, StoreError>;
    /// A chat of the tenant (not deleted).
    async fn chat(&self, tenant_id: &str, chat_id: &str) -> Result<Option<ChatRecord>, StoreError>;
    /// One member of a chat.
    async fn member(
        &self,
        chat_id: &str,
        user_id: &str,
    ) -> Result<Option<MemberRecord>, StoreError>;
    /// What a chat route checks first, in one read: the user (by id or UPN) if `user` is given,
    /// the chat (of the tenant, not deleted), and that user's membership of it. Backends may
    /// override the default (three reads) with one round trip.
    async fn chat_access(
        &self,
        tenant_id: &str,
        user: Option<&UserKey>,
        chat_id: &str,
    ) -> Result<(Option<UserRecord>, Option<ChatRecord>, Option<MemberRecord>), StoreError> {
        let user = match user {
            Some(key) => self.user(tenant_id, key).await?,
            None => None,
        };
        let chat = self.chat(tenant_id, chat_id).await?;
        let member = match (&user, &chat) {
            (Some(u), Some(_)) => self.member(chat_id, &u.id).await?,
            _ => None,
        };
        Ok((user, chat, member))
    }
    /// Every member of a chat, in the order they were added.
    async fn members(&self, chat_id: &str) -> Result<Vec<MemberRecord>, StoreError>;
    /// A page of the chats `user_id` is a member of, with the user's view of each.
    async fn list_chats(
        &self,
        tenant_id: &str,
        user_id: &str,
        query: &ListQuery<'_>,
    ) -> Result<Page<ChatView>, StoreError>;
    /// Sets a chat's topic and posts the rename event; `None` when there is no such chat.
    async fn rename_chat(
        &self,
        tenant_id: &str,
        chat_id: &str,
        topic: &str,
        now_ms: i64,
        event: &NewMessage,
    ) -> Result<Option<ChatRecord>, StoreError>;
    /// Soft-deletes a chat; `false` when there was none.
    async fn delete_chat(
        &self,
        tenant_id: &str,
        chat_id: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError>;
    /// Changes one member's view of a chat.
    async fn set_viewpoint(
        &self,
        chat_id: &str,
        user_id: &str,
        change: ViewpointChange,
    ) -> Result<(), StoreError>;
    /// Adds a member and posts the event; `Conflict` when already a member.
    async fn add_member(&self, member: &MemberRecord, event: &NewMessage)
    -> Result<(), StoreError>;
    /// Removes a member and posts the event, unless it is the last one.
    async fn remove_member(
        &self,
        chat_id: &str,
        user_id: &str,
        now_ms: i64,
        event: &NewMessage,
    ) -> Result<RemoveOutcome, StoreError>;
    /// The newest message of each chat that has one (`lastMessagePreview`).
    async fn last_messages(
        &self,
        chat_ids: &[String],
    ) -> Result<Vec<crate::chat_messages::MessageRecord>, StoreError>;

    // --- chat messages ---

    /// Sends a user's message: stores it (the id allocated as for every message, the chat's
    /// preview moved, the tenant's change sequence stamped) and unhides the chat for every
    /// member, in one transaction.
    async fn send_message(&self, message: &NewMessage) -> Result<MessageRecord, StoreError>;
    /// A send and the access check before it as one operation: reads what [`Store::chat_access`]
    /// reads, hands it to `prepare`, and stores the message `prepare` returns as
    /// [`Store::send_message`] does; when `prepare` refuses, nothing is written and its error is
    /// returned inside `Ok`. The default reads, then writes; a backend may do both in its write
    /// transaction (one round trip, and the check sees exactly what the write sees).
    async fn send_message_checked(
        &self,
        tenant_id: &str,
        user: Option<&UserKey>,
        chat_id: &str,
        prepare: PrepareSend,
    ) -> Result<Result<MessageRecord, crate::Error>, StoreError> {
        let access = self.chat_access(tenant_id, user, chat_id).await?;
        match prepare(access) {
            Ok(message) => self.send_message(&message).await.map(Ok),
            Err(e) => Ok(Err(e)),
        }
    }
    /// One message of a chat.
    async fn message(&self, chat_id: &str, id: i64) -> Result<Option<MessageRecord>, StoreError>;
    /// A page of a chat's messages created at or after the visible-history instant `check`
    /// names, sorted and filtered against `chat_messages::MESSAGE_SCHEMA`, guarded by the access
    /// check [`Store::chat_access`] reads: `check` judges the access and names the chat and the
    /// visible history; when it refuses, its error is returned inside `Ok`. Both in one read
    /// transaction, so the page is read in the snapshot the check saw.
    ///
    /// A message whose current version `rendered` knows (by id and change sequence number)
    /// comes back as that rendering instead of its row.
    async fn list_messages_checked(
        &self,
        tenant_id: &str,
        user: Option<&UserKey>,
        chat_id: &str,
        check: CheckRead,
        query: &ListQuery<'_>,
        rendered: RenderedLookup,
    ) -> Result<Result<Page<Listed>, crate::Error>, StoreError>;
    /// Reads a message, applies `change` to it and writes it back (stamping the next change
    /// sequence number), all inside one write transaction.
    async fn change_message(
        &self,
        chat_id: &str,
        id: i64,
        change: &MessageChange,
    ) -> Result<ChangeOutcome, StoreError>;
    /// The messages of every chat `user_id` is a member of (within each membership's visible
    /// history) whose change sequence number is above `after_seq`, in sequence order, filtered
    /// against `chat_messages::ALL_MESSAGES_SCHEMA`.
    async fn message_changes(
        &self,
        tenant_id: &str,
        user_id: &str,
        after_seq: i64,
        filter: Option<&Expr>,
        limit: usize,
    ) -> Result<ChangePage, StoreError>;
    /// The secret that signs chat message change tokens (made once per database).
    async fn message_token_secret(&self) -> Result<Vec<u8>, StoreError>;

    // --- Teams apps: the catalogue and apps installed in chats ---

    /// A page of the tenant's app catalogue, filtered against `teams_apps::TEAMS_APP_SCHEMA`.
    async fn teams_apps(
        &self,
        tenant_id: &str,
        query: &ListQuery<'_>,
    ) -> Result<Page<crate::teams_apps::TeamsAppRecord>, StoreError>;
    /// One app of the tenant's catalogue.
    async fn teams_app(
        &self,
        tenant_id: &str,
        app_id: &str,
    ) -> Result<Option<crate::teams_apps::TeamsAppRecord>, StoreError>;
    /// Every definition of these apps, per app oldest first.
    async fn app_definitions(
        &self,
        app_ids: &[String],
    ) -> Result<Vec<crate::teams_apps::DefinitionRecord>, StoreError>;
    /// Publishes an app with its first definition; `Conflict` when the tenant's catalogue has an
    /// app with the same `externalId`.
    async fn insert_teams_app(
        &self,
        app: &crate::teams_apps::TeamsAppRecord,
        definition: &crate::teams_apps::DefinitionRecord,
    ) -> Result<(), StoreError>;
    /// Adds a definition to an app of the tenant (its display name becomes the app's); `false`
    /// when there is no such app, `Conflict` when the definition exists.
    async fn insert_app_definition(
        &self,
        tenant_id: &str,
        definition: &crate::teams_apps::DefinitionRecord,
    ) -> Result<bool, StoreError>;
    /// Deletes an app, its definitions and every installation of it, posting `event` (with each
    /// chat's id) in every chat it was installed in; `false` when there was no such app.
    async fn delete_teams_app(
        &self,
        tenant_id: &str,
        app_id: &str,
        event: &NewMessage,
    ) -> Result<bool, StoreError>;
    /// A page of a chat's installed apps, filtered against `teams_apps::INSTALLATION_SCHEMA`.
    async fn installed_apps(
        &self,
        chat_id: &str,
        query: &ListQuery<'_>,
    ) -> Result<Page<crate::teams_apps::InstalledApp>, StoreError>;
    /// One installation in a chat.
    async fn installed_app(
        &self,
        chat_id: &str,
        installation_id: &str,
    ) -> Result<Option<crate::teams_apps::InstalledApp>, StoreError>;
    /// Installs an app and posts the event; `Conflict` when the app is installed in the chat
    /// already, `false` when the app or its definition no longer exists.
    async fn install_app(
        &self,
        installation: &crate::teams_apps::InstallationRecord,
        event: &NewMessage,
    ) -> Result<bool, StoreError>;
    /// Moves an installation to `definition_id`, replaces its consented permissions when given,
    /// and posts the event when given; `false` when there is no such installation.
    async fn upgrade_installed_app(
        &self,
        chat_id: &str,
        installation_id: &str,
        definition_id: &str,
        permissions: Option<&[crate::teams_apps::ResourceSpecificPermission]>,
        event: Option<&NewMessage>,
    ) -> Result<bool, StoreError>;
    /// Uninstalls and posts the event; `false` when there was no such installation.
    async fn remove_installed_app(
        &self,
        chat_id: &str,
        installation_id: &str,
        event: &NewMessage,
    ) -> Result<bool, StoreError>;
    /// Sets (or with `None` clears) the chat an installation is bound to; `false` when there is
    /// no such installation.
    async fn bind_installed_app(
        &self,
        chat_id: &str,
        installation_id: &str,
        bound_chat_id: Option<&str>,
    ) -> Result<bool, StoreError>;

    // --- mail ---

    /// Creates the mailbox's root and well-known folders, those missing (idempotent).
    async fn ensure_mailbox(
        &self,
        tenant_id: &str,
        user_id: &str,
        now_ms: i64,
    ) -> Result<(), StoreError>;
    /// A folder of the mailbox, by id or well-known name (any case), with its counts.
    async fn mail_folder(
        &self,
        user_id: &str,
        key: &str,
    ) -> Result<Option<crate::mail::FolderRecord>, StoreError>;
    /// What every mailbox route reads first, in one read: the user (by id or UPN), whether their
    /// mailbox's root folder (`root`) exists, and the folder `folder` (id or well-known name) when
    /// one is asked for. The default makes one read per item; a backend may do one round trip.
    async fn mailbox_access(
        &self,
        tenant_id: &str,
        user: &UserKey,
        root: &str,
        folder: Option<&str>,
    ) -> Result<(Option<UserRecord>, bool, Option<crate::mail::FolderRecord>), StoreError> {
        let Some(found) = self.user(tenant_id, user).await? else {
            return Ok((None, false, None));
        };
        let has_root = self.mail_folder(&found.id, root).await?.is_some();
        let folder = match folder {
            Some(key) if has_root => self.mail_folder(&found.id, key).await?,
            _ => None,
        };
        Ok((Some(found), has_root, folder))
    }
    /// Up to `limit` visible child folders of `parent_id` after skipping `skip`, oldest first, and
    /// how many there are.
    async fn mail_folders(
        &self,
        user_id: &str,
        parent_id: &str,
        skip: u64,
        limit: usize,
    ) -> Result<(Vec<crate::mail::FolderRecord>, u64), StoreError>;
    /// Creates a folder; `Conflict` when its parent has one of the same name (any case).
    async fn insert_mail_folder(
        &self,
        folder: &crate::mail::FolderRecord,
    ) -> Result<(), StoreError>;
    /// Renames a folder; `Conflict` as for inserts.
    async fn rename_mail_folder(
        &self,
        user_id: &str,
        id: &str,
        name: &str,
    ) -> Result<bool, StoreError>;
    /// Deletes a folder, its subfolders and their messages.
    async fn delete_mail_folder(&self, user_id: &str, id: &str) -> Result<bool, StoreError>;
    /// One message of the mailbox.
    async fn mail_message(
        &self,
        user_id: &str,
        id: &str,
    ) -> Result<Option<crate::mail::MailRecord>, StoreError>;
    /// Up to `query.limit` messages of the mailbox (or of one folder), and the count when asked.
    async fn list_mail(
        &self,
        user_id: &str,
        folder_id: Option<&str>,
        query: &crate::mail::MailQuery<'_>,
    ) -> Result<(Vec<crate::mail::MailRecord>, Option<u64>), StoreError>;
    /// Runs one mail write in one transaction (the search index follows in the same one).
    async fn write_mail(
        &self,
        write: &crate::mail::MailWrite,
    ) -> Result<crate::mail::MailOutcome, StoreError>;
    /// The attachments of a message (by its immutable id), oldest first.
    async fn mail_attachments(
        &self,
        user_id: &str,
        message_key: &str,
    ) -> Result<Vec<crate::mail_attachments::AttachmentRecord>, StoreError>;
    /// One attachment of a message (by its immutable id), by its id; only its own file is read.
    async fn mail_attachment(
        &self,
        user_id: &str,
        message_key: &str,
        id: &str,
    ) -> Result<Option<crate::mail_attachments::AttachmentRecord>, StoreError>;
    /// The newest change number of a mailbox (0 before its first message).
    async fn mail_change_seq(&self, user_id: &str) -> Result<i64, StoreError>;
    /// Up to `limit` messages of a folder for an initial delta round, newest first, after
    /// `cursor` (received time and id of the last one delivered).
    async fn mail_delta_initial(
        &self,
        folder_id: &str,
        received_from: Option<(i64, bool)>,
        cursor: Option<&(i64, String)>,
        limit: usize,
    ) -> Result<Vec<crate::mail::MailRecord>, StoreError>;
    /// Up to `limit` changes of a folder after change number `after`, in change order.
    async fn mail_delta_changes(
        &self,
        folder_id: &str,
        after: i64,
        filter: &crate::mail_delta::DeltaFilter,
        limit: usize,
    ) -> Result<crate::mail_delta::DeltaRows, StoreError>;
    /// Up to `limit` folders of a mailbox (all but the root) for an initial folder delta round,
    /// oldest first, after `cursor` (creation time and id of the last one delivered).
    async fn mail_folder_delta_initial(
        &self,
        user_id: &str,
        cursor: Option<&(i64, String)>,
        limit: usize,
    ) -> Result<Vec<crate::mail::FolderRecord>, StoreError>;
    /// Up to `limit` folder changes of a mailbox after change number `after`, in change order.
    async fn mail_folder_delta_changes(
        &self,
        user_id: &str,
        after: i64,
        limit: usize,
    ) -> Result<crate::mail_delta::FolderDeltaRows, StoreError>;
    /// What a send looks up before it writes, in one read: the tenant (by id) and the users of
    /// the tenant `keys` name, each as [`Store::users_by_keys`] finds them. The default makes
    /// two reads; a backend may do one round trip.
    async fn mail_recipients(
        &self,
        tenant_id: &str,
        keys: &[UserKey],
    ) -> Result<(Option<Tenant>, Vec<Option<UserRecord>>), StoreError> {
        let tenant = self.tenant(tenant_id).await?;
        Ok((tenant, self.users_by_keys(tenant_id, keys).await?))
    }

    // --- housekeeping ---

    /// Counters about commits, for benchmarks and tests.
    fn stats(&self) -> StoreStats;
    /// Finishes every queued write and stops accepting new ones.
    async fn shutdown(&self);
}
