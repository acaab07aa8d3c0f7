-- Summaries of the newest executions of a class. KEYS: dur, sum. ARGV: limit.
local ids = redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #ids == 0 then return {} end
local vals = redis.call('HMGET', KEYS[2], unpack(ids))
local out = {}
for k = 1, #vals do
  if vals[k] then out[#out + 1] = vals[k] end
end
return out
