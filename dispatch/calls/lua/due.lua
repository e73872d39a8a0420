-- Mark ringing calls that reached the escalation threshold or the answer target, once each.
-- KEYS: the queue's (see lib.lua). ARGV: prefix, now (ms), escalate after (ms), breach after (ms).
-- Returns {{escalated call ids}, {breached call ids}}.
local now, esc_after, breach_after = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local function take(index, flag, older_than)
  local ids = redis.call('ZRANGEBYSCORE', index, '-inf', older_than)
  local marked = {}
  for _, id in ipairs(ids) do
    redis.call('ZREM', index, id)
    if redis.call('EXISTS', call_key(id)) == 1 then
      redis.call('HSET', call_key(id), flag, '1')
      table.insert(marked, id)
    end
  end
  return marked
end
return {take(ESCALATE_DUE, 'esc', now - esc_after), take(BREACH_DUE, 'breach', now - breach_after)}
