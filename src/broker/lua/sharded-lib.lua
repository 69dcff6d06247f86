-- Helpers of the partitioned (Redis Cluster) log scripts. Each script runs on one partition,
-- so all its keys and its shard channel share one hash tag.
-- Trims by count and age, remembering the newest id it removed (the trimmed key): a reader
-- resuming from before that id knows updates were lost and says so (`herald.gap`) instead
-- of skipping them silently. Trimming happens only in sharded-publish.lua, on the write path.
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
local function split(id)
  local d = string.find(id, '-', 1, true)
  return tonumber(string.sub(id, 1, d - 1)), tonumber(string.sub(id, d + 1))
end
local function later(am, as, bm, bs) return am > bm or (am == bm and as > bs) end
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
