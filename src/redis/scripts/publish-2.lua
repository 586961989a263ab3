--[[
  publish-2.lua: append one entry to a topic, assigning the next seq, in one atomic step.

  The stream is the counter: entries get the ID 0-<seq>, and XADD's `0-*` form makes Redis
  assign seq = last + 1 (a stream remembers its last ID after trimming, and MAXLEN >= 1 always
  keeps the newest entry). The epoch key names the life of that counter; a stream that comes
  back from nothing (first publish, TTL expiry, eviction, FLUSHALL, restart without
  persistence) starts a new epoch, unless a reader fixed a pending one for it first.

  Every argument and key costs Redis a parse and a Lua string on every call, so the ones an
  ordinary publish does not use are left out rather than sent empty: the idempotency key and
  window come only with an idempotency id.

  KEYS[1]  stream   <prefix>{<topic>}:s   entries: ID 0-<seq>, fields <event> <json> i <publish id>
  KEYS[2]  epoch    <prefix>{<topic>}:e   the epoch, or `~<epoch>` while pending (no entries yet)
  KEYS[3]  id       <prefix>{<topic>}:i:<idempotency id>  the seq of the publish that used the id;
                    only when the publish has an id
  ARGV[1]  event name
  ARGV[2]  payload JSON
  ARGV[3]  size: most entries kept
  ARGV[4]  ttl in seconds, 0 = none (refreshes every key of the topic together)
  ARGV[5]  publish id, unique per publish call: <writer>.<counter in base 36>
  ARGV[6]  fence: Redis time in microseconds from which this publish must write nothing,
           because its caller has given up waiting (0 = none)
  ARGV[7]  with KEYS[3] only: seconds the idempotency id is remembered
  last     flags: byte 1 `0` = first send, `1` = this publish may already have run (a resend);
                  byte 2 `P` = PUBLISH, `S` = SPUBLISH (Cluster), `-` = no fan-out
  Fan-out message on channel <prefix>{<topic>}:c : <seq> \n <epoch> \n <event> \n <json>
  Returns  `<status> <seq> <epoch> <seconds> <microseconds>`, one string: status 0 = stored;
           1 = an earlier run of this publish was found (a resend); 2 = the idempotency id was
           used within its window (seq is the first publish's); 3 = fenced, nothing stored (seq 0,
           epoch empty). Seconds and microseconds: Redis's TIME when the script ran. A string, not
           an array: Redis turns a Lua table into a reply of deferred length, which costs it more
           than the whole string.
]]
local stream, ekey = KEYS[1], KEYS[2]
local size = ARGV[3]
local flags = ARGV[#ARGV]
local epoch = redis.call('GET', ekey)
local t = redis.call('TIME')
-- The replies that return before the append name the epoch without its pending mark ('' for
-- none). They spell that out each instead of sharing a helper: a local function is a closure
-- made on every call, which the common path would pay for without using it.
local idkey = KEYS[3]
if idkey then
  local first = redis.call('GET', idkey)
  if first then return '2 ' .. first .. ' ' .. (epoch and string.match(epoch, '^~?(.*)') or '') .. ' ' .. t[1] .. ' ' .. t[2] end
end

-- A publish that may have run before (a resend) looks for its first run before appending again.
-- Publish ids are <writer>.<counter in base 36>, and one writer's publishes to a topic run in the
-- order it sent them: scanning back from the newest entry, an entry of the same writer with a
-- smaller counter means this publish never ran. So a resend reads back only to the writer's
-- previous entry (at most `size` entries, in pages).
if string.byte(flags, 1) == 49 and epoch then
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
        return '1 ' .. string.sub(rows[i][1], 3) .. ' ' .. (epoch and string.match(epoch, '^~?(.*)') or '') .. ' ' .. t[1] .. ' ' .. t[2]
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
local fence = tonumber(ARGV[6])
if fence > 0 and tonumber(t[1]) * 1000000 + tonumber(t[2]) >= fence then return '3 0  ' .. t[1] .. ' ' .. t[2] end

local id = redis.call('XADD', stream, 'MAXLEN', size, '0-*', ARGV[1], ARGV[2], 'i', ARGV[5])
local seq = string.sub(id, 3)
-- The epoch changes hands only at the start of a life or after a loss: the common path skips this.
if not epoch or seq == '1' or string.byte(epoch, 1) == 126 then
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
if idkey then redis.call('SET', idkey, seq, 'EX', ARGV[7]) end

local fanout = string.byte(flags, 2)
if fanout ~= 45 then
  local channel = string.sub(stream, 1, -2) .. 'c'
  redis.call(fanout == 83 and 'SPUBLISH' or 'PUBLISH', channel, seq .. '\n' .. epoch .. '\n' .. ARGV[1] .. '\n' .. ARGV[2])
end
return '0 ' .. seq .. ' ' .. epoch .. ' ' .. t[1] .. ' ' .. t[2]
