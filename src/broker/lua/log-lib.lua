-- Helpers of the single-log scripts (log-publish.lua): trimming by count and age.
-- Trimming removes index rows with their entries and remembers the newest id it removed, so a
-- node catching up from before it knows updates were lost.
local function drop(stream, idx, entries, trimmedKey)
  for _, e in ipairs(entries) do
    local id = e[2][2]
    if redis.call('HGET', idx, id) == e[1] then redis.call('HDEL', idx, id) end
  end
  if #entries > 0 then redis.call('SET', trimmedKey, entries[#entries][1]) end
end
local function trim(stream, idx, trimmedKey, maxlen, ttl)
  local excess = redis.call('XLEN', stream) - maxlen
  if excess > 0 then
    drop(stream, idx, redis.call('XRANGE', stream, '-', '+', 'COUNT', excess), trimmedKey)
    redis.call('XTRIM', stream, 'MAXLEN', maxlen)
  end
  if ttl > 0 then
    local t = redis.call('TIME')
    local cutoff = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - ttl
    if cutoff > 0 then
      local old = redis.call('XRANGE', stream, '-', '(' .. cutoff .. '-0')
      if #old > 0 then
        drop(stream, idx, old, trimmedKey)
        redis.call('XTRIM', stream, 'MINID', cutoff .. '-0')
      end
    end
  end
end
