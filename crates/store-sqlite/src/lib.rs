//! Switchboard's SQLite store: the embedded default backend. One writer thread group-commits
//! every write (see [`writer`]), a small pool of read-only connections serves reads (see
//! [`readers`]), and versioned migrations run at open (see [`migrations`]). WAL mode with
//! `synchronous=FULL`: a write is acknowledged only once its commit is fsync'd.

mod bench;
mod chat_messages;
mod chats;
mod mail;
mod migrations;
mod query;
mod readers;
mod teams_apps;
mod tenants;
mod users;
mod writer;

use std::path::Path;
use std::sync::atomic::Ordering;

use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags};
use switchboard_domain::chat_messages::{
    ChangeOutcome, ChangePage, Listed, MessageChange, MessageRecord, NewMessage, RenderedLookup,
};
use switchboard_domain::chats::{
    ChatRecord, ChatView, Created, MemberRecord, RemoveOutcome, ViewpointChange,
};
use switchboard_domain::store::{
    CheckRead, ListQuery, Page, PrepareSend, Store, StoreError, StoreStats, UserKey,
};
use switchboard_domain::teams_apps::{
    DefinitionRecord, InstallationRecord, InstalledApp, ResourceSpecificPermission, TeamsAppRecord,
};
use switchboard_domain::tenants::{Application, Grant, GrantKind, Redeemed, SigningKey, Tenant};
use switchboard_domain::users::{UserPatch, UserRecord};

use query::OwnedListQuery;
use readers::Readers;
pub use writer::DEFAULT_MAX_GROUP;
use writer::Writer;

/// Maps a driver error to the store contract's error, naming broken uniqueness rules.
pub(crate) fn internal(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(f, Some(msg)) = &e {
        if f.code == rusqlite::ErrorCode::ConstraintViolation && msg.contains("UNIQUE") {
            return StoreError::Conflict(msg.clone());
        }
        if matches!(
            f.code,
            rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
        ) {
            return StoreError::Unavailable(msg.clone());
        }
    }
    StoreError::Internal(e.to_string())
}

/// Options for opening the store.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// Read-only connections in the pool.
    pub readers: usize,
    /// Writes grouped into one commit at most (1 = one commit per write, for comparison only).
    pub max_group: usize,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            readers: 4,
            max_group: writer::DEFAULT_MAX_GROUP,
        }
    }
}

/// The SQLite implementation of the store contract.
pub struct SqliteStore {
    writer: Writer,
    readers: Readers,
}

fn configure(conn: &Connection, writer: bool) -> Result<(), StoreError> {
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(internal)?;
    conn.set_prepared_statement_cache_capacity(256);
    // Without the query planner stability guarantee, SQLite marks a statement to be re-planned
    // when a bound value it looked at while planning changes, and any ORDER BY with a bound
    // parameter does that (3.54). rusqlite clears the bindings when a cached statement is
    // returned, which expires it, so the list page, among others, was parsed again on every
    // execution (about a tenth of a list's CPU). No query here relies on plans that depend on
    // bound values: partial indexes have literal conditions and `startswith` binds its own
    // range bounds (`store-sqlite` tests check those plans on a connection configured here).
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )
    .map_err(internal)?;
    // No memory-mapped I/O: every commit grows the file, and each reader then remapped it (munmap,
    // TLB shoot-downs and page faults on its next read transaction: about a tenth of a list
    // page's CPU while sends ran, and the mapped pages counted in RSS). WAL pages are read with
    // pread either way. BENCHMARKS.md, round 4.
    //
    // The writer checkpoints every 4 000 log pages instead of SQLite's 1 000: a checkpoint copies
    // each page once however often the log rewrote it, and sends keep rewriting the same few
    // pages (each chat's newest leaves, its row, the change sequence; checkpoints were a seventh
    // of the writer's time with 65 chats sending). Not more: 10 000 was slower into one busy chat
    // and stalled the p99.9 (a longer log is searched on every page read, and one wal-index
    // segment maps 4 096 frames). Alternated runs of 1 000, 4 000 and 10 000 are in round 4.
    conn.execute_batch(
        "PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA mmap_size = 0;",
    )
    .map_err(internal)?;
    if writer {
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA journal_size_limit = 67108864;
             PRAGMA wal_autocheckpoint = 4000;
             PRAGMA cache_size = -32768;",
        )
        .map_err(internal)?;
    } else {
        conn.execute_batch("PRAGMA query_only = ON; PRAGMA cache_size = -8192;")
            .map_err(internal)?;
    }
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and migrates it to the newest schema.
    pub fn open(path: &Path, options: &SqliteOptions) -> Result<SqliteStore, StoreError> {
        let mut conn = Connection::open(path).map_err(internal)?;
        configure(&conn, true)?;
        migrations::run(&mut conn)?;
        let mut readers = Vec::new();
        for _ in 0..options.readers.max(1) {
            let reader = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX
                    | OpenFlags::SQLITE_OPEN_URI,
            )
            .map_err(internal)?;
            configure(&reader, false)?;
            readers.push(reader);
        }
        Ok(SqliteStore {
            writer: Writer::start_with(conn, options.max_group, mail::index_pending)?,
            readers: Readers::new(readers),
        })
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_tenant(&self, tenant: &Tenant, admin: &Application) -> Result<(), StoreError> {
        let (tenant, admin) = (tenant.clone(), admin.clone());
        self.writer
            .write(move |c| {
                tenants::insert_tenant(c, &tenant)?;
                tenants::insert_application(c, &admin)
            })
            .await
    }

    async fn tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        self.readers.read(tenants::all_tenants).await
    }

    async fn tenant(&self, id_or_domain: &str) -> Result<Option<Tenant>, StoreError> {
        let key = id_or_domain.to_string();
        self.readers.read(move |c| tenants::tenant(c, &key)).await
    }

    async fn application(
        &self,
        tenant_id: &str,
        client_id: &str,
    ) -> Result<Option<Application>, StoreError> {
        let (t, a) = (tenant_id.to_string(), client_id.to_string());
        self.readers
            .read(move |c| tenants::application(c, &t, &a))
            .await
    }

    async fn applications(&self, tenant_id: &str) -> Result<Vec<Application>, StoreError> {
        let t = tenant_id.to_string();
        self.readers
            .read(move |c| tenants::applications(c, &t))
            .await
    }

    async fn insert_application(&self, app: &Application) -> Result<(), StoreError> {
        let app = app.clone();
        self.writer
            .write(move |c| tenants::insert_application(c, &app))
            .await
    }

    async fn insert_grant(&self, grant: &Grant) -> Result<(), StoreError> {
        let grant = grant.clone();
        self.writer
            .write(move |c| tenants::insert_grant(c, &grant))
            .await
    }

    async fn redeem_grant(
        &self,
        kind: GrantKind,
        id_hash: &str,
        now_ms: i64,
    ) -> Result<Redeemed, StoreError> {
        let id = id_hash.to_string();
        self.writer
            .write(move |c| tenants::redeem_grant(c, kind, &id, now_ms))
            .await
    }

    async fn update_application(&self, app: &Application) -> Result<(), StoreError> {
        let app = app.clone();
        self.writer
            .write(move |c| tenants::update_application(c, &app))
            .await
    }

    async fn list_applications(
        &self,
        tenant_id: &str,
        query: &ListQuery<'_>,
    ) -> Result<Page<Application>, StoreError> {
        let tenant = tenant_id.to_string();
        let query = OwnedListQuery::of(query);
        self.readers
            .read(move |c| query.with(|q| tenants::list_applications(c, &tenant, q)))
            .await
    }

    async fn delete_application(
        &self,
        tenant_id: &str,
        client_id: &str,
    ) -> Result<bool, StoreError> {
        let (t, id) = (tenant_id.to_string(), client_id.to_string());
        self.writer
            .write(move |c| tenants::delete_application(c, &t, &id))
            .await
    }

    async fn signing_keys(&self) -> Result<Vec<SigningKey>, StoreError> {
        self.readers.read(tenants::signing_keys).await
    }

    async fn insert_signing_key(&self, key: &SigningKey) -> Result<(), StoreError> {
        let key = key.clone();
        self.writer
            .write(move |c| tenants::insert_signing_key(c, &key))
            .await
    }

    async fn set_signing_key_retire(
        &self,
        kid: &str,
        retire_ms: Option<i64>,
    ) -> Result<bool, StoreError> {
        let kid = kid.to_string();
        self.writer
            .write(move |c| tenants::set_signing_key_retire(c, &kid, retire_ms))
            .await
    }

    async fn ensure_mailbox(
        &self,
        tenant_id: &str,
        user_id: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let (t, u) = (tenant_id.to_string(), user_id.to_string());
        self.writer
            .write(move |c| mail::ensure_mailbox(c, &t, &u, now_ms).map(|_| ()))
            .await
    }

    async fn mail_folder(
        &self,
        user_id: &str,
        key: &str,
    ) -> Result<Option<switchboard_domain::mail::FolderRecord>, StoreError> {
        let (u, k) = (user_id.to_string(), key.to_string());
        self.readers.read(move |c| mail::folder(c, &u, &k)).await
    }

    async fn mailbox_access(
        &self,
        tenant_id: &str,
        user: &UserKey,
        root: &str,
        folder: Option<&str>,
    ) -> Result<
        (
            Option<UserRecord>,
            bool,
            Option<switchboard_domain::mail::FolderRecord>,
        ),
        StoreError,
    > {
        let (t, key, root, folder) = (
            tenant_id.to_string(),
            user.clone(),
            root.to_string(),
            folder.map(str::to_string),
        );
        // One read transaction: under write load each new one makes SQLite drop and re-map the
        // reader's view of the file, which costs more than the lookups themselves.
        self.readers
            .read(move |c| {
                let Some(found) = users::get(c, &t, &key)? else {
                    return Ok((None, false, None));
                };
                let has_root = mail::folder(c, &found.id, &root)?.is_some();
                let folder = match &folder {
                    Some(k) if has_root => mail::folder(c, &found.id, k)?,
                    _ => None,
                };
                Ok((Some(found), has_root, folder))
            })
            .await
    }

    async fn mail_folders(
        &self,
        user_id: &str,
        parent_id: &str,
        skip: u64,
        limit: usize,
    ) -> Result<(Vec<switchboard_domain::mail::FolderRecord>, u64), StoreError> {
        let (u, p) = (user_id.to_string(), parent_id.to_string());
        self.readers
            .read(move |c| mail::folders(c, &u, &p, skip, limit))
            .await
    }

    async fn insert_mail_folder(
        &self,
        folder: &switchboard_domain::mail::FolderRecord,
    ) -> Result<(), StoreError> {
        let f = folder.clone();
        self.writer.write(move |c| mail::insert_folder(c, &f)).await
    }

    async fn rename_mail_folder(
        &self,
        user_id: &str,
        id: &str,
        name: &str,
    ) -> Result<bool, StoreError> {
        let (u, i, n) = (user_id.to_string(), id.to_string(), name.to_string());
        self.writer
            .write(move |c| mail::rename_folder(c, &u, &i, &n))
            .await
    }

    async fn delete_mail_folder(&self, user_id: &str, id: &str) -> Result<bool, StoreError> {
        let (u, i) = (user_id.to_string(), id.to_string());
        self.writer
            .write(move |c| mail::delete_folder(c, &u, &i))
            .await
    }

    async fn mail_message(
        &self,
        user_id: &str,
        id: &str,
    ) -> Result<Option<switchboard_domain::mail::MailRecord>, StoreError> {
        let (u, i) = (user_id.to_string(), id.to_string());
        self.readers.read(move |c| mail::message(c, &u, &i)).await
    }

    async fn list_mail(
        &self,
        user_id: &str,
        folder_id: Option<&str>,
        query: &switchboard_domain::mail::MailQuery<'_>,
    ) -> Result<(Vec<switchboard_domain::mail::MailRecord>, Option<u64>), StoreError> {
        let (u, f) = (user_id.to_string(), folder_id.map(str::to_string));
        let filter = query.filter.cloned();
        let (search, order, skip, limit, count) = (
            query.search.clone(),
            query.order.clone(),
            query.skip,
            query.limit,
            query.count,
        );
        self.readers
            .read(move |c| {
                let q = switchboard_domain::mail::MailQuery {
                    filter: filter.as_ref(),
                    search,
                    order,
                    skip,
                    limit,
                    count,
                };
                mail::list(c, &u, f.as_deref(), &q)
            })
            .await
    }

    async fn write_mail(
        &self,
        write: &switchboard_domain::mail::MailWrite,
    ) -> Result<switchboard_domain::mail::MailOutcome, StoreError> {
        let w = write.clone();
        let encodings = mail::Encodings::of(&w);
        self.writer
            .write(move |c| mail::write_encoded(c, &w, &encodings))
            .await
    }

    async fn mail_attachments(
        &self,
        user_id: &str,
        message_key: &str,
    ) -> Result<Vec<switchboard_domain::mail_attachments::AttachmentRecord>, StoreError> {
        let (u, k) = (user_id.to_string(), message_key.to_string());
        self.readers
            .read(move |c| mail::attachments(c, &u, &k))
            .await
    }

    async fn mail_attachment(
        &self,
        user_id: &str,
        message_key: &str,
        id: &str,
    ) -> Result<Option<switchboard_domain::mail_attachments::AttachmentRecord>, StoreError> {
        let (u, k, id) = (user_id.to_string(), message_key.to_string(), id.to_string());
        self.readers
            .read(move |c| mail::attachment(c, &u, &k, &id))
            .await
    }

    async fn mail_change_seq(&self, user_id: &str) -> Result<i64, StoreError> {
        let u = user_id.to_string();
        self.readers.read(move |c| mail::change_seq(c, &u)).await
    }

    async fn mail_delta_initial(
        &self,
        folder_id: &str,
        received_from: Option<(i64, bool)>,
        cursor: Option<&(i64, String)>,
        limit: usize,
    ) -> Result<Vec<switchboard_domain::mail::MailRecord>, StoreError> {
        let (f, at) = (folder_id.to_string(), cursor.cloned());
        self.readers
            .read(move |c| mail::delta_initial(c, &f, received_from, at.as_ref(), limit))
            .await
    }

    async fn mail_delta_changes(
        &self,
        folder_id: &str,
        after: i64,
        filter: &switchboard_domain::mail_delta::DeltaFilter,
        limit: usize,
    ) -> Result<switchboard_domain::mail_delta::DeltaRows, StoreError> {
        let (f, filter) = (folder_id.to_string(), filter.clone());
        self.readers
            .read(move |c| mail::delta_changes(c, &f, after, &filter, limit))
            .await
    }

    async fn mail_folder_delta_initial(
        &self,
        user_id: &str,
        cursor: Option<&(i64, String)>,
        limit: usize,
    ) -> Result<Vec<switchboard_domain::mail::FolderRecord>, StoreError> {
        let (u, at) = (user_id.to_string(), cursor.cloned());
        self.readers
            .read(move |c| mail::folder_delta_initial(c, &u, at.as_ref(), limit))
            .await
    }

    async fn mail_folder_delta_changes(
        &self,
        user_id: &str,
        after: i64,
        limit: usize,
    ) -> Result<switchboard_domain::mail_delta::FolderDeltaRows, StoreError> {
        let u = user_id.to_string();
        self.readers
            .read(move |c| mail::folder_delta_changes(c, &u, after, limit))
            .await
    }

    async fn mail_recipients(
        &self,
        tenant_id: &str,
        keys: &[UserKey],
    ) -> Result<(Option<Tenant>, Vec<Option<UserRecord>>), StoreError> {
        let (t, keys) = (tenant_id.to_string(), keys.to_vec());
        // One trip to the reader pool instead of two (each costs two thread hand-offs).
        self.readers
            .read(move |c| {
                let tenant = tenants::tenant(c, &t)?;
                let users = keys
                    .iter()
                    .map(|k| users::get(c, &t, k))
                    .collect::<Result<_, _>>()?;
                Ok((tenant, users))
            })
            .await
    }

    async fn insert_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        let user = user.clone();
        self.writer.write(move |c| users::insert(c, &user)).await
    }

    async fn insert_users(&self, batch: &[UserRecord]) -> Result<(), StoreError> {
        let batch = batch.to_vec();
        self.writer
            .write(move |c| batch.iter().try_for_each(|u| users::insert(c, u)))
            .await
    }

    async fn user(&self, tenant_id: &str, key: &UserKey) -> Result<Option<UserRecord>, StoreError> {
        let (t, k) = (tenant_id.to_string(), key.clone());
        self.readers.read(move |c| users::get(c, &t, &k)).await
    }

    async fn users_by_keys(
        &self,
        tenant_id: &str,
        keys: &[UserKey],
    ) -> Result<Vec<Option<UserRecord>>, StoreError> {
        let (t, keys) = (tenant_id.to_string(), keys.to_vec());
        self.readers
            .read(move |c| keys.iter().map(|k| users::get(c, &t, k)).collect())
            .await
    }

    async fn list_users(
        &self,
        tenant_id: &str,
        query: &ListQuery<'_>,
    ) -> Result<Page<UserRecord>, StoreError> {
        let tenant = tenant_id.to_string();
        let query = OwnedListQuery::of(query);
        self.readers
            .read(move |c| query.with(|q| users::list(c, &tenant, q)))
            .await
    }

    async fn update_user(
        &self,
        tenant_id: &str,
        user_id: &str,
        patch: &UserPatch,
    ) -> Result<Option<UserRecord>, StoreError> {
        let (t, id, patch) = (tenant_id.to_string(), user_id.to_string(), patch.clone());
        self.writer
            .write(move |c| users::update(c, &t, &id, &patch))
            .await
    }

    async fn delete_user(&self, tenant_id: &str, user_id: &str) -> Result<bool, StoreError> {
        let (t, id) = (tenant_id.to_string(), user_id.to_string());
        self.writer.write(move |c| users::delete(c, &t, &id)).await
    }

    async fn create_chat(
        &self,
        chat: &ChatRecord,
        members: &[MemberRecord],
        events: &[NewMessage],
    ) -> Result<Created, StoreError> {
        let (chat, members, events) = (chat.clone(), members.to_vec(), events.to_vec());
        self.writer
            .write(move |c| chats::create(c, &chat, &members, &events))
            .await
    }

    async fn chat(&self, tenant_id: &str, chat_id: &str) -> Result<Option<ChatRecord>, StoreError> {
        let (t, id) = (tenant_id.to_string(), chat_id.to_string());
        self.readers.read(move |c| chats::get(c, &t, &id)).await
    }

    async fn member(
        &self,
        chat_id: &str,
        user_id: &str,
    ) -> Result<Option<MemberRecord>, StoreError> {
        let (chat, user) = (chat_id.to_string(), user_id.to_string());
        self.readers
            .read(move |c| chats::member(c, &chat, &user))
            .await
    }

    async fn chat_access(
        &self,
        tenant_id: &str,
        user: Option<&UserKey>,
        chat_id: &str,
    ) -> Result<(Option<UserRecord>, Option<ChatRecord>, Option<MemberRecord>), StoreError> {
        let (t, key, chat_id) = (tenant_id.to_string(), user.cloned(), chat_id.to_string());
        self.readers
            .read(move |c| chats::access(c, &t, key.as_ref(), &chat_id))
            .await
    }

    async fn members(&self, chat_id: &str) -> Result<Vec<MemberRecord>, StoreError> {
        let chat = chat_id.to_string();
        self.readers.read(move |c| chats::members(c, &chat)).await
    }

    async fn list_chats(
        &self,
        tenant_id: &str,
        user_id: &str,
        query: &ListQuery<'_>,
    ) -> Result<Page<ChatView>, StoreError> {
        let (tenant, user) = (tenant_id.to_string(), user_id.to_string());
        let query = OwnedListQuery::of(query);
        self.readers
            .read(move |c| query.with(|q| chats::list(c, &tenant, &user, q)))
            .await
    }

    async fn rename_chat(
        &self,
        tenant_id: &str,
        chat_id: &str,
        topic: &str,
        now_ms: i64,
        event: &NewMessage,
    ) -> Result<Option<ChatRecord>, StoreError> {
        let (t, id, topic, event) = (
            tenant_id.to_string(),
            chat_id.to_string(),
            topic.to_string(),
            event.clone(),
        );
        self.writer
            .write(move |c| chats::rename(c, &t, &id, &topic, now_ms, &event))
            .await
    }

    async fn delete_chat(
        &self,
        tenant_id: &str,
        chat_id: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let (t, id) = (tenant_id.to_string(), chat_id.to_string());
        self.writer
            .write(move |c| chats::delete(c, &t, &id, now_ms))
            .await
    }

    async fn set_viewpoint(
        &self,
        chat_id: &str,
        user_id: &str,
        change: ViewpointChange,
    ) -> Result<(), StoreError> {
        let (chat, user) = (chat_id.to_string(), user_id.to_string());
        self.writer
            .write(move |c| chats::set_viewpoint(c, &chat, &user, change))
            .await
    }

    async fn add_member(
        &self,
        member: &MemberRecord,
        event: &NewMessage,
    ) -> Result<(), StoreError> {
        let (member, event) = (member.clone(), event.clone());
        self.writer
            .write(move |c| chats::add_member(c, &member, &event))
            .await
    }

    async fn remove_member(
        &self,
        chat_id: &str,
        user_id: &str,
        now_ms: i64,
        event: &NewMessage,
    ) -> Result<RemoveOutcome, StoreError> {
        let (chat, user, event) = (chat_id.to_string(), user_id.to_string(), event.clone());
        self.writer
            .write(move |c| chats::remove_member(c, &chat, &user, now_ms, &event))
            .await
    }

    async fn last_messages(&self, chat_ids: &[String]) -> Result<Vec<MessageRecord>, StoreError> {
        let ids = chat_ids.to_vec();
        self.readers
            .read(move |c| chat_messages::last_messages(c, &ids))
            .await
    }

    async fn teams_apps(
        &self,
        tenant_id: &str,
        query: &ListQuery<'_>,
    ) -> Result<Page<TeamsAppRecord>, StoreError> {
        let tenant = tenant_id.to_string();
        let query = OwnedListQuery::of(query);
        self.readers
            .read(move |c| query.with(|q| teams_apps::list_apps(c, &tenant, q)))
            .await
    }

    async fn teams_app(
        &self,
        tenant_id: &str,
        app_id: &str,
    ) -> Result<Option<TeamsAppRecord>, StoreError> {
        let (t, id) = (tenant_id.to_string(), app_id.to_string());
        self.readers
            .read(move |c| teams_apps::app(c, &t, &id))
            .await
    }

    async fn app_definitions(
        &self,
        app_ids: &[String],
    ) -> Result<Vec<DefinitionRecord>, StoreError> {
        let ids = app_ids.to_vec();
        self.readers
            .read(move |c| teams_apps::definitions(c, &ids))
            .await
    }

    async fn insert_teams_app(
        &self,
        app: &TeamsAppRecord,
        definition: &DefinitionRecord,
    ) -> Result<(), StoreError> {
        let (app, definition) = (app.clone(), definition.clone());
        self.writer
            .write(move |c| teams_apps::insert_app(c, &app, &definition))
            .await
    }

    async fn insert_app_definition(
        &self,
        tenant_id: &str,
        definition: &DefinitionRecord,
    ) -> Result<bool, StoreError> {
        let (t, definition) = (tenant_id.to_string(), definition.clone());
        self.writer
            .write(move |c| teams_apps::add_definition(c, &t, &definition))
            .await
    }

    async fn delete_teams_app(
        &self,
        tenant_id: &str,
        app_id: &str,
        event: &NewMessage,
    ) -> Result<bool, StoreError> {
        let (t, id, event) = (tenant_id.to_string(), app_id.to_string(), event.clone());
        self.writer
            .write(move |c| teams_apps::delete_app(c, &t, &id, &event))
            .await
    }

    async fn installed_apps(
        &self,
        chat_id: &str,
        query: &ListQuery<'_>,
    ) -> Result<Page<InstalledApp>, StoreError> {
        let chat = chat_id.to_string();
        let query = OwnedListQuery::of(query);
        self.readers
            .read(move |c| query.with(|q| teams_apps::list_installed(c, &chat, q)))
            .await
    }

    async fn installed_app(
        &self,
        chat_id: &str,
        installation_id: &str,
    ) -> Result<Option<InstalledApp>, StoreError> {
        let (chat, id) = (chat_id.to_string(), installation_id.to_string());
        self.readers
            .read(move |c| teams_apps::installed(c, &chat, &id))
            .await
    }

    async fn install_app(
        &self,
        installation: &InstallationRecord,
        event: &NewMessage,
    ) -> Result<bool, StoreError> {
        let (installation, event) = (installation.clone(), event.clone());
        self.writer
            .write(move |c| teams_apps::install(c, &installation, &event))
            .await
    }

    async fn upgrade_installed_app(
        &self,
        chat_id: &str,
        installation_id: &str,
        definition_id: &str,
        permissions: Option<&[ResourceSpecificPermission]>,
        event: Option<&NewMessage>,
    ) -> Result<bool, StoreError> {
        let (chat, id, definition) = (
            chat_id.to_string(),
            installation_id.to_string(),
            definition_id.to_string(),
        );
        let (permissions, event) = (permissions.map(<[_]>::to_vec), event.cloned());
        self.writer
            .write(move |c| {
                teams_apps::upgrade(
                    c,
                    &chat,
                    &id,
                    &definition,
                    permissions.as_deref(),
                    event.as_ref(),
                )
            })
            .await
    }

    async fn remove_installed_app(
        &self,
        chat_id: &str,
        installation_id: &str,
        event: &NewMessage,
    ) -> Result<bool, StoreError> {
        let (chat, id, event) = (
            chat_id.to_string(),
            installation_id.to_string(),
            event.clone(),
        );
        self.writer
            .write(move |c| teams_apps::remove(c, &chat, &id, &event))
            .await
    }

    async fn bind_installed_app(
        &self,
        chat_id: &str,
        installation_id: &str,
        bound_chat_id: Option<&str>,
    ) -> Result<bool, StoreError> {
        let (chat, id, bound) = (
            chat_id.to_string(),
            installation_id.to_string(),
            bound_chat_id.map(str::to_string),
        );
        self.writer
            .write(move |c| teams_apps::bind(c, &chat, &id, bound.as_deref()))
            .await
    }

    async fn send_message(&self, message: &NewMessage) -> Result<MessageRecord, StoreError> {
        let message = message.clone();
        // Unguarded: a send fails only on a broken database (see `chat_messages::send`).
        self.writer
            .write_unguarded(move |c| chat_messages::send(c, message))
            .await
    }

    async fn send_message_checked(
        &self,
        tenant_id: &str,
        user: Option<&UserKey>,
        chat_id: &str,
        prepare: PrepareSend,
    ) -> Result<Result<MessageRecord, switchboard_domain::Error>, StoreError> {
        let (t, key, chat_id) = (tenant_id.to_string(), user.cloned(), chat_id.to_string());
        // The reads of `chat_access`, on the writer's connection inside the write transaction:
        // no round trip to the reader pool before the write. Unguarded: a refusal writes
        // nothing, and the send fails only on a broken database (see `chat_messages::send`).
        self.writer
            .write_unguarded(move |c| {
                match prepare(chats::access(c, &t, key.as_ref(), &chat_id)?) {
                    Ok(message) => chat_messages::send(c, message).map(Ok),
                    Err(refused) => Ok(Err(refused)),
                }
            })
            .await
    }

    async fn message(&self, chat_id: &str, id: i64) -> Result<Option<MessageRecord>, StoreError> {
        let chat = chat_id.to_string();
        self.readers
            .read(move |c| chat_messages::get(c, &chat, id))
            .await
    }

    async fn list_messages_checked(
        &self,
        tenant_id: &str,
        user: Option<&UserKey>,
        chat_id: &str,
        check: CheckRead,
        query: &ListQuery<'_>,
        rendered: RenderedLookup,
    ) -> Result<Result<Page<Listed>, switchboard_domain::Error>, StoreError> {
        let (t, key, chat_id) = (tenant_id.to_string(), user.cloned(), chat_id.to_string());
        let query = OwnedListQuery::of(query);
        // The reads of `chat_access` and the page in one read transaction: one hand-off to the
        // reader pool per list instead of two, and one snapshot (each new snapshot after a
        // commit starts with an empty page cache).
        self.readers
            .read(move |c| {
                let access = chats::access(c, &t, key.as_ref(), &chat_id)?;
                match check(access) {
                    Ok((chat, visible_from)) => query
                        .with(|q| {
                            chat_messages::list_versions(c, &chat, visible_from, q, &rendered)
                        })
                        .map(Ok),
                    Err(refused) => Ok(Err(refused)),
                }
            })
            .await
    }

    async fn change_message(
        &self,
        chat_id: &str,
        id: i64,
        change: &MessageChange,
    ) -> Result<ChangeOutcome, StoreError> {
        let (chat, change) = (chat_id.to_string(), change.clone());
        self.writer
            .write(move |c| chat_messages::change(c, &chat, id, &change))
            .await
    }

    async fn message_changes(
        &self,
        tenant_id: &str,
        user_id: &str,
        after_seq: i64,
        filter: Option<&switchboard_odata::ast::Expr>,
        limit: usize,
    ) -> Result<ChangePage, StoreError> {
        let (tenant, user, filter) = (tenant_id.to_string(), user_id.to_string(), filter.cloned());
        self.readers
            .read(move |c| {
                chat_messages::changes(c, &tenant, &user, after_seq, filter.as_ref(), limit)
            })
            .await
    }

    async fn message_token_secret(&self) -> Result<Vec<u8>, StoreError> {
        self.readers.read(chat_messages::token_secret).await
    }

    fn stats(&self) -> StoreStats {
        StoreStats {
            commits: self.writer.counters.commits.load(Ordering::Relaxed),
            writes: self.writer.counters.writes.load(Ordering::Relaxed),
        }
    }

    async fn shutdown(&self) {
        self.writer.shutdown().await;
    }
}
