-- Renews a queue's lock if this holder still has it. ARGV: prefix, queue, holder, lease ms.
-- 1: renewed; 0: superseded (the lease expired and someone else holds the fence now).
local lock = ARGV[1] .. ':pool:lock:' .. ARGV[2]
if redis.call('GET', lock) == ARGV[3] then
  redis.call('PEXPIRE', lock, tonumber(ARGV[4]))
  return 1
end
return 0
