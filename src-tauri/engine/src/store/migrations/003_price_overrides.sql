-- The user's own price for a target (`route:model`), used instead of the catalog's.
CREATE TABLE price_overrides (
    target      TEXT PRIMARY KEY,
    price_json  TEXT NOT NULL,
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
