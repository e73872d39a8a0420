-- A ringing call joins the queue (once) and is offered if a position is ready.
-- KEYS: the queue's (see lib.lua), the call's hash.
-- ARGV: prefix, call id, rung (ms), priority (0/1), escalated (0/1), breached (0/1)
-- A call is queued when it is in RINGING. A hash left without it (a rebuild's clear raced
-- with a new call) is replaced, or the call could never be queued again.
local id, key = ARGV[2], KEYS[7]
if redis.call('ZSCORE', RINGING, id) == false then
  local holder = redis.call('HGET', key, 'offered')
  if holder and holder ~= '' and redis.call('HGET', position_key(holder), 'offered') == id then
    back_to_ready(holder)
  end
  redis.call('DEL', key)
  local rung = tonumber(ARGV[3])
  redis.call('HSET', key, 'rung', ARGV[3], 'prio', ARGV[4], 'offered', '',
             'esc', ARGV[5], 'breach', ARGV[6])
  redis.call('ZADD', RINGING, rung, id)
  index_call(id, rung)
end
return distribute()
