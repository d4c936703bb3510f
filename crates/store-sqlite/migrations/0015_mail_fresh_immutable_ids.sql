-- Messages stored before 0012 were given their id as immutable id. A message moves to a new id
-- while keeping its immutable id, so after a move its old id still found it through the
-- immutable-id lookup, where Graph answers 404. Such messages get a fresh immutable id in the
-- shape of `mail::new_message_id` (`AAMkA` and 64 base64url characters), and their attachments,
-- which belong to the immutable id, follow.
--
-- Which ones: an immutable id equal to the message's id (not moved since 0012), or equal to an
-- id the message had in a folder it left (moved since: its removal names that id). Immutable ids
-- made since 0012 are never a message's id. A message whose old folder was deleted since loses
-- that removal, and keeps its immutable id.

CREATE TEMP TABLE fresh_immutable_ids AS
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 64)
SELECT m.user_id AS user_id, m.immutable_id AS old_id,
    'AAMkA' || (
        -- Correlated with the row, so it runs once per message.
        SELECT group_concat(
            substr('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_', (random() & 63) + 1, 1),
            '')
        FROM n WHERE m.seq = m.seq
    ) AS new_id
FROM mail_messages AS m
WHERE m.immutable_id = m.id
   OR (m.user_id, m.immutable_id) IN (SELECT user_id, message_id FROM mail_removals);

UPDATE mail_attachments SET message_key = f.new_id
FROM fresh_immutable_ids AS f
WHERE mail_attachments.user_id = f.user_id AND mail_attachments.message_key = f.old_id;

UPDATE mail_messages SET immutable_id = f.new_id
FROM fresh_immutable_ids AS f
WHERE mail_messages.user_id = f.user_id AND mail_messages.immutable_id = f.old_id;

DROP TABLE fresh_immutable_ids;
