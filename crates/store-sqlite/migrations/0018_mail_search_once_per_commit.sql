-- The search index (`mail_search`) is written once per group commit instead of once per message.
--
-- FTS5 turns the terms it holds in memory into a new index segment at every savepoint, and the
-- writer runs each write of a group in its own savepoint, so indexing from the insert trigger
-- wrote a segment (and rewrote the index's structure record) per message. Now the triggers only
-- note the message in `mail_search_pending`, and the writer indexes every noted message with
-- one statement after the group's writes and before its COMMIT (`mail::index_pending`): in the
-- same transaction, so a message is searchable exactly when its write is committed, and a
-- write rolled back to its savepoint takes its note with it.

CREATE TABLE mail_search_pending (
    seq INTEGER PRIMARY KEY          -- mail_messages.seq
) STRICT;

DROP TRIGGER mail_messages_ai;
DROP TRIGGER mail_messages_ad;
DROP TRIGGER mail_messages_au;

CREATE TRIGGER mail_messages_ai AFTER INSERT ON mail_messages BEGIN
    INSERT INTO mail_search_pending (seq) VALUES (new.seq);
END;
-- A message deleted before its group is indexed has nothing in the index yet; the DELETE finds
-- no row then.
CREATE TRIGGER mail_messages_ad AFTER DELETE ON mail_messages BEGIN
    DELETE FROM mail_search WHERE rowid = old.seq;
    DELETE FROM mail_search_pending WHERE seq = old.seq;
END;
CREATE TRIGGER mail_messages_au AFTER UPDATE OF subject, body_text, from_address, from_name, recipients_text ON mail_messages BEGIN
    DELETE FROM mail_search WHERE rowid = old.seq;
    INSERT OR IGNORE INTO mail_search_pending (seq) VALUES (new.seq);
END;
