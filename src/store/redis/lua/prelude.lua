-- Helper functions shared by the write and trim scripts (prepended to each of them).
-- KEYS[2..6] are the index, the retention clock, the summaries, the counters and the bucket set
-- in both; ARGV[1] is the key prefix, ARGV[2] the key TTL (seconds).
local PREFIX, TTL = ARGV[1], tonumber(ARGV[2])
local IDX, WRITTEN, SUM, COUNTERS, BUCKETS = KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local BUCKET_MS = 3600000
local function split(s)
  local f = {}
  for part in string.gmatch(s .. '|', '([^|]*)|') do f[#f + 1] = part end
  return f
end
-- Negates a decimal string ('-0' is not an integer to Redis).
local function neg(x)
  if string.sub(x, 1, 1) == '-' then return string.sub(x, 2) end
  if tonumber(x) == 0 then return '0' end
  return '-' .. x
end
local function durkey(f)
  if f[5] ~= '' and f[6] ~= '' then
    return PREFIX .. ':dur:' .. string.sub(f[5], 2) .. ':' .. string.sub(f[6], 2)
  end
  return nil
end
local function bucket(f)
  return string.format('%d', math.floor(tonumber(f[1]) / BUCKET_MS))
end
-- Summary rows of an hour of finished executions: '\n' .. row .. '\n' .. row .. '\n' …
local function bucket_add(f, row)
  local b = bucket(f)
  local key = PREFIX .. ':sumb:' .. b
  if redis.call('EXISTS', key) == 0 then
    redis.call('SET', key, '\n' .. row .. '\n')
  else
    redis.call('APPEND', key, row .. '\n')
  end
  redis.call('EXPIRE', key, TTL)
  redis.call('ZADD', BUCKETS, b, b)
end
local function bucket_remove(f, row)
  local b = bucket(f)
  local key = PREFIX .. ':sumb:' .. b
  local blob = redis.call('GET', key)
  if not blob then return end
  local needle = '\n' .. row .. '\n'
  local at = string.find(blob, needle, 1, true)
  if not at then return end
  local rest = string.sub(blob, 1, at) .. string.sub(blob, at + #needle)
  if rest == '\n' then
    redis.call('DEL', key)
    redis.call('ZREM', BUCKETS, b)
  else
    redis.call('SET', key, rest, 'KEEPTTL')
  end
end
-- Adds (sign 1) or removes (sign -1) a summary's contribution to the counters. Values a
-- counter cannot hold are left out of it (an error here would leave the script half done).
local function apply(f, sign)
  local function s(x) if sign > 0 then return x end return neg(x) end
  redis.call('HINCRBY', COUNTERS, 'count', sign)
  redis.call('HINCRBY', COUNTERS, 'status:' .. f[2], sign)
  if #f[3] <= 15 then
    redis.call('HINCRBY', COUNTERS, 'duration_ms', s(f[3]))
  end
  local c = tonumber(f[4])
  if c and c == c and c > -1e15 and c < 1e15 then
    redis.call('HINCRBY', COUNTERS, 'cost_known', sign)
    redis.call('HINCRBYFLOAT', COUNTERS, 'cost_usd', s(f[4]))
  end
end
local function forget(id, old)
  local f = split(old)
  apply(f, -1)
  bucket_remove(f, id .. '|' .. old)
  local dk = durkey(f)
  if dk then redis.call('ZREM', dk, id) end
end
-- Removes executions whose last write is older than the retention.
local function trim(cutoff, batch)
  local ids = redis.call('ZRANGEBYSCORE', WRITTEN, '-inf', cutoff, 'LIMIT', 0, batch)
  for _, id in ipairs(ids) do
    local old = redis.call('HGET', SUM, id)
    if old then
      forget(id, old)
      redis.call('HDEL', SUM, id)
    end
    redis.call('ZREM', IDX, id)
    redis.call('ZREM', WRITTEN, id)
    redis.call('DEL', PREFIX .. ':exec:' .. id)
  end
  return #ids
end
