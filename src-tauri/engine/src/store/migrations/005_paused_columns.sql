-- A paused column sits out new turns until it is resumed.
ALTER TABLE columns ADD COLUMN paused INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1));
