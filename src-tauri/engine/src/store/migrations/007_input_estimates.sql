-- The input tokens Tally estimated for an answer's request when it was sent (chat overhead
-- included), so the estimate can be compared with the provider's real count afterwards.
-- NULL for answers from before this migration.
ALTER TABLE messages ADD COLUMN input_estimate INTEGER;
