-- Put ringing calls back in the indexes they are missing from (an instance of an earlier
-- version, or a lost write, may have left them out), then offer what waits.
-- KEYS: the queue's (see lib.lua), then each call's hash. ARGV: prefix, call id, ...
-- Returns {repaired count, call, position, ...offers made}.
local repaired = 0
for i = 2, #ARGV do
  local id = ARGV[i]
  local rung = redis.call('ZSCORE', RINGING, id)
  if rung and redis.call('EXISTS', KEYS[i + 5]) == 1 and index_call(id, rung) then
    repaired = repaired + 1
  end
end
local out = {repaired}
for _, v in ipairs(distribute()) do table.insert(out, v) end
return out
