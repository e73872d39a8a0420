-- Shared by the ACD scripts (prepended at load time). Every key a script touches lives under
-- the {acd} hash tag, so all of them are in one Cluster slot. The scripts declare in KEYS the
-- queue's keys and the keys of the call or position they were asked about:
--   KEYS[1..6]  RINGING, WAITING, ESCALATE_DUE, BREACH_DUE, READY, POSITIONS; then the
--               script's own (see each script)
-- Calls and positions a script finds by itself (the next call to offer, the position that
-- held an offer) are named from the prefix in ARGV[1], which must carry the same hash tag.
--
-- Besides RINGING (every ringing call, by ring time) the scripts keep three indexes so that
-- no step scans the whole queue, however long it grows in a surge:
--   WAITING      ringing calls nobody has on offer; priority lines sort before the rest,
--                then the longest-ringing call first
--   ESCALATE_DUE ringing calls not yet escalated, by ring time
--   BREACH_DUE   ringing calls not yet past the answer target, by ring time
local RINGING, WAITING, ESCALATE_DUE, BREACH_DUE, READY, POSITIONS =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local P = ARGV[1]
if string.match(P, '{[^}]+}') ~= string.match(RINGING, '{[^}]+}') then
  return redis.error_reply('ERR the key prefix ' .. P .. ' is not under the hash tag of ' .. RINGING)
end
local ORDINARY_LINE = 1e13 -- added to the ring time (ms) of calls on ordinary lines
local function call_key(id) return P .. 'call:' .. id end
local function position_key(id) return P .. 'position:' .. id end

-- The call goes back among those waiting for an offer.
local function wait_for_offer(id)
  local key = call_key(id)
  local rung = tonumber(redis.call('HGET', key, 'rung'))
  if rung == nil then return end
  redis.call('HSET', key, 'offered', '')
  if redis.call('HGET', key, 'prio') ~= '1' then rung = rung + ORDINARY_LINE end
  redis.call('ZADD', WAITING, rung, id)
end

-- A ringing call joins each index its hash says it belongs in and is missing from: waiting
-- when nobody has it on offer, escalation and breach due unless already raised. Returns
-- whether it was missing from any.
local function index_call(id, rung)
  local key = call_key(id)
  local missing = false
  local offered = redis.call('HGET', key, 'offered')
  if (offered == '' or offered == false) and redis.call('ZSCORE', WAITING, id) == false then
    wait_for_offer(id)
    missing = true
  end
  if redis.call('HGET', key, 'esc') ~= '1' and redis.call('ZSCORE', ESCALATE_DUE, id) == false then
    redis.call('ZADD', ESCALATE_DUE, rung, id)
    missing = true
  end
  if redis.call('HGET', key, 'breach') ~= '1' and redis.call('ZSCORE', BREACH_DUE, id) == false then
    redis.call('ZADD', BREACH_DUE, rung, id)
    missing = true
  end
  return missing
end

-- The call leaves every index (answered or hung up).
local function forget_call(id)
  redis.call('ZREM', RINGING, id)
  redis.call('ZREM', WAITING, id)
  redis.call('ZREM', ESCALATE_DUE, id)
  redis.call('ZREM', BREACH_DUE, id)
  redis.call('DEL', call_key(id))
end

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
    local best = redis.call('ZRANGE', WAITING, 0, 0)[1]
    if best == nil then break end
    redis.call('ZREM', WAITING, best)
    if redis.call('EXISTS', call_key(best)) == 1 then
      local pos = redis.call('ZRANGE', READY, 0, 0)[1]
      redis.call('ZREM', READY, pos)
      redis.call('HSET', call_key(best), 'offered', pos)
      redis.call('HSET', position_key(pos), 'offered', best)
      table.insert(out, best)
      table.insert(out, pos)
    end
  end
  return out
end
