-- Every message send brings its chat back into view for the members who had hidden it
-- (`chat_messages::send`: `UPDATE chat_members SET is_hidden = 0 WHERE chat_id = ? AND
-- is_hidden = 1`). No index has is_hidden, so that walked every member row of the chat, on the
-- writer thread, for every send (65 rows in the benchmark's "Everyone" chat; a group chat can
-- have hundreds). Hidden memberships are few: a partial index holds only them, so it costs
-- nothing when members are added or read a chat, and the send's update is one seek that
-- usually finds nothing.
CREATE INDEX chat_members_hidden ON chat_members (chat_id) WHERE is_hidden = 1;
