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
local last = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)

--- @include "newEpoch"

if #last == 0 then
  -- No counter. A live epoch left behind by a vanished stream is over: fix a new pending one.
  if not epoch or string.byte(epoch, 1) ~= 126 then
    epoch = '~' .. newEpoch()
    redis.call('SET', ekey, epoch, 'EX', ARGV[3])
  end
  return {0, string.sub(epoch, 2), 1, {}}
end

local seq = tonumber(string.sub(last[1][1], 3))
if not epoch then
  -- The counter survived its epoch (eviction): its old positions must not match any more.
  epoch = newEpoch()
  redis.call('SET', ekey, epoch)
  local pttl = redis.call('PTTL', stream)
  if pttl > 0 then redis.call('PEXPIRE', ekey, pttl) end
elseif string.byte(epoch, 1) == 126 then
  epoch = string.sub(epoch, 2)
end

local oldest = seq - redis.call('XLEN', stream) + 1
local from = tonumber(ARGV[1])
local rows = {}
if from > 0 and from <= seq then
  rows = redis.call('XRANGE', stream, '0-' .. ARGV[1], '+', 'COUNT', ARGV[2])
end
return {seq, epoch, oldest, rows}
