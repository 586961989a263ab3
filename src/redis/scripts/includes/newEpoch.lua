-- A new epoch: the server time (seconds and microseconds) and a random part, in base 36.
-- Time makes two lives of one topic differ even after a restart that resets Lua's random seed.
local function newEpoch()
  local digits = '0123456789abcdefghijklmnopqrstuvwxyz'
  local function b36(n, width)
    local s = ''
    repeat
      local d = n % 36
      s = string.sub(digits, d + 1, d + 1) .. s
      n = math.floor(n / 36)
    until n == 0
    while #s < width do s = '0' .. s end
    return s
  end
  local t = redis.call('TIME')
  return b36(tonumber(t[1]), 6) .. b36(tonumber(t[2]), 4) .. b36(math.random(0, 2147483646), 6)
end
