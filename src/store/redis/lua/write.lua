-- Writes one execution record (after the prelude). Atomic and idempotent: an unchanged
-- summary touches no aggregate, so a replayed record is never counted twice.
-- KEYS: exec, idx, written, sum, counters, buckets, dur (or '').
-- ARGV: prefix, key_ttl_secs, id, json, summary, finished_ms, now_ms, retention_ms, dur_cap,
-- trim_batch. Returns 1 (new), 2 (replaced with another summary) or 0 (same summary).
local id, json, summary = ARGV[3], ARGV[4], ARGV[5]
local finished, now = ARGV[6], ARGV[7]
local outcome = 0
local old = redis.call('HGET', SUM, id)
if old ~= summary then
  if old then
    forget(id, old)
    outcome = 2
  else
    outcome = 1
  end
  local f = split(summary)
  apply(f, 1)
  bucket_add(f, id .. '|' .. summary)
  redis.call('HSET', SUM, id, summary)
end
redis.call('SET', KEYS[1], json, 'EX', TTL)
redis.call('ZADD', IDX, finished, id)
redis.call('ZADD', WRITTEN, now, id)
if KEYS[7] ~= '' then
  redis.call('ZADD', KEYS[7], finished, id)
  redis.call('ZREMRANGEBYRANK', KEYS[7], 0, -(tonumber(ARGV[9]) + 1))
  redis.call('EXPIRE', KEYS[7], TTL)
end
for i = 2, 6 do redis.call('EXPIRE', KEYS[i], TTL) end
trim(tonumber(now) - tonumber(ARGV[8]), tonumber(ARGV[10]))
return outcome
