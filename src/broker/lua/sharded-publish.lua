-- KEYS: stream, ids, last, trimmed. ARGV: channel, maxlen, ttlMs, floor id, idempotency window
-- (ms, 0 = off), idempotency key prefix (in the partition's slot), then (id, payload,
-- idempotency key or '') triples. Ids are chosen here, never below the partition's last id
-- nor the floor the node passes (the newest id it has seen anywhere): a Lamport clock across
-- partitions, so an update published after another one was acknowledged to the same node
-- sorts after it. An update whose idempotency key was seen within the window is a retry: not
-- stored nor published, answered with the first one's stream id and update id.
-- Returns {sid1, first1, ...}: `first` is '' for a stored update. Needs trim-lib.lua, sharded-lib.lua and idempotency-lib.lua.
local stream, idx, lastKey, trimmedKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local channel, maxlen, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local window, keyPrefix = tonumber(ARGV[5]), ARGV[6]
local lm, ls = 0, 0
local last = redis.call('GET', lastKey)
if last then lm, ls = split(last) end
local fm, fs = split(ARGV[4])
if later(fm, fs, lm, ls) then lm, ls = fm, fs end
local now = nowMs()
local out, stored = {}, {}
for i = 7, #ARGV, 3 do
  local key = ARGV[i + 2]
  local firstSid, firstId = firstAnswer(window, keyPrefix, key)
  if firstSid then
    out[#out + 1] = firstSid
    out[#out + 1] = firstId
  else
    if now > lm then lm, ls = now, 0 else ls = ls + 1 end
    local sid = string.format('%d-%d', lm, ls)
    redis.call('XADD', stream, sid, 'i', ARGV[i], 'u', ARGV[i + 1])
    redis.call('HSETNX', idx, ARGV[i], sid)
    rememberAnswer(window, keyPrefix, key, sid, ARGV[i])
    out[#out + 1] = sid
    out[#out + 1] = ''
    stored[#stored + 1] = { sid, ARGV[i + 1] }
  end
end
if #stored > 0 then
  redis.call('SET', lastKey, stored[#stored][1])
  trim(stream, idx, trimmedKey, maxlen, ttl, now)
end
for _, s in ipairs(stored) do
  redis.call('SPUBLISH', channel, s[1] .. ' ' .. s[2])
end
return out
