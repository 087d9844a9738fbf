-- A conversation's running totals get a revision, bumped in the same transaction that changes
-- them, so a reader holding two snapshots knows which is newer (answers finish concurrently and
-- their events may arrive out of order).
ALTER TABLE conversations ADD COLUMN totals_revision INTEGER NOT NULL DEFAULT 0;
