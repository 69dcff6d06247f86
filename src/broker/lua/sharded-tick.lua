-- A partition with nothing to publish still has to tell every node "nothing below this id
-- will come from me", or the merge waits for it. KEYS: last. ARGV: channel, target id.
-- Raises the partition's last id to the target and announces it on the shard channel, after
-- every entry published before it (same shard, same channel: Pub/Sub keeps the order).
-- Needs trim-lib.lua (nowMs) and sharded-lib.lua.
local lastKey, channel = KEYS[1], ARGV[1]
local lm, ls = 0, 0
local last = redis.call('GET', lastKey)
if last then lm, ls = split(last) end
local tm, ts = split(ARGV[2])
if later(tm, ts, lm, ls) then
  last = ARGV[2]
  redis.call('SET', lastKey, last)
elseif not last then
  last = '0-0'
end
redis.call('SPUBLISH', channel, last)
return last
