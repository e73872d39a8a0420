-- Every unit's live state in one round trip: one string per unit, fields joined by \31
-- (the ASCII unit separator), in the order of BOARD_FIELDS in livestate.py.
-- KEYS: set of unit ids; ARGV: unit key prefix
local ids = redis.call('SMEMBERS', KEYS[1])
local out = {}
for _, id in ipairs(ids) do
  local f = redis.call('HMGET', ARGV[1] .. id, 'status', 'kind', 'caps', 'lat', 'lon', 'pos_at',
    'active', 'infectious', 'post', 'assignment', 'call_sign', 'incident', 'status_at')
  if f[1] then
    for i = 1, 13 do f[i] = f[i] or '' end
    out[#out + 1] = id .. '\31' .. table.concat(f, '\31')
  end
end
return out
