-- Chat message change tracking, for getAllMessages and its delta.
--
-- Every write of a chat message (send, system event, edit, soft delete, undo, reaction) stamps
-- the row with the tenant's next change sequence number, in the same transaction. Sequence
-- numbers only grow, so "what changed since sequence N" is `seq > N`, and a delta token only
-- has to carry the last sequence number its client has seen.

ALTER TABLE chat_messages ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;

-- Existing messages get sequence numbers in the order they were last changed.
UPDATE chat_messages SET seq = r.n
FROM (
    SELECT chat_id, id,
           row_number() OVER (PARTITION BY tenant_id ORDER BY modified_ms, chat_id, id) AS n
    FROM chat_messages
) AS r
WHERE r.chat_id = chat_messages.chat_id AND r.id = chat_messages.id;

CREATE UNIQUE INDEX chat_messages_seq ON chat_messages (tenant_id, seq);

-- The newest sequence number handed out per tenant.
CREATE TABLE chat_message_sequences (
    tenant_id  TEXT PRIMARY KEY,
    seq        INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

INSERT INTO chat_message_sequences (tenant_id, seq)
    SELECT tenant_id, max(seq) FROM chat_messages GROUP BY tenant_id;

-- The key delta and paging tokens are signed with (HMAC-SHA256); made once, here, per database.
CREATE TABLE chat_message_token_keys (
    id          INTEGER PRIMARY KEY,
    secret      BLOB NOT NULL,
    created_ms  INTEGER NOT NULL
) STRICT;

INSERT INTO chat_message_token_keys (id, secret, created_ms)
    VALUES (1, randomblob(32), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
