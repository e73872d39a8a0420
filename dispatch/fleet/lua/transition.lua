-- Move one unit to a new status if, and only if, the move is legal now.
-- KEYS: unit hash, GEO set of available units, ack-deadline sorted set
-- ARGV: unit id, to, now ms, allowed from (comma list), expected assignment
--       ('*' any, '' none, or an id), assignment to set ('*' keep, '' clear, id),
--       incident to set (same), ack deadline ms ('*' keep, '' clear, ms),
--       infectious load ('*' keep, '0', '1'), needs a clean unit ('1' or '0')
-- Returns {result, previous status, current assignment}; result is ok, unknown, illegal,
-- mismatch or infectious. Nothing changes unless result is ok; then follow what an undo needs
-- of the unit before (status time, incident, infectious load) and the unit's hash as it now
-- is (field, value, ...), so the caller need not read it before or after.
local unit, geo, deadlines = KEYS[1], KEYS[2], KEYS[3]
local id, to, now = ARGV[1], ARGV[2], ARGV[3]
local allowed, expect = ARGV[4], ARGV[5]
local set_assignment, set_incident, deadline = ARGV[6], ARGV[7], ARGV[8]
local infectious, needs_clean = ARGV[9], ARGV[10]

local cur = redis.call('HMGET', unit, 'status', 'assignment', 'infectious', 'lat', 'lon', 'active',
                       'status_at', 'incident')
local status, assignment = cur[1], cur[2] or ''
if not status then return {'unknown', '', ''} end
if string.find(',' .. allowed .. ',', ',' .. status .. ',', 1, true) == nil then
  return {'illegal', status, assignment}
end
if expect ~= '*' and expect ~= assignment then return {'mismatch', status, assignment} end
local load = cur[3]
if infectious ~= '*' then load = infectious end
if status == 'disinfecting' and to == 'available' then load = '0' end
if needs_clean == '1' and load == '1' then return {'infectious', status, assignment} end

redis.call('HSET', unit, 'status', to, 'status_at', now, 'infectious', load)
if set_assignment ~= '*' then redis.call('HSET', unit, 'assignment', set_assignment) end
if set_incident ~= '*' then redis.call('HSET', unit, 'incident', set_incident) end
if deadline == '' then
  redis.call('ZREM', deadlines, id)
elseif deadline ~= '*' then
  redis.call('ZADD', deadlines, deadline, id)
end
if to == 'available' and cur[6] == '1' and cur[4] and cur[4] ~= '' and cur[5] and cur[5] ~= '' then
  redis.call('GEOADD', geo, cur[5], cur[4], id)
else
  redis.call('ZREM', geo, id)
end
local out = {'ok', status, assignment, cur[7] or '', cur[8] or '', cur[3] or '0'}
for _, item in ipairs(redis.call('HGETALL', unit)) do out[#out + 1] = item end
return out
