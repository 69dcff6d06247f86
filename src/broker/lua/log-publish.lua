-- Appends every update of a batch to the stream, indexes its id, trims by count and age, and
-- publishes each stored entry: one atomic step, so the Pub/Sub order is the stream order.
-- KEYS: stream, id index, channel, trimmed. ARGV: maxlen, ttlMs, then (id, payload) pairs.
-- Each entry has fields i=<update id>, u=<payload>. The id index maps an update id to the
-- stream id of its earliest retained occurrence. Needs log-lib.lua.
local stream, idx, channel, trimmedKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local maxlen, ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
local ids = {}
for i = 3, #ARGV, 2 do
  local sid = redis.call('XADD', stream, '*', 'i', ARGV[i], 'u', ARGV[i + 1])
  redis.call('HSETNX', idx, ARGV[i], sid)
  ids[#ids + 1] = sid
end
trim(stream, idx, trimmedKey, maxlen, ttl)
for n, sid in ipairs(ids) do
  redis.call('PUBLISH', channel, sid .. ' ' .. ARGV[2 + 2 * n])
end
return ids
