-- Trimming shared by the single-log (log-publish.lua) and the partitioned (sharded-publish.lua)
-- write scripts: by count and by age. It removes index rows with their entries and remembers
-- the newest id it removed (the trimmed key), so a reader resuming from before that id knows
-- updates were lost and says so (`herald.gap`) instead of skipping them silently. Only write
-- scripts trim: history reads stay read-only (they may run on a replica).
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function drop(idx, entries, trimmedKey)
  for _, e in ipairs(entries) do
    local id = e[2][2]
    if redis.call('HGET', idx, id) == e[1] then redis.call('HDEL', idx, id) end
  end
  if #entries > 0 then redis.call('SET', trimmedKey, entries[#entries][1]) end
end
local function trim(stream, idx, trimmedKey, maxlen, ttl, now)
  local excess = redis.call('XLEN', stream) - maxlen
  if excess > 0 then
    drop(idx, redis.call('XRANGE', stream, '-', '+', 'COUNT', excess), trimmedKey)
    redis.call('XTRIM', stream, 'MAXLEN', maxlen)
  end
  if ttl > 0 and now - ttl > 0 then
    local old = redis.call('XRANGE', stream, '-', '(' .. (now - ttl) .. '-0')
    if #old > 0 then
      drop(idx, old, trimmedKey)
      redis.call('XTRIM', stream, 'MINID', (now - ttl) .. '-0')
    end
  end
end
