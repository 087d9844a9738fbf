-- Planning a turn reads each column's thread: which messages it holds, in order. With this index
-- that is read from the index alone; the table rows (whose content may be megabytes, on overflow
-- pages that must all be visited to reach the columns after it) are read only for texts not kept
-- in memory already (tally_engine::store::texts). It replaces messages_by_column (same prefix).
CREATE INDEX messages_thread ON messages(column_id, id, superseded, role, status, created_at);
DROP INDEX messages_by_column;
