-- Outlook mail: every user's mailbox (folders) and its messages, with an FTS5 index for
-- $search kept in step by triggers (so in the same transaction as every write).

CREATE TABLE mail_folders (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    parent_id    TEXT,                -- NULL only for the mailbox root (msgfolderroot)
    display_name TEXT NOT NULL,
    well_known   TEXT,                -- inbox, drafts, … (lower case), NULL for user folders
    is_hidden    INTEGER NOT NULL DEFAULT 0,
    created_ms   INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX mail_folders_name ON mail_folders (user_id, parent_id, lower(display_name));
CREATE UNIQUE INDEX mail_folders_well_known ON mail_folders (user_id, well_known) WHERE well_known IS NOT NULL;

CREATE TABLE mail_messages (
    seq                   INTEGER PRIMARY KEY,
    id                    TEXT NOT NULL UNIQUE,
    tenant_id             TEXT NOT NULL,
    user_id               TEXT NOT NULL,
    folder_id             TEXT NOT NULL REFERENCES mail_folders (id),
    change_key            TEXT NOT NULL,
    created_ms            INTEGER NOT NULL,
    modified_ms           INTEGER NOT NULL,
    received_ms           INTEGER NOT NULL,
    sent_ms               INTEGER,
    is_draft              INTEGER NOT NULL,
    is_read               INTEGER NOT NULL,
    subject               TEXT,
    body_type             TEXT NOT NULL,
    body                  TEXT NOT NULL,
    body_text             TEXT NOT NULL,
    importance            TEXT NOT NULL,
    inference             TEXT NOT NULL,
    from_address          TEXT,
    from_name             TEXT,
    sender_address        TEXT,
    recipients_text       TEXT NOT NULL,
    flag_status           TEXT NOT NULL,
    categories            TEXT NOT NULL,
    has_attachments       INTEGER NOT NULL,
    internet_message_id   TEXT NOT NULL,
    conversation_id       TEXT NOT NULL,
    doc                   TEXT NOT NULL      -- every other property, as Graph JSON
) STRICT;
CREATE INDEX mail_messages_folder ON mail_messages (folder_id, received_ms DESC);
CREATE INDEX mail_messages_user ON mail_messages (user_id, received_ms DESC);

CREATE VIRTUAL TABLE mail_search USING fts5 (subject, body, sender, recipients, tokenize = 'unicode61 remove_diacritics 2');

CREATE TRIGGER mail_messages_ai AFTER INSERT ON mail_messages BEGIN
    INSERT INTO mail_search (rowid, subject, body, sender, recipients)
    VALUES (new.seq, coalesce(new.subject, ''), new.body_text, coalesce(new.from_address, '') || ' ' || coalesce(new.from_name, ''), new.recipients_text);
END;
CREATE TRIGGER mail_messages_ad AFTER DELETE ON mail_messages BEGIN
    DELETE FROM mail_search WHERE rowid = old.seq;
END;
CREATE TRIGGER mail_messages_au AFTER UPDATE OF subject, body_text, from_address, from_name, recipients_text ON mail_messages BEGIN
    DELETE FROM mail_search WHERE rowid = old.seq;
    INSERT INTO mail_search (rowid, subject, body, sender, recipients)
    VALUES (new.seq, coalesce(new.subject, ''), new.body_text, coalesce(new.from_address, '') || ' ' || coalesce(new.from_name, ''), new.recipients_text);
END;
