-- Settles a claimed task if this holder still has its queue: acknowledges and deletes the
-- entry, then frees the queue for its next task. ARGV: prefix, queue, holder, stream id.
-- 1: settled; 0: superseded (nothing changed).
local p, q = ARGV[1], ARGV[2]
local lock = p .. ':pool:lock:' .. q
local stream = p .. ':pool:q:' .. q
if redis.call('GET', lock) ~= ARGV[3] then return 0 end
redis.call('XACK', stream, 'workers', ARGV[4])
redis.call('XDEL', stream, ARGV[4])
redis.call('DEL', lock)
return 1
