--[[
  read-2.lua: one consistent snapshot of a topic: its seq, epoch, oldest buffered seq and the
  entries from a given seq on. Writes only when the topic has no life (it then fixes a pending
  epoch, so that a position read before the first publish stays valid) or lost its epoch key.

  KEYS[1]  stream   <prefix>{<topic>}:s
  KEYS[2]  epoch    <prefix>{<topic>}:e
  ARGV[1]  from: first seq wanted; 0 = no entries (a position read)
  ARGV[2]  count: most entries to return
  ARGV[3]  ttl in seconds of a pending epoch
  Returns  {seq, epoch, oldest, rows}  rows as XRANGE returns them: {ID 0-<seq>, {event, json, i, id}}
]]
local stream, ekey = KEYS[1], KEYS[2]
local epoch = redis.call('GET', ekey)
-- A replay reads its tail first: when it is not empty, its last row is the newest entry, whose
-- ID is the seq. Only an empty tail (caught up, a position read, no stream) needs the newest
-- entry read apart. A tail cut by COUNT (a writer with a larger `size` than this reader) is a
-- page: the snapshot then ends at its last row, so `end` names exactly what was sent and the
-- client asks for the rest when the next live frame shows the gap.
local rows = {}
if ARGV[1] ~= '0' then
  rows = redis.call('XRANGE', stream, '0-' .. ARGV[1], '+', 'COUNT', ARGV[2])
end
local newest
local top
if #rows > 0 then
  newest = rows[#rows][1]
end
if #rows == 0 or #rows >= tonumber(ARGV[2]) then
  local last = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)
  if #last > 0 then
    top = tonumber(string.sub(last[1][1], 3))
    newest = newest or last[1][1]
  end
end

if not newest then
  --- @include "newEpoch"
  -- No counter. A live epoch left behind by a vanished stream is over: fix a new pending one.
  if not epoch or string.byte(epoch, 1) ~= 126 then
    epoch = '~' .. newEpoch()
    redis.call('SET', ekey, epoch, 'EX', ARGV[3])
  end
  return {0, string.sub(epoch, 2), 1, {}}
end

local seq = tonumber(string.sub(newest, 3))
if not epoch then
  --- @include "newEpoch"
  -- The counter survived its epoch (eviction): its old positions must not match any more.
  epoch = newEpoch()
  redis.call('SET', ekey, epoch)
  local pttl = redis.call('PTTL', stream)
  if pttl > 0 then redis.call('PEXPIRE', ekey, pttl) end
elseif string.byte(epoch, 1) == 126 then
  epoch = string.sub(epoch, 2)
end

return {seq, epoch, (top or seq) - redis.call('XLEN', stream) + 1, rows}
