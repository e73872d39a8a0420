-- A ringing call leaves the queue unanswered (the caller hung up).
-- KEYS: the queue's (see lib.lua), the call's hash. ARGV: prefix, call id.
-- Returns {status, call, position, ...offers made}.
local id, ckey = ARGV[2], KEYS[7]
if redis.call('EXISTS', ckey) == 0 then return {'not_ringing'} end
local offered_to = redis.call('HGET', ckey, 'offered') or ''
forget_call(id)
if offered_to ~= '' then back_to_ready(offered_to) end
local out = {'ok'}
for _, v in ipairs(distribute()) do table.insert(out, v) end
return out
