-- Put ringing calls back in the indexes they are missing from (an instance of an earlier
-- version, or a lost write, may have left them out): a call nobody has on offer must be
-- waiting for one, and its escalation and breach must still be due unless already raised.
-- ARGV: prefix, call id, ... Returns {repaired count, call, position, ...offers made}.
local repaired = 0
for i = 2, #ARGV do
  local id = ARGV[i]
  local key = call_key(id)
  local rung = redis.call('ZSCORE', RINGING, id)
  if rung and redis.call('EXISTS', key) == 1 then
    local fixed = false
    local offered = redis.call('HGET', key, 'offered')
    if (offered == '' or offered == false) and redis.call('ZSCORE', WAITING, id) == false then
      wait_for_offer(id)
      fixed = true
    end
    if redis.call('HGET', key, 'esc') ~= '1' and redis.call('ZSCORE', ESCALATE_DUE, id) == false then
      redis.call('ZADD', ESCALATE_DUE, rung, id)
      fixed = true
    end
    if redis.call('HGET', key, 'breach') ~= '1' and redis.call('ZSCORE', BREACH_DUE, id) == false then
      redis.call('ZADD', BREACH_DUE, rung, id)
      fixed = true
    end
    if fixed then repaired = repaired + 1 end
  end
end
local out = {repaired}
for _, v in ipairs(distribute()) do table.insert(out, v) end
return out
