-- Rank the units that may go to a patient by straight-line ETA, and say why nearer ones may not.
-- Units are looked at nearest first (GEOSEARCH over every positioned unit) until the next one
-- could not arrive sooner than the last candidate even at the fastest speed.
-- KEYS: set of unit ids, GEO set of every positioned unit
-- ARGV: unit key prefix, lat, lon, required capabilities (comma list), units to skip (comma
--       list), how many candidates, road factor, speeds ("kind=km/h,…"), default speed,
--       how many excluded units to list
-- Returns {looked at, fleet size, candidates…, '', excluded…, '', counts…}; a candidate is
-- "id\31call_sign\31kind\31caps\31post\31pos_at\31lat\31lon\31distance_km\31seconds", an
-- excluded unit "id\31call_sign\31reason", a count "reason\31n".
local prefix, lat, lon = ARGV[1], ARGV[2], ARGV[3]
local limit, road, default_speed = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[9])
local listed = tonumber(ARGV[10])
local required, skip, speeds = {}, {}, {}
for item in string.gmatch(ARGV[4], '[^,]+') do required[#required + 1] = item end
for item in string.gmatch(ARGV[5], '[^,]+') do skip[item] = true end
local fastest = default_speed
for kind, speed in string.gmatch(ARGV[8], '([^,=]+)=([^,]+)') do
  speeds[kind] = tonumber(speed)
  if speeds[kind] > fastest then fastest = speeds[kind] end
end

local chosen, excluded, counts = {}, {}, {}
local looked = 0
local function exclude(id, sign, reason, key)
  if #excluded < listed then excluded[#excluded + 1] = id .. '\31' .. sign .. '\31' .. reason end
  counts[key] = (counts[key] or 0) + 1
end
-- Look at one unit; false once no farther unit could be faster than the chosen ones.
local function consider(hit)
  local id, km = hit[1], tonumber(hit[2]) * road
  if #chosen >= limit and km / fastest * 3600 > chosen[limit][1] then return false end
  looked = looked + 1
  local f = redis.call('HMGET', prefix .. id, 'status', 'kind', 'caps', 'active', 'call_sign',
    'post', 'pos_at')
  local status, sign = f[1], f[5] or id
  if not status then return true end
  local caps, missing = ',' .. (f[3] or '') .. ',', {}
  for _, c in ipairs(required) do
    if not string.find(caps, ',' .. c .. ',', 1, true) then missing[#missing + 1] = c end
  end
  if skip[id] then
    exclude(id, sign, 'declined or did not acknowledge this incident', 'declined or did not acknowledge this incident')
  elseif f[4] ~= '1' then
    exclude(id, sign, 'not in service', 'not in service')
  elseif status ~= 'available' then
    exclude(id, sign, 'status ' .. status, 'status')
  elseif #missing > 0 then
    local reason = 'lacks ' .. table.concat(missing, ', ')
    exclude(id, sign, reason, reason)
  else
    local seconds = km / (speeds[f[2]] or default_speed) * 3600
    local entry = {seconds, table.concat({id, sign, f[2], f[3] or '', f[6] or '', f[7] or '',
      hit[3][2], hit[3][1], string.format('%.4f', km), string.format('%.2f', seconds)}, '\31'), id}
    local at = #chosen + 1
    while at > 1 and (chosen[at - 1][1] > seconds or (chosen[at - 1][1] == seconds and chosen[at - 1][3] > id)) do
      at = at - 1
    end
    if at <= limit then
      table.insert(chosen, at, entry)
      if #chosen > limit then table.remove(chosen) end
    end
  end
  return true
end
-- Nearest first, a few at a time: Redis sorts only as many as are asked for.
local count, seen = 16, 0
while true do
  local near = redis.call('GEOSEARCH', KEYS[2], 'FROMLONLAT', lon, lat, 'BYRADIUS', 20000, 'km',
    'ASC', 'COUNT', count, 'WITHDIST', 'WITHCOORD')
  local stop = false
  for i = seen + 1, #near do
    if not consider(near[i]) then stop = true break end
  end
  if stop or #near < count then break end
  seen, count = #near, count * 4
end
local fleet = redis.call('SCARD', KEYS[1])
local unplaced = fleet - redis.call('ZCARD', KEYS[2])
if unplaced > 0 then counts['position unknown'] = unplaced end
local out = {looked, fleet}
for _, e in ipairs(chosen) do out[#out + 1] = e[2] end
out[#out + 1] = ''
for _, e in ipairs(excluded) do out[#out + 1] = e end
out[#out + 1] = ''
for reason, n in pairs(counts) do out[#out + 1] = reason .. '\31' .. n end
return out
