-- Which process is streaming an answer ("boot id/pid/start time"), so that another process
-- opening the database can tell an answer still being written from one whose process is gone
-- (killed, crashed, terminal closed) and bill it. NULL for answers from before this migration.
ALTER TABLE messages ADD COLUMN owner TEXT;
-- The provider's usage as soon as it arrives (JSON of the engine's Usage, with served_model),
-- so an answer whose process dies before it is finished is billed with the provider's figures.
ALTER TABLE messages ADD COLUMN pending_usage TEXT;
CREATE INDEX messages_streaming ON messages (status) WHERE status = 'streaming';
