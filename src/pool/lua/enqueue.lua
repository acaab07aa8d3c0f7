-- Enqueues one task. ARGV: prefix, queue, execution id, payload (JSON), lost policy,
-- ttl seconds. Returns the stream id, which fixes the task's place in its queue.
local p, q = ARGV[1], ARGV[2]
local stream = p .. ':pool:q:' .. q
if redis.call('EXISTS', stream) == 0 then
  redis.call('XGROUP', 'CREATE', stream, 'workers', '0', 'MKSTREAM')
end
local sid = redis.call('XADD', stream, '*', 'id', ARGV[3], 'task', ARGV[4], 'lost', ARGV[5])
redis.call('EXPIRE', stream, tonumber(ARGV[6]))
redis.call('SADD', p .. ':pool:queues', q)
return sid
