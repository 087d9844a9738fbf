-- Conversations, their columns (one target each, one thread each), turns and messages, and the
-- usage of every answer with the price it was charged at. Money is exact decimal text (USD).
-- Times are RFC 3339 UTC text.

CREATE TABLE conversations (
    id                  INTEGER PRIMARY KEY,
    title               TEXT    NOT NULL,
    created_at          TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at          TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    -- running totals, kept as usage is written
    total_cost          TEXT    NOT NULL DEFAULT '0',
    input_tokens        INTEGER NOT NULL DEFAULT 0,
    output_tokens       INTEGER NOT NULL DEFAULT 0,
    unpriced_answers    INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE columns (
    id                  INTEGER PRIMARY KEY,
    conversation_id     INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    position            INTEGER NOT NULL,
    route               TEXT    NOT NULL,
    model               TEXT    NOT NULL,
    params_json         TEXT    NOT NULL DEFAULT '{}',
    total_cost          TEXT    NOT NULL DEFAULT '0',
    input_tokens        INTEGER NOT NULL DEFAULT 0,
    output_tokens       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX columns_by_conversation ON columns(conversation_id, position);

CREATE TABLE turns (
    id                  INTEGER PRIMARY KEY,
    conversation_id     INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    prompt              TEXT    NOT NULL,
    created_at          TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX turns_by_conversation ON turns(conversation_id, id);

CREATE TABLE messages (
    id                  INTEGER PRIMARY KEY,
    column_id           INTEGER NOT NULL REFERENCES columns(id) ON DELETE CASCADE,
    turn_id             INTEGER NOT NULL REFERENCES turns(id) ON DELETE CASCADE,
    role                TEXT    NOT NULL CHECK (role IN ('user', 'assistant')),
    content             TEXT    NOT NULL DEFAULT '',
    reasoning           TEXT    NOT NULL DEFAULT '',
    status              TEXT    NOT NULL CHECK (status IN ('streaming', 'done', 'stopped', 'failed')),
    finish_reason       TEXT,
    error_kind          TEXT,
    error_message       TEXT,
    error_detail        TEXT,
    created_at          TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX messages_by_column ON messages(column_id, id);
CREATE INDEX messages_by_turn ON messages(turn_id);

CREATE TABLE usage (
    message_id          INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    conversation_id     INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    route               TEXT    NOT NULL,
    provider            TEXT    NOT NULL,
    model               TEXT    NOT NULL,
    served_model        TEXT,
    -- normalised: input counts every input token (cached reads and writes included),
    -- output every output token (reasoning included); see tally_engine::stream::Usage
    input_tokens        INTEGER NOT NULL,
    cached_input_tokens INTEGER NOT NULL,
    cache_write_tokens  INTEGER NOT NULL,
    output_tokens       INTEGER NOT NULL,
    reasoning_tokens    INTEGER NOT NULL,
    estimated           INTEGER NOT NULL CHECK (estimated IN (0, 1)),
    price_json          TEXT,               -- the price charged, as it was then; NULL when unknown
    cost_json           TEXT,               -- the itemised cost; NULL when unpriced
    cost                TEXT,               -- exact decimal USD; NULL when unpriced
    reported_cost       TEXT,               -- what the route said it charged (OpenRouter)
    ttfb_ms             INTEGER,
    ttft_ms             INTEGER,
    total_ms            INTEGER NOT NULL,
    origin              TEXT    NOT NULL DEFAULT 'app' CHECK (origin IN ('app', 'cli')),
    created_at          TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX usage_by_time ON usage(created_at);
