-- Trims executions older than the retention (after the prelude).
-- KEYS: '', idx, written, sum, counters, buckets. ARGV: prefix, key_ttl_secs, now_ms,
-- retention_ms, batch. Returns how many were trimmed.
return trim(tonumber(ARGV[3]) - tonumber(ARGV[4]), tonumber(ARGV[5]))
