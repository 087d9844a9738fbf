-- Billed first: `cost` is what the route reported charging where it reports it (OpenRouter's
-- usage.cost, xAI's ticks), else the catalog's computation; the computation is kept beside it
-- (exact decimal text, NULL when the catalog had no price). Earlier rows computed `cost` from the
-- catalog whenever it had a price, so it is copied across for them.
-- Retries: how many requests an answer took and the time before its last one (refused attempts
-- and back-off); ttfb/ttft/total stay the last attempt's own figures.
ALTER TABLE usage ADD COLUMN computed_cost TEXT;
ALTER TABLE usage ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1;
ALTER TABLE usage ADD COLUMN waited_ms INTEGER NOT NULL DEFAULT 0;
UPDATE usage SET computed_cost = cost
 WHERE cost IS NOT NULL AND coalesce(json_extract(cost_json, '$.as_reported'), 0) = 0;
