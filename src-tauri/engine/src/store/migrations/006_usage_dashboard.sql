-- The usage dashboard, budgets and CSV import/export.
--
-- 1. `usage` is rebuilt the SQLite way (new table, copy, drop, rename) so that a row can exist
--    without a message or conversation in this database (imported from another one): it gets its
--    own integer key and a stable unique `uid` (the CSV's dedupe key); `message_id` and
--    `conversation_id` become optional, still unique / cascading where present. `effective_cost`
--    (list cost + route fee, exact decimal text) is copied out of `cost_json` so sums need no JSON.
-- 2. Daily roll-ups in exact decimal text, kept by the code that writes usage (store::rollups):
--    SQLite's SUM() over decimal text goes through floating point, so money is never summed here.
--    They are (re)built from the rows by Rust the first time the database is opened after this
--    migration (`usage_rollups_pending`).
-- 3. Budgets and the alerts already fired (unique per budget × period × threshold: each fires once).

CREATE TABLE usage_new (
    id                  INTEGER PRIMARY KEY,
    uid                 TEXT    NOT NULL UNIQUE,
    message_id          INTEGER UNIQUE REFERENCES messages(id) ON DELETE CASCADE,
    conversation_id     INTEGER REFERENCES conversations(id) ON DELETE CASCADE,
    -- imported rows only: the conversation's title in the database they came from
    conversation_title  TEXT,
    route               TEXT    NOT NULL,
    provider            TEXT    NOT NULL,
    model               TEXT    NOT NULL,
    served_model        TEXT,
    input_tokens        INTEGER NOT NULL,
    cached_input_tokens INTEGER NOT NULL,
    cache_write_tokens  INTEGER NOT NULL,
    output_tokens       INTEGER NOT NULL,
    reasoning_tokens    INTEGER NOT NULL,
    estimated           INTEGER NOT NULL CHECK (estimated IN (0, 1)),
    price_json          TEXT,
    cost_json           TEXT,
    cost                TEXT,
    effective_cost      TEXT,
    reported_cost       TEXT,
    ttfb_ms             INTEGER,
    ttft_ms             INTEGER,
    total_ms            INTEGER NOT NULL,
    origin              TEXT    NOT NULL DEFAULT 'app' CHECK (origin IN ('app', 'cli')),
    imported            INTEGER NOT NULL DEFAULT 0 CHECK (imported IN (0, 1)),
    created_at          TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

INSERT INTO usage_new (uid, message_id, conversation_id, route, provider, model, served_model,
    input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, estimated,
    price_json, cost_json, cost, effective_cost, reported_cost, ttfb_ms, ttft_ms, total_ms, origin, created_at)
SELECT lower(hex(randomblob(16))), message_id, conversation_id, route, provider, model, served_model,
    input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, estimated,
    price_json, cost_json, cost,
    CASE WHEN cost IS NULL THEN NULL ELSE coalesce(json_extract(cost_json, '$.effective_total'), cost) END,
    reported_cost, ttfb_ms, ttft_ms, total_ms, origin, created_at
FROM usage ORDER BY created_at, message_id;

DROP TABLE usage;
ALTER TABLE usage_new RENAME TO usage;

-- Export and range scans read by time.
CREATE INDEX usage_by_time ON usage(created_at);
-- Latency percentiles read the latest measured, non-estimated answers of one route × model in a
-- time range: this partial index covers that query and hands the rows over newest first.
CREATE INDEX usage_latency ON usage(route, model, created_at, ttft_ms, total_ms, output_tokens)
    WHERE estimated = 0 AND ttft_ms IS NOT NULL;

-- Per UTC day × route × provider × model. Money is exact decimal text.
CREATE TABLE usage_daily (
    day                 TEXT    NOT NULL,           -- YYYY-MM-DD, UTC
    route               TEXT    NOT NULL,
    provider            TEXT    NOT NULL,
    model               TEXT    NOT NULL,
    cost                TEXT    NOT NULL DEFAULT '0',
    effective_cost      TEXT    NOT NULL DEFAULT '0',
    answers             INTEGER NOT NULL DEFAULT 0,
    unpriced_answers    INTEGER NOT NULL DEFAULT 0,
    estimated_answers   INTEGER NOT NULL DEFAULT 0,
    input_tokens        INTEGER NOT NULL DEFAULT 0,
    cached_input_tokens INTEGER NOT NULL DEFAULT 0,
    cache_write_tokens  INTEGER NOT NULL DEFAULT 0,
    output_tokens       INTEGER NOT NULL DEFAULT 0,
    reasoning_tokens    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, route, provider, model)
) WITHOUT ROWID;

-- Per UTC day × conversation (`conversation_id` 0 and the imported title for rows whose
-- conversation is not in this database; '' as title otherwise).
CREATE TABLE usage_conversation_daily (
    day                 TEXT    NOT NULL,
    conversation_id     INTEGER NOT NULL,
    conversation_title  TEXT    NOT NULL,
    cost                TEXT    NOT NULL DEFAULT '0',
    effective_cost      TEXT    NOT NULL DEFAULT '0',
    answers             INTEGER NOT NULL DEFAULT 0,
    unpriced_answers    INTEGER NOT NULL DEFAULT 0,
    estimated_answers   INTEGER NOT NULL DEFAULT 0,
    input_tokens        INTEGER NOT NULL DEFAULT 0,
    cached_input_tokens INTEGER NOT NULL DEFAULT 0,
    cache_write_tokens  INTEGER NOT NULL DEFAULT 0,
    output_tokens       INTEGER NOT NULL DEFAULT 0,
    reasoning_tokens    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, conversation_id, conversation_title)
) WITHOUT ROWID;

-- Present until Rust has built the roll-ups from the rows copied above (at the next open).
CREATE TABLE usage_rollups_pending (one INTEGER PRIMARY KEY CHECK (one = 1));
INSERT INTO usage_rollups_pending VALUES (1);

CREATE TABLE budgets (
    id          INTEGER PRIMARY KEY,
    period      TEXT    NOT NULL CHECK (period IN ('day', 'month')),
    provider    TEXT,                               -- NULL: every provider together
    limit_usd   TEXT    NOT NULL,                   -- exact decimal
    hard        INTEGER NOT NULL DEFAULT 0 CHECK (hard IN (0, 1)),
    created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- Each alert once: budget thresholds per budget × period × percent; spikes per day (budget_id 0).
CREATE TABLE usage_alerts (
    id          INTEGER PRIMARY KEY,
    kind        TEXT    NOT NULL CHECK (kind IN ('budget', 'spike')),
    budget_id   INTEGER NOT NULL DEFAULT 0,
    period      TEXT    NOT NULL,                   -- YYYY-MM-DD or YYYY-MM
    threshold   INTEGER NOT NULL DEFAULT 0,         -- percent; 0 for a spike
    message     TEXT    NOT NULL,
    fired_at    TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (kind, budget_id, period, threshold)
);
