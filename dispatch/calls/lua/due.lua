-- Mark ringing calls that reached the escalation threshold or the answer target, once each.
-- ARGV: prefix, now (ms), escalate after (ms), breach after (ms).
-- Returns {{escalated call ids}, {breached call ids}}.
local now, esc_after, breach_after = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local escalated, breached = {}, {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', RINGING, '-inf', now - esc_after)) do
  local key = call_key(id)
  local rung = tonumber(redis.call('HGET', key, 'rung'))
  if redis.call('HGET', key, 'esc') == '0' then
    redis.call('HSET', key, 'esc', '1')
    table.insert(escalated, id)
  end
  if rung and rung <= now - breach_after and redis.call('HGET', key, 'breach') == '0' then
    redis.call('HSET', key, 'breach', '1')
    table.insert(breached, id)
  end
end
return {escalated, breached}
