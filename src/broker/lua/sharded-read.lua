#!lua flags=no-writes
-- Read-only (runs on a replica too): entries of one partition after (or from) a stream id,
-- and whether any entry in that range was trimmed or is past the age limit. KEYS: stream,
-- trimmed. ARGV: start ('-' or an id), inclusive (1/0), limit, ttlMs.
-- Returns {lost (0/1), sid1, payload1, ...}. Needs trim-lib.lua and sharded-lib.lua.
local stream, trimmedKey = KEYS[1], KEYS[2]
local start, inclusive, limit, ttl = ARGV[1], ARGV[2] == '1', tonumber(ARGV[3]), tonumber(ARGV[4])
local lost = 0
local from = '-'
if start ~= '-' then
  local t = redis.call('GET', trimmedKey)
  if t then
    local tm, ts = split(t)
    local sm, ss = split(start)
    if later(tm, ts, sm, ss) or (inclusive and tm == sm and ts == ss) then lost = 1 end
  end
  from = inclusive and start or ('(' .. start)
end
local cutoff = nil
if ttl > 0 then cutoff = nowMs() - ttl end
local out = {lost}
if limit <= 0 then return out end
for _, e in ipairs(redis.call('XRANGE', stream, from, '+', 'COUNT', limit)) do
  local ms = split(e[1])
  if cutoff and ms < cutoff then
    if start ~= '-' then out[1] = 1 end
  else
    out[#out + 1] = e[1]
    out[#out + 1] = e[2][4]
  end
end
return out
