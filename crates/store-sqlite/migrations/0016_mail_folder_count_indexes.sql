-- Every folder read (`mail::FOLDER_COLUMNS`) counts the folder's child folders, messages and
-- unread messages, and a draft, a send or a folder's message list reads its folder first. The
-- child count scanned every folder of every mailbox (no index starts with parent_id), and the
-- unread count looked up every message of the folder in the table (is_read is in no index), so
-- creating a draft cost more the more drafts there were.
CREATE INDEX mail_folders_parent ON mail_folders (parent_id);
-- Partial: only unread messages are in it; is_read too, so the count reads the index alone.
CREATE INDEX mail_messages_unread ON mail_messages (folder_id, is_read) WHERE is_read = 0;
