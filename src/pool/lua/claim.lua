-- Claims the next task of the first queue that has one and none in flight, unless the pool
-- is parked.
-- ARGV: prefix, worker (consumer name), lease ms, then the queues to serve (none: all known).
-- A queue is in flight while its lock key exists; the lock holds `worker|fence|stream id`
-- and expires unless renewed. A free lock with an entry still pending in the group means its
-- holder stopped renewing (it died or was cut off): that entry is taken over (XCLAIM) and
-- returned with its previous consumer, so the caller applies the lost-task policy.
-- Returns {queue, stream id, holder, previous consumer or '', fields} or false.
local p, worker, lease = ARGV[1], ARGV[2], tonumber(ARGV[3])
-- The pool's account hit a usage limit: nothing starts until it resets (the key expires then).
if redis.call('EXISTS', p .. ':pool:parked') == 1 then return false end
local queues = {}
if #ARGV >= 4 then
  for i = 4, #ARGV do queues[#queues + 1] = ARGV[i] end
else
  queues = redis.call('SMEMBERS', p .. ':pool:queues')
  table.sort(queues)
end
for _, q in ipairs(queues) do
  local stream = p .. ':pool:q:' .. q
  local lock = p .. ':pool:lock:' .. q
  if redis.call('EXISTS', stream) == 0 then
    redis.call('SREM', p .. ':pool:queues', q)
  elseif redis.call('EXISTS', lock) == 0 then
    local entry, previous = nil, ''
    local pending = redis.call('XPENDING', stream, 'workers', '-', '+', 1)
    if #pending > 0 then
      local id = pending[1][1]
      previous = pending[1][2]
      local claimed = redis.call('XCLAIM', stream, 'workers', worker, 0, id)
      if claimed[1] and claimed[1][2] then
        entry = claimed[1]
      else
        -- Deleted meanwhile: nothing to take over.
        redis.call('XACK', stream, 'workers', id)
      end
    else
      local r = redis.call('XREADGROUP', 'GROUP', 'workers', worker, 'COUNT', 1, 'STREAMS', stream, '>')
      if r and r[1] and r[1][2][1] then entry = r[1][2][1] end
    end
    if entry then
      local fence = redis.call('INCR', p .. ':pool:fence')
      local holder = worker .. '|' .. fence .. '|' .. entry[1]
      redis.call('SET', lock, holder, 'PX', lease)
      return {q, entry[1], holder, previous, entry[2]}
    end
  end
end
return false
