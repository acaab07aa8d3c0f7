-- Withdraws a task nobody has claimed yet. ARGV: prefix, queue, stream id.
-- 1: withdrawn (it will never run); 0: a worker has it; -1: it is gone (settled).
local stream = ARGV[1] .. ':pool:q:' .. ARGV[2]
if redis.call('EXISTS', stream) == 0 then return -1 end
local pending = redis.call('XPENDING', stream, 'workers', ARGV[3], ARGV[3], 1)
if #pending > 0 then return 0 end
if redis.call('XDEL', stream, ARGV[3]) == 1 then return 1 end
return -1
