-- Saves a run unless a newer revision is stored. KEYS: run, runs. ARGV: id, revision, json,
-- updated_ms, key_ttl_secs, oldest_kept_ms. Returns 1 (written) or 0 (a newer one is stored).
local cur = tonumber(redis.call('HGET', KEYS[1], 'rev') or '0')
if cur >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'rev', ARGV[2], 'json', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[6])
redis.call('EXPIRE', KEYS[2], ARGV[5])
return 1
