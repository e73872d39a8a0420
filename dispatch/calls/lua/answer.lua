-- A position answers a ringing call: the first answer wins.
-- KEYS: the queue's (see lib.lua), the call's hash, the position's hash.
-- ARGV: prefix, call id, position id, now (ms)
-- Returns {status, position that had the call on offer, call, position, ...offers made}.
local id, pos, now = ARGV[2], ARGV[3], ARGV[4]
local ckey, pkey = KEYS[7], KEYS[8]
if redis.call('EXISTS', ckey) == 0 then return {'not_ringing', ''} end
local state = redis.call('HGET', pkey, 'state')
if state ~= 'ready' then return {'position_' .. (state or 'logged_out'), ''} end
local offered_to = redis.call('HGET', ckey, 'offered') or ''
forget_call(id)
if offered_to ~= '' and offered_to ~= pos then back_to_ready(offered_to) end
local own = redis.call('HGET', pkey, 'offered')
if own and own ~= '' and own ~= id and redis.call('EXISTS', call_key(own)) == 1 then
  wait_for_offer(own)
end
redis.call('ZREM', READY, pos)
redis.call('HSET', pkey, 'state', 'on_call', 'call', id, 'offered', '', 'since', now)
local out = {'ok', offered_to}
for _, v in ipairs(distribute()) do table.insert(out, v) end
return out
