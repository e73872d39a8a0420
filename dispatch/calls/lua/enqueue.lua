-- A ringing call joins the queue (once) and is offered if a position is ready.
-- ARGV: prefix, call id, rung (ms), priority (0/1), escalated (0/1), breached (0/1)
local id = ARGV[2]
if redis.call('EXISTS', call_key(id)) == 0 then
  local rung = tonumber(ARGV[3])
  redis.call('HSET', call_key(id), 'rung', ARGV[3], 'prio', ARGV[4], 'offered', '',
             'esc', ARGV[5], 'breach', ARGV[6])
  redis.call('ZADD', RINGING, rung, id)
  if ARGV[5] == '0' then redis.call('ZADD', ESCALATE_DUE, rung, id) end
  if ARGV[6] == '0' then redis.call('ZADD', BREACH_DUE, rung, id) end
  wait_for_offer(id)
end
return distribute()
