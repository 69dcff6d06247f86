-- Idempotency keys of the write scripts (log-publish.lua, sharded-publish.lua): a stored
-- update's key holds `<stream id> <update id>` for the window, so a retry within it is
-- answered with the first publish's instead of being stored again.
local function firstAnswer(window, keyPrefix, key)
  if window <= 0 or key == '' then return nil end
  local first = redis.call('GET', keyPrefix .. key)
  if not first then return nil end
  local sp = string.find(first, ' ', 1, true)
  return string.sub(first, 1, sp - 1), string.sub(first, sp + 1)
end
local function rememberAnswer(window, keyPrefix, key, sid, id)
  if window > 0 and key ~= '' then redis.call('SET', keyPrefix .. key, sid .. ' ' .. id, 'PX', window) end
end
