-- KEYS: stream, ids, last, trimmed. ARGV: channel, maxlen, ttlMs, floor id, then (id, payload)
-- pairs. Ids are chosen here, never below the partition's last id nor the floor the node
-- passes (the newest id it has seen anywhere): a Lamport clock across partitions, so an
-- update published after another one was acknowledged to the same node sorts after it.
-- Needs sharded-lib.lua.
local stream, idx, lastKey, trimmedKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local channel, maxlen, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local lm, ls = 0, 0
local last = redis.call('GET', lastKey)
if last then lm, ls = split(last) end
local fm, fs = split(ARGV[4])
if later(fm, fs, lm, ls) then lm, ls = fm, fs end
local now = nowMs()
local ids = {}
for i = 5, #ARGV, 2 do
  if now > lm then lm, ls = now, 0 else ls = ls + 1 end
  local sid = string.format('%d-%d', lm, ls)
  redis.call('XADD', stream, sid, 'i', ARGV[i], 'u', ARGV[i + 1])
  redis.call('HSETNX', idx, ARGV[i], sid)
  ids[#ids + 1] = sid
end
redis.call('SET', lastKey, ids[#ids])
trim(stream, idx, trimmedKey, maxlen, ttl, now)
for n, sid in ipairs(ids) do
  redis.call('SPUBLISH', channel, sid .. ' ' .. ARGV[4 + 2 * n])
end
return ids
