--[[
  publish-3.lua: append one entry to a topic, assigning the next seq, in one atomic step.

  The stream is the counter: entries get the ID 0-<seq>, and XADD's `0-*` form makes Redis
  assign seq = last + 1 (a stream remembers its last ID after trimming, and MAXLEN >= 1 always
  keeps the newest entry). The epoch key names the life of that counter; a stream that comes
  back from nothing (first publish, TTL expiry, eviction, FLUSHALL, restart without
  persistence) starts a new epoch, unless a reader fixed a pending one for it first.

  KEYS[1]  stream   <prefix>{<topic>}:s   entries: ID 0-<seq>, fields <event> <json> i <publish id>
  KEYS[2]  epoch    <prefix>{<topic>}:e   the epoch, or `~<epoch>` while pending (no entries yet)
  KEYS[3]  id       <prefix>{<topic>}:i:<idempotency id>  the seq of the publish that used the id
                    (any key of the topic's slot when ARGV[6] is 0)
  ARGV[1]  event name
  ARGV[2]  payload JSON
  ARGV[3]  size: most entries kept
  ARGV[4]  ttl in seconds, 0 = none (refreshes every key of the topic together)
  ARGV[5]  publish id, unique per publish call: <writer>.<counter in base 36>
  ARGV[6]  seconds an idempotency id is remembered; 0 = this publish has no id
  ARGV[7]  fence: Redis time in microseconds from which this publish must write nothing,
           because its caller has given up waiting (0 = none)
  ARGV[8]  flags: byte 1 `0` = first send, `1` = this publish may already have run (a resend);
                  byte 2 `P` = PUBLISH, `S` = SPUBLISH (Cluster), `-` = no fan-out
  Fan-out message on channel <prefix>{<topic>}:c : <seq> \n <epoch> \n <event> \n <json>
  Returns  {seq, epoch, status, time}  status 0 = stored; 1 = an earlier run of this publish was
           found (a resend); 2 = the idempotency id was used within its window (seq is the first
           publish's); 3 = fenced, nothing stored (seq 0). time: Redis time in microseconds.
]]
local stream, ekey = KEYS[1], KEYS[2]
local size = ARGV[3]
local epoch = redis.call('GET', ekey)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function bare()
  if not epoch then return '' end
  if string.byte(epoch, 1) == 126 then return string.sub(epoch, 2) end
  return epoch
end

local window = tonumber(ARGV[6])
if window > 0 then
  local first = redis.call('GET', KEYS[3])
  if first then return {tonumber(first), bare(), 2, now} end
end

-- A publish that may have run before (a resend) looks for its first run before appending again.
-- Publish ids are <writer>.<counter in base 36>, and one writer's publishes to a topic run in the
-- order it sent them: scanning back from the newest entry, an entry of the same writer with a
-- smaller counter means this publish never ran. So a resend reads back only to the writer's
-- previous entry (at most `size` entries, in pages).
if string.byte(ARGV[8], 1) == 49 and epoch then
  local me = ARGV[5]
  local dot = string.find(me, '.', 1, true)
  local writer = string.sub(me, 1, dot)
  local counter = tonumber(string.sub(me, dot + 1), 36)
  local upper, left = '+', tonumber(size)
  while left > 0 do
    local rows = redis.call('XREVRANGE', stream, upper, '-', 'COUNT', math.min(left, 32))
    if #rows == 0 then break end
    for i = 1, #rows do
      local other = rows[i][2][4]
      if other == me then
        return {tonumber(string.sub(rows[i][1], 3)), bare(), 1, now}
      end
      if other and string.sub(other, 1, dot) == writer and tonumber(string.sub(other, dot + 1), 36) < counter then
        left = 0
        break
      end
    end
    left = left - #rows
    upper = '(' .. rows[#rows][1]
  end
end

-- The caller stopped waiting at this time (on Redis's clock): a command that ran later than
-- that (queued behind a stalled server, resent after a reconnect) must not store what its
-- caller was told had failed.
local fence = tonumber(ARGV[7])
if fence > 0 and now >= fence then return {0, '', 3, now} end

local id = redis.call('XADD', stream, 'MAXLEN', size, '0-*', ARGV[1], ARGV[2], 'i', ARGV[5])
local seq = tonumber(string.sub(id, 3))
-- The epoch changes hands only at the start of a life or after a loss: the common path skips this.
if not epoch or seq == 1 or string.byte(epoch, 1) == 126 then
  --- @include "newEpoch"
  if epoch and string.byte(epoch, 1) == 126 then
    -- The epoch a reader fixed before the first publish: keep it, without its pending TTL.
    epoch = string.sub(epoch, 2)
  else
    -- No epoch, or a live one left behind by a stream that vanished (eviction): a new life.
    epoch = newEpoch()
  end
  redis.call('SET', ekey, epoch)
end

local ttl = tonumber(ARGV[4])
if ttl > 0 then
  redis.call('EXPIRE', stream, ttl)
  redis.call('EXPIRE', ekey, ttl)
end
if window > 0 then redis.call('SET', KEYS[3], seq, 'EX', window) end

local fanout = string.byte(ARGV[8], 2)
if fanout ~= 45 then
  local channel = string.sub(stream, 1, -2) .. 'c'
  redis.call(fanout == 83 and 'SPUBLISH' or 'PUBLISH', channel, seq .. '\n' .. epoch .. '\n' .. ARGV[1] .. '\n' .. ARGV[2])
end
return {seq, epoch, 0, now}
