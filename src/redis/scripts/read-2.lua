--[[
  read-2.lua: one consistent snapshot of a topic: its seq, epoch, oldest buffered seq and the
  entries from a given seq on. A replay read never creates state for a topic that has none;
  it writes only to end an epoch that is proven to have gone back, or to give a counter that
  lost its epoch key a new one. Only a position read of the server itself (ARGV[3] > 0) fixes a
  pending epoch, so that a position read before the first publish stays valid.

  KEYS[1]  stream   <prefix>{<topic>}:s
  KEYS[2]  epoch    <prefix>{<topic>}:e
  ARGV[1]  from: first seq wanted; 0 = no entries (a position read)
  ARGV[2]  count: most entries to return
  ARGV[3]  seconds a pending epoch fixed by this read lives; 0 = fix none (replay reads)
  ARGV[4]  epoch the caller holds, '' = none
  ARGV[5]  seq the caller holds in that epoch, or '-' when the caller saw that epoch go back.
           A holder of a seq above the current one in the same epoch proves that Redis lost
           acknowledged writes (restart from an older snapshot, failover to a lagging replica):
           that epoch ends here, atomically, only if it is still the current one, so the seqs
           that will be reused can never match a position a client holds.
  Returns  {seq, epoch, oldest, rows}  epoch '' when the topic has no state;
           rows as XRANGE returns them: {ID 0-<seq>, {event, json, i, id}}
]]
--- @include "newEpoch"
local stream, ekey = KEYS[1], KEYS[2]
local epoch = redis.call('GET', ekey)
local pending = epoch and string.byte(epoch, 1) == 126
if pending then epoch = string.sub(epoch, 2) end
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
local seq = newest and tonumber(string.sub(newest, 3)) or 0

if epoch and epoch == ARGV[4] and (newest or pending) and (ARGV[5] == '-' or (top or seq) < tonumber(ARGV[5])) then
  -- The epoch went back: a new one, with the old key's TTL. No msg follows a reset.
  epoch = newEpoch()
  seq = top or seq
  redis.call('SET', ekey, pending and ('~' .. epoch) or epoch, 'KEEPTTL')
  rows = {}
end

if not newest then
  if pending then return {0, epoch, 1, {}} end
  -- No counter, and a live epoch left behind by a vanished stream is over.
  if ARGV[3] == '0' then return {0, '', 1, {}} end
  epoch = newEpoch()
  redis.call('SET', ekey, '~' .. epoch, 'EX', ARGV[3])
  return {0, epoch, 1, {}}
end

if not epoch then
  -- The counter survived its epoch (eviction): its old positions must not match any more.
  epoch = newEpoch()
  redis.call('SET', ekey, epoch)
  local pttl = redis.call('PTTL', stream)
  if pttl > 0 then redis.call('PEXPIRE', ekey, pttl) end
end

return {seq, epoch, (top or seq) - redis.call('XLEN', stream) + 1, rows}
