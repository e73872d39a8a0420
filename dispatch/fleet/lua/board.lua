-- Every unit's live state in one round trip, as flat rows of fixed width.
-- KEYS: set of unit ids; ARGV: unit key prefix
local ids = redis.call('SMEMBERS', KEYS[1])
local out = {}
for _, id in ipairs(ids) do
  local f = redis.call('HMGET', ARGV[1] .. id, 'status', 'kind', 'caps', 'lat', 'lon', 'pos_at',
    'active', 'infectious', 'post', 'assignment', 'call_sign', 'incident', 'status_at')
  if f[1] then
    out[#out + 1] = id
    for i = 1, 13 do out[#out + 1] = f[i] or '' end
  end
end
return out
