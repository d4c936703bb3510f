-- The page index of a chat's messages (newest change first) also carries each message's change
-- sequence number, so a page is read from this index alone: (id, seq) names the version of
-- each message, and only the rows whose version the server has not rendered yet are read.
DROP INDEX chat_messages_modified;
CREATE INDEX chat_messages_modified ON chat_messages (chat_id, modified_ms, id, seq);
