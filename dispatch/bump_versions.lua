-- Bump configuration version counters (zones, hospitals, rules) shared by every instance.
-- KEYS[1]: the versions hash. ARGV[1]: a floor (wall-clock µs). ARGV[2..]: the fields.
-- A counter never repeats a value an instance may have cached, even after Redis lost the
-- hash: a missing or old counter jumps to the floor.
local floor = tonumber(ARGV[1])
local out = {}
for i = 2, #ARGV do
  local v = redis.call('HINCRBY', KEYS[1], ARGV[i], 1)
  if v < floor then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[1])
    v = floor
  end
  out[#out + 1] = v
end
return out
