-- Record a unit's position report; reports older than the last one are ignored.
-- KEYS: unit hash, GEO set of available units, position log list, GEO set of every unit
-- ARGV: unit id, lat, lon, reported at ms, publish interval ms, log limit
-- Returns {result, status, publish}: result ok, old or unknown; publish 1 when the board
-- should hear of it and the trail keep it (at most once per interval per unit).
local unit, geo, log, everyone = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local id, lat, lon, at, every, limit = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local cur = redis.call('HMGET', unit, 'status', 'pos_at', 'pub_at', 'active')
if not cur[1] then return {'unknown', '', 0} end
if cur[2] and cur[2] ~= '' and tonumber(cur[2]) > at then return {'old', cur[1], 0} end
redis.call('HSET', unit, 'lat', lat, 'lon', lon, 'pos_at', at)
redis.call('GEOADD', everyone, lon, lat, id)
if cur[1] == 'available' and cur[4] == '1' then redis.call('GEOADD', geo, lon, lat, id) end
local publish = 0
if not cur[3] or cur[3] == '' or at - tonumber(cur[3]) >= every then
  redis.call('HSET', unit, 'pub_at', at)
  publish = 1
  -- the trail kept in PostgreSQL has the same resolution as the board
  if redis.call('LLEN', log) < limit then
    redis.call('RPUSH', log, id .. ' ' .. lat .. ' ' .. lon .. ' ' .. at)
  end
end
return {'ok', cur[1], publish}
