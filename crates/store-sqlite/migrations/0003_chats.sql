-- Teams chats, their members and per-member state, chat messages (system events included), the
-- tenant's Teams app catalogue and the apps installed in chats.

CREATE TABLE chats (
    id                TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL REFERENCES tenants (id),
    chat_type         TEXT NOT NULL,
    topic             TEXT,
    created_ms        INTEGER NOT NULL,
    last_updated_ms   INTEGER NOT NULL,
    -- Id allocator for messages: each new message gets max(now_ms, last_message_id + 1).
    last_message_id   INTEGER NOT NULL DEFAULT 0,
    -- createdDateTime of the newest message (lastMessagePreview), for $orderby.
    last_message_ms   INTEGER,
    online_meeting    TEXT,
    deleted_ms        INTEGER
) STRICT;
CREATE INDEX chats_tenant ON chats (tenant_id, id);

CREATE TABLE chat_members (
    chat_id             TEXT NOT NULL REFERENCES chats (id),
    user_id             TEXT NOT NULL,
    tenant_id           TEXT NOT NULL,
    roles               TEXT NOT NULL,
    -- NULL: no history shared; otherwise the first instant the member may read.
    visible_history_ms  INTEGER,
    added_ms            INTEGER NOT NULL,
    is_hidden           INTEGER NOT NULL DEFAULT 0,
    last_read_ms        INTEGER,
    PRIMARY KEY (chat_id, user_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX chat_members_user ON chat_members (user_id, chat_id);

CREATE TABLE chat_messages (
    chat_id            TEXT NOT NULL REFERENCES chats (id),
    id                 INTEGER NOT NULL,
    tenant_id          TEXT NOT NULL,
    message_type       TEXT NOT NULL,
    from_user_id       TEXT,
    from_display_name  TEXT,
    body_type          TEXT NOT NULL,
    body               TEXT NOT NULL,
    subject            TEXT,
    importance         TEXT NOT NULL,
    mentions           TEXT NOT NULL DEFAULT '[]',
    attachments        TEXT NOT NULL DEFAULT '[]',
    reactions          TEXT NOT NULL DEFAULT '[]',
    history            TEXT NOT NULL DEFAULT '[]',
    event_detail       TEXT,
    created_ms         INTEGER NOT NULL,
    modified_ms        INTEGER NOT NULL,
    edited_ms          INTEGER,
    deleted_ms         INTEGER,
    PRIMARY KEY (chat_id, id)
) STRICT, WITHOUT ROWID;
CREATE INDEX chat_messages_modified ON chat_messages (chat_id, modified_ms, id);

CREATE TABLE teams_apps (
    id                   TEXT PRIMARY KEY,
    tenant_id            TEXT NOT NULL REFERENCES tenants (id),
    external_id          TEXT,
    display_name         TEXT NOT NULL,
    distribution_method  TEXT NOT NULL,
    created_ms           INTEGER NOT NULL
) STRICT;
CREATE INDEX teams_apps_tenant ON teams_apps (tenant_id, id);
CREATE UNIQUE INDEX teams_apps_external ON teams_apps (tenant_id, external_id);

CREATE TABLE teams_app_definitions (
    id                  TEXT PRIMARY KEY,
    teams_app_id        TEXT NOT NULL REFERENCES teams_apps (id),
    version             TEXT NOT NULL,
    display_name        TEXT NOT NULL,
    short_description   TEXT,
    description         TEXT,
    publishing_state    TEXT NOT NULL,
    created_by          TEXT,
    created_ms          INTEGER NOT NULL,
    modified_ms         INTEGER NOT NULL
) STRICT;
CREATE INDEX teams_app_definitions_app ON teams_app_definitions (teams_app_id, created_ms);

CREATE TABLE chat_installed_apps (
    id              TEXT PRIMARY KEY,
    chat_id         TEXT NOT NULL REFERENCES chats (id),
    teams_app_id    TEXT NOT NULL REFERENCES teams_apps (id),
    definition_id   TEXT NOT NULL REFERENCES teams_app_definitions (id),
    -- The installation's `chat` navigation (the seed's $ref binding); NULL once unbound.
    bound_chat_id   TEXT,
    permissions     TEXT NOT NULL DEFAULT '[]',
    created_ms      INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX chat_installed_apps_unique ON chat_installed_apps (chat_id, teams_app_id);

-- Members with their directory data, for `members/any(m: m/displayName eq '…')` on chat lists.
CREATE VIEW chat_member_view AS
    SELECT m.chat_id, m.user_id, m.tenant_id, u.display_name, u.mail AS email
    FROM chat_members AS m LEFT JOIN users AS u ON u.id = m.user_id;
