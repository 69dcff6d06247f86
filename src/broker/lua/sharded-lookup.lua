#!lua flags=no-writes
-- Read-only: the stream id of an update id in one partition, if retained and not expired.
-- KEYS: ids. ARGV: update id, ttlMs. Returns the stream id or false. Needs trim-lib.lua (nowMs) and sharded-lib.lua.
local sid = redis.call('HGET', KEYS[1], ARGV[1])
if not sid then return false end
local ttl = tonumber(ARGV[2])
if ttl > 0 then
  local ms = split(sid)
  if ms < nowMs() - ttl then return false end
end
return sid
