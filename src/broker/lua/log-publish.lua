-- Appends every update of a batch to the stream, indexes its id, trims by count and age, and
-- publishes each stored entry: one atomic step, so the Pub/Sub order is the stream order.
-- KEYS: stream, id index, channel, trimmed. ARGV: maxlen, ttlMs, idempotency window (ms, 0 =
-- off), idempotency key prefix, then (id, payload, idempotency key or '') triples.
-- Each entry has fields i=<update id>, u=<payload>. The id index maps an update id to the
-- stream id of its earliest retained occurrence. An update whose idempotency key was seen
-- within the window is a retry: it is not stored nor published, and its answer is the first
-- one's (the key's value: `<stream id> <update id>`). Needs trim-lib.lua and idempotency-lib.lua.
-- Returns {sid1, first1, sid2, first2, ...}: `first` is '' for a stored update, the first
-- publish's update id for a retry (then `sid` is the first one's stream id).
local stream, idx, channel, trimmedKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local maxlen, ttl, window, keyPrefix = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local out, stored = {}, {}
for i = 5, #ARGV, 3 do
  local key = ARGV[i + 2]
  local firstSid, firstId = firstAnswer(window, keyPrefix, key)
  if firstSid then
    out[#out + 1] = firstSid
    out[#out + 1] = firstId
  else
    local sid = redis.call('XADD', stream, '*', 'i', ARGV[i], 'u', ARGV[i + 1])
    redis.call('HSETNX', idx, ARGV[i], sid)
    rememberAnswer(window, keyPrefix, key, sid, ARGV[i])
    out[#out + 1] = sid
    out[#out + 1] = ''
    stored[#stored + 1] = { sid, ARGV[i + 1] }
  end
end
trim(stream, idx, trimmedKey, maxlen, ttl, nowMs())
for _, s in ipairs(stored) do
  redis.call('PUBLISH', channel, s[1] .. ' ' .. s[2])
end
return out
