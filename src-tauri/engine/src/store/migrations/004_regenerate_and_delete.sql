-- A regenerated answer supersedes the old one: the old one leaves the view and the thread, but
-- stays in history with its usage (it was paid for).
ALTER TABLE messages ADD COLUMN superseded INTEGER NOT NULL DEFAULT 0 CHECK (superseded IN (0, 1));
-- Deleting a conversation hides it (and can be undone); its spend stays in the usage history.
ALTER TABLE conversations ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1));
CREATE INDEX messages_by_content_search ON messages(column_id) WHERE superseded = 0;
