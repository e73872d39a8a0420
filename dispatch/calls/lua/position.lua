-- A position changes state. KEYS: the queue's (see lib.lua), the position's hash.
-- ARGV: prefix, position id, new state, user, now (ms), call id or ''.
-- Returns {status, previous state, call, position, ...offers made}.
local pos, new, user, now, call = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local pkey = KEYS[7]
local old = redis.call('HGET', pkey, 'state') or 'logged_out'
if old == new then return {'unchanged', old} end
if new ~= 'logged_out' and old == 'logged_out' and new ~= 'ready' and new ~= 'not_ready' then
  return {'not_logged_in', old}
end
if (old == 'on_call' or old == 'dialling') and new ~= 'wrap_up' and new ~= 'on_call' then
  return {'busy', old}
end
if old == 'ready' then
  redis.call('ZREM', READY, pos)
  local offered = redis.call('HGET', pkey, 'offered')
  if offered and offered ~= '' and redis.call('EXISTS', call_key(offered)) == 1 then
    wait_for_offer(offered)
  end
end
if new == 'logged_out' then
  redis.call('DEL', pkey)
  redis.call('SREM', POSITIONS, pos)
else
  redis.call('HSET', pkey, 'state', new, 'since', now, 'offered', '', 'call', call)
  if user ~= '' then redis.call('HSET', pkey, 'user', user) end
  redis.call('SADD', POSITIONS, pos)
  if new == 'ready' then
    redis.call('HSET', pkey, 'idle', now)
    redis.call('ZADD', READY, tonumber(now), pos)
  end
end
local out = {'ok', old}
for _, v in ipairs(distribute()) do table.insert(out, v) end
return out
