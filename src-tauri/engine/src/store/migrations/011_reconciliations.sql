-- OpenRouter's own record of each answer it served (`GET /api/v1/generation?id=…`), kept beside
-- the usage row so the ledger can be checked against the bill. One row per answer sent through
-- OpenRouter whose generation id is known. `state`: 'pending' until the record is read (it lags
-- the answer), 'reconciled' once it is, 'unavailable' when it could not be had (no record after
-- the retries, a refused key); a reconciliation on request starts it again.
-- Money is exact decimal text (USD); times are RFC 3339 UTC text.
CREATE TABLE reconciliations (
    message_id              INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    generation_id           TEXT    NOT NULL,
    state                   TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'reconciled', 'unavailable')),
    attempts                INTEGER NOT NULL DEFAULT 0,
    last_error              TEXT,
    provider_name           TEXT,               -- who served it (OpenRouter's provider_name)
    native_input_tokens     INTEGER,            -- as the serving provider counted them
    native_output_tokens    INTEGER,
    native_cached_tokens    INTEGER,
    native_reasoning_tokens INTEGER,
    total_cost              TEXT,               -- OpenRouter's charge
    upstream_inference_cost TEXT,               -- with BYOK, the provider's own bill
    is_byok                 INTEGER CHECK (is_byok IN (0, 1)),
    billed_cost             TEXT,               -- what the user paid: total_cost (+ upstream with BYOK)
    recorded_cost           TEXT,               -- what the ledger had when it was checked
    difference              TEXT,               -- billed_cost − recorded_cost
    cache_discount          TEXT,
    generation_time_ms      INTEGER,
    latency_ms              INTEGER,
    requested_at            TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    checked_at              TEXT
);
-- The app resumes unfinished checks at start-up.
CREATE INDEX reconciliations_pending ON reconciliations(message_id) WHERE state = 'pending';
