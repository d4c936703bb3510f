-- File attachments of mail messages. They belong to the message's immutable id (which survives
-- moves and the send from Drafts to Sent Items), so a move does not have to touch them; copies and
-- deliveries get copies. `has_attachments` on the message is kept in the same transaction.

CREATE TABLE mail_attachments (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL,
    message_key   TEXT NOT NULL,      -- mail_messages.immutable_id
    name          TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size          INTEGER NOT NULL,
    is_inline     INTEGER NOT NULL,
    content_id    TEXT,
    modified_ms   INTEGER NOT NULL,
    content       BLOB NOT NULL
) STRICT;
CREATE INDEX mail_attachments_message ON mail_attachments (user_id, message_key);
