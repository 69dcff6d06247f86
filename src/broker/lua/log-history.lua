#!lua flags=no-writes
-- Resolves an update id to its stream position and reads what follows, atomically, so an
-- entry cannot be trimmed between the look-up and the read. Read-only (it may run on a
-- replica): entries past the age limit that no publish has trimmed yet are left out here.
-- KEYS: stream, id index. ARGV: lastEventId ('' = from the start), limit, ttlMs.
-- Returns {found (0/1), anchor payload, sid1, payload1, sid2, payload2, ...}.
local stream, idx = KEYS[1], KEYS[2]
local after, limit, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local cutoff = nil
if ttl > 0 then
  local t = redis.call('TIME')
  cutoff = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - ttl
end
local function expired(sid)
  return cutoff ~= nil and tonumber(string.sub(sid, 1, string.find(sid, '-', 1, true) - 1)) < cutoff
end
local start, anchor = '-', ''
if after ~= '' then
  local sid = redis.call('HGET', idx, after)
  if not sid or expired(sid) then return {0} end
  start = '(' .. sid
  local a = redis.call('XRANGE', stream, sid, sid)
  if a[1] then anchor = a[1][2][4] end
end
local out = {1, anchor}
if limit <= 0 then return out end
for _, e in ipairs(redis.call('XRANGE', stream, start, '+', 'COUNT', limit)) do
  if not expired(e[1]) then
    out[#out + 1] = e[1]
    out[#out + 1] = e[2][4]
  end
end
return out
