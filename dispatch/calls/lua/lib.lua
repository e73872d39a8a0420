-- Shared by the ACD scripts (prepended at load time). Every key is built from the prefix in
-- ARGV[1], which ends in the {acd} hash tag, so all of them live in one Cluster slot.
local P = ARGV[1]
local RINGING = P .. 'ringing'
local READY = P .. 'ready'
local CALLBACKS = P .. 'callbacks'
local POSITIONS = P .. 'positions'
local function call_key(id) return P .. 'call:' .. id end
local function position_key(id) return P .. 'position:' .. id end

-- Put a position back among those waiting for an offer, keeping its idle-since time.
local function back_to_ready(pos)
  local key = position_key(pos)
  redis.call('HSET', key, 'offered', '')
  if redis.call('HGET', key, 'state') == 'ready' then
    redis.call('ZADD', READY, tonumber(redis.call('HGET', key, 'idle')) or 0, pos)
  end
end

-- Offer ringing calls nobody has on offer to ready positions: priority lines first, then the
-- longest-ringing call; the longest-idle position first. Returns {call, position, ...}.
local function distribute()
  local out = {}
  while redis.call('ZCARD', READY) > 0 do
    local best = nil
    for _, id in ipairs(redis.call('ZRANGE', RINGING, 0, -1)) do
      local offered = redis.call('HGET', call_key(id), 'offered')
      if offered == '' or offered == false then
        if redis.call('HGET', call_key(id), 'prio') == '1' then best = id; break end
        if best == nil then best = id end
      end
    end
    if best == nil then break end
    local pos = redis.call('ZRANGE', READY, 0, 0)[1]
    redis.call('ZREM', READY, pos)
    redis.call('HSET', call_key(best), 'offered', pos)
    redis.call('HSET', position_key(pos), 'offered', best)
    table.insert(out, best)
    table.insert(out, pos)
  end
  return out
end
