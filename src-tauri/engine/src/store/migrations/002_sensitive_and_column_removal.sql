-- A sensitive conversation uses direct routes only (no OpenRouter columns).
ALTER TABLE conversations ADD COLUMN sensitive INTEGER NOT NULL DEFAULT 0 CHECK (sensitive IN (0, 1));
-- Removing a column hides it: its answers and their usage stay in history and in the totals.
ALTER TABLE columns ADD COLUMN removed INTEGER NOT NULL DEFAULT 0 CHECK (removed IN (0, 1));
