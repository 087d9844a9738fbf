-- The process that created a conversation for `tally-cli ask` ("boot id/pid/start time", as for
-- answers), so that one it left without a turn (killed between creating the conversation and
-- recording the turn) is removed the next time the history is opened, once that process is gone.
-- NULL for conversations made in the window (an empty new comparison is kept there, its columns
-- set up) and for those from before this migration: never removed by that rule.
ALTER TABLE conversations ADD COLUMN owner TEXT;
