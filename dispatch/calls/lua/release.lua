-- A ringing call leaves the queue unanswered (the caller hung up).
-- ARGV: prefix, call id. Returns {status, call, position, ...offers made}.
local id = ARGV[2]
if redis.call('EXISTS', call_key(id)) == 0 then return {'not_ringing'} end
local offered_to = redis.call('HGET', call_key(id), 'offered') or ''
forget_call(id)
if offered_to ~= '' then back_to_ready(offered_to) end
local out = {'ok'}
for _, v in ipairs(distribute()) do table.insert(out, v) end
return out
