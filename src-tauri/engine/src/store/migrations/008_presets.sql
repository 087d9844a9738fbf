-- A named set of columns (targets with their parameters) that new conversations can start from.
CREATE TABLE presets (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL UNIQUE,
    columns_json TEXT    NOT NULL,   -- [{"target": "route:model", "params": {…}}], in column order
    created_at   TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
