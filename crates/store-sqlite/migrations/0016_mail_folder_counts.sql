-- Every folder read (`mail::FOLDER_COLUMNS`) gives the folder's child folder, message and unread
-- message counts, and a draft, a send or a folder's message list reads its folder first. The
-- child count scanned every folder of every mailbox (no index starts with parent_id), and the
-- message counts walked every message of the folder (the unread one in the table, is_read being
-- in no index), so creating a draft cost more the more drafts there were.
CREATE INDEX mail_folders_parent ON mail_folders (parent_id);

-- The message counts are kept on the folder by triggers, in the transaction that changes them.
-- Messages change folder or read state by delete and insert (and the update triggers cover an
-- UPDATE of either column); deleting a folder tree deletes its messages first.
ALTER TABLE mail_folders ADD COLUMN total_item_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mail_folders ADD COLUMN unread_item_count INTEGER NOT NULL DEFAULT 0;
UPDATE mail_folders SET
    total_item_count = (SELECT count(*) FROM mail_messages AS m WHERE m.folder_id = mail_folders.id),
    unread_item_count = (SELECT count(*) FROM mail_messages AS m WHERE m.folder_id = mail_folders.id AND m.is_read = 0);

CREATE TRIGGER mail_messages_count_ai AFTER INSERT ON mail_messages BEGIN
    UPDATE mail_folders SET total_item_count = total_item_count + 1,
        unread_item_count = unread_item_count + (new.is_read = 0)
    WHERE id = new.folder_id;
END;
CREATE TRIGGER mail_messages_count_ad AFTER DELETE ON mail_messages BEGIN
    UPDATE mail_folders SET total_item_count = total_item_count - 1,
        unread_item_count = unread_item_count - (old.is_read = 0)
    WHERE id = old.folder_id;
END;
CREATE TRIGGER mail_messages_count_au AFTER UPDATE OF folder_id, is_read ON mail_messages BEGIN
    UPDATE mail_folders SET total_item_count = total_item_count - 1,
        unread_item_count = unread_item_count - (old.is_read = 0)
    WHERE id = old.folder_id;
    UPDATE mail_folders SET total_item_count = total_item_count + 1,
        unread_item_count = unread_item_count + (new.is_read = 0)
    WHERE id = new.folder_id;
END;
