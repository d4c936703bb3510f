-- Mail change tracking (message delta per folder) and immutable message ids.
--
-- Every write of a message stamps it with its mailbox's next change sequence number, in the same
-- transaction; `added_seq` is the number it had when it entered its folder (so a delta round can
-- tell created from updated). A message leaving a folder (deleted, moved out, sent from Drafts)
-- leaves a row in `mail_removals` with a number of the same sequence. A delta round is then two
-- range reads on (folder_id, change_seq).
--
-- `immutable_id` is the id `Prefer: IdType="ImmutableId"` shows: made once, kept across moves.

ALTER TABLE mail_messages ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mail_messages ADD COLUMN added_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mail_messages ADD COLUMN immutable_id TEXT NOT NULL DEFAULT '';

-- Existing messages get numbers in the order they were stored, and keep their id as immutable id.
UPDATE mail_messages SET change_seq = r.n, added_seq = r.n, immutable_id = mail_messages.id
FROM (
    SELECT seq, row_number() OVER (PARTITION BY user_id ORDER BY seq) AS n FROM mail_messages
) AS r
WHERE r.seq = mail_messages.seq;

CREATE INDEX mail_messages_changes ON mail_messages (folder_id, change_seq);
CREATE UNIQUE INDEX mail_messages_immutable ON mail_messages (user_id, immutable_id);

-- The newest change sequence number handed out per mailbox.
CREATE TABLE mail_change_sequences (
    user_id  TEXT PRIMARY KEY,
    seq      INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

INSERT INTO mail_change_sequences (user_id, seq)
    SELECT user_id, max(change_seq) FROM mail_messages GROUP BY user_id;

-- Messages that left a folder: what delta reports as `@removed`.
CREATE TABLE mail_removals (
    folder_id     TEXT NOT NULL,
    change_seq    INTEGER NOT NULL,
    user_id       TEXT NOT NULL,
    message_id    TEXT NOT NULL,
    immutable_id  TEXT NOT NULL,
    removed_ms    INTEGER NOT NULL,
    PRIMARY KEY (folder_id, change_seq)
) STRICT, WITHOUT ROWID;

-- Folder delta: a folder is stamped with its mailbox's change number when it is created, renamed,
-- or its counts change (a message arrives, changes or leaves); deleted folders leave a removal.
ALTER TABLE mail_folders ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;
CREATE INDEX mail_folders_changes ON mail_folders (user_id, change_seq);

CREATE TABLE mail_folder_removals (
    user_id     TEXT NOT NULL,
    change_seq  INTEGER NOT NULL,
    folder_id   TEXT NOT NULL,
    PRIMARY KEY (user_id, change_seq)
) STRICT, WITHOUT ROWID;
