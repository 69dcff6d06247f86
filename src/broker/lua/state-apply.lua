-- Applies one change to a topic's retained state (redis-state.ts describes the layout).
-- KEYS: doc, topics, seq, rate, idempotency key. ARGV: topic, private (1/0), maxTopics, maxBytes,
-- isPatch (1/0), ops (JSON, see compileOps), rates field, idempotency window (ms, 0 = off).
-- Returns {version, flat leaves, private}. With a window, the reply is kept under the
-- idempotency key for that long, and a change arriving with a key already kept is a retry:
-- it is not applied again (a retried `$inc` counts once) and gets the kept reply.
-- Redis' Lua JSON encoder writes 14 significant digits and cannot tell [] from {}, so the
-- script never decodes or encodes a state: it edits leaves, and only numbers it adds are
-- formatted here (shortest form that reads back to the same double).
local doc, topics, seqKey, rateKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local topic, priv, maxTopics, maxBytes, isPatch = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local idemKey, window = KEYS[5], tonumber(ARGV[8])
if window > 0 then
  local kept = redis.call('GET', idemKey)
  if kept then
    local r = cjson.decode(kept)
    return { tonumber(r[1]), r[2], r[3] }
  end
end
local function answer(version, out, p)
  if window > 0 then
    redis.call('SET', idemKey, cjson.encode({ tostring(version), out, p }), 'PX', window)
  end
  return { version, out, p }
end
local ops = cjson.decode(ARGV[6])

-- A patch or a removal never lowers the visibility of a private state.
if ops[1] and ops[1].o == 'drop' then
  if redis.call('HGET', doc, '#p') == '1' then priv = '1' end
  redis.call('DEL', doc, rateKey)
  redis.call('SREM', topics, topic)
  return answer(redis.call('INCR', seqKey), {}, priv)
end
if redis.call('EXISTS', doc) == 0 and redis.call('SCARD', topics) >= maxTopics then
  return redis.error_reply('HERALD_TOO_MANY')
end

local T, before = {}, {}
local flat = redis.call('HGETALL', doc)
for i = 1, #flat, 2 do T[flat[i]] = flat[i + 1]; before[flat[i]] = flat[i + 1] end
local lowered = false
if before['#p'] == '1' and priv ~= '1' then
  if isPatch == '1' then priv = '1' else lowered = true end
end

local function fmt(n)
  if n ~= n or n == math.huge or n == -math.huge then return nil end
  if n == math.floor(n) and math.abs(n) < 9007199254740992 then return string.format('%d', n) end
  for p = 15, 17 do
    local s = string.format('%.' .. p .. 'g', n)
    if tonumber(s) == n then return s end
  end
  return string.format('%.17g', n)
end
local function prefixOf(f) return string.sub(f, 1, -2) .. ',' end
local function hasDesc(f)
  local p = prefixOf(f); local n = #p
  for k in pairs(T) do if string.sub(k, 1, n) == p then return true end end
  return false
end
local function delDesc(f)
  local p = prefixOf(f); local n = #p; local gone = {}
  for k in pairs(T) do if string.sub(k, 1, n) == p then gone[#gone + 1] = k end end
  for _, k in ipairs(gone) do T[k] = nil end
end
local function openAncestors(a)
  for _, af in ipairs(a) do if T[af] ~= nil then T[af] = nil end end
end

local R, rateFields, sec, ratesDirty = nil, {}, nil, false
local function loadRates()
  if R then return end
  R = {}
  local rf = redis.call('HGETALL', rateKey)
  for i = 1, #rf, 2 do R[rf[i]] = rf[i + 1] end
  sec = tonumber(redis.call('TIME')[1])
end

for _, op in ipairs(ops) do
  local o = op.o
  if o == 'clear' then
    local gone = {}
    for k in pairs(T) do if string.sub(k, 1, 1) == '[' then gone[#gone + 1] = k end end
    for _, k in ipairs(gone) do T[k] = nil end
  elseif o == 'root' then
    T['[]'] = nil
  elseif o == 'obj' then
    openAncestors(op.a)
    local v = T[op.f]
    if v ~= nil and v ~= '{}' then T[op.f] = '{}'
    elseif v == nil and not hasDesc(op.f) then T[op.f] = '{}' end
  elseif o == 'set' then
    openAncestors(op.a)
    if T[op.f] == nil or T[op.f] == '{}' then delDesc(op.f) end
    T[op.f] = op.v
  elseif o == 'del' then
    T[op.f] = nil
    delDesc(op.f)
    if op.p ~= '[]' and T[op.p] == nil and not hasDesc(op.p) then T[op.p] = '{}' end
  elseif o == 'inc' then
    for _, af in ipairs(op.a) do
      local v = T[af]
      if v == '{}' then T[af] = nil
      elseif v ~= nil then return redis.error_reply('HERALD_BAD_PATCH cannot increment inside "' .. op.d .. '": it is not an object') end
    end
    local n = tonumber(op.n)
    local v = T[op.f]
    local cur = 0
    if v == nil then
      if hasDesc(op.f) then return redis.error_reply('HERALD_BAD_PATCH cannot increment "' .. op.d .. '": it is not a number') end
    else
      cur = tonumber(v)
      if v == '{}' or cur == nil then return redis.error_reply('HERALD_BAD_PATCH cannot increment "' .. op.d .. '": it is not a number') end
    end
    local s = fmt(cur + n)
    if s == nil then return redis.error_reply('HERALD_BAD_PATCH "' .. op.d .. '" would overflow') end
    T[op.f] = s
    if op.r ~= '' then
      loadRates()
      local w = tonumber(R['w:' .. op.r])
      if w then
        local slot = op.r .. ':' .. (sec % w)
        if R['s:' .. slot] ~= tostring(sec) then R['s:' .. slot] = tostring(sec); R['v:' .. slot] = '0' end
        R['v:' .. slot] = fmt(tonumber(R['v:' .. slot]) + n)
        ratesDirty = true
      end
    end
  elseif o == 'rate' then
    loadRates()
    if R['w:' .. op.k] ~= tostring(op.w) then
      local gone = {}
      local pre1, pre2 = 's:' .. op.k .. ':', 'v:' .. op.k .. ':'
      for k in pairs(R) do
        if string.sub(k, 1, #pre1) == pre1 or string.sub(k, 1, #pre2) == pre2 then gone[#gone + 1] = k end
      end
      for _, k in ipairs(gone) do R[k] = nil end
      R['w:' .. op.k] = tostring(op.w); R['f:' .. op.k] = tostring(sec); R['o:' .. op.k] = op.f
      ratesDirty = true
    end
  end
end

if isPatch == '1' and (R or redis.call('EXISTS', rateKey) == 1) then
  loadRates()
  local any = false
  for k, w in pairs(R) do
    if string.sub(k, 1, 2) == 'w:' then
      local name = string.sub(k, 3); local win = tonumber(w); local sum = 0
      for slot = 0, win - 1 do
        local s = tonumber(R['s:' .. name .. ':' .. slot])
        if s and s > sec - win then sum = sum + tonumber(R['v:' .. name .. ':' .. slot]) end
      end
      local div = math.max(1, math.min(win, sec - tonumber(R['f:' .. name]) + 1))
      rateFields[#rateFields + 1] = { R['o:' .. name], fmt(math.floor(sum / div * 100 + 0.5) / 100) }
      any = true
    end
  end
  if any then
    local ratesField = ARGV[7]
    if T[ratesField] ~= nil then T[ratesField] = nil end
    for _, rf in ipairs(rateFields) do T[rf[1]] = rf[2] end
  end
end

local size, out = 0, {}
for k, v in pairs(T) do
  if string.sub(k, 1, 1) == '[' then
    size = size + #k + #v
    out[#out + 1] = k; out[#out + 1] = v
  end
end
if size > maxBytes then return redis.error_reply('HERALD_TOO_LARGE ' .. size) end

local version = redis.call('INCR', seqKey)
T['#v'] = tostring(version); T['#p'] = priv
local gone, set = {}, {}
for k in pairs(before) do if T[k] == nil then gone[#gone + 1] = k end end
for k, v in pairs(T) do if before[k] ~= v then set[#set + 1] = k; set[#set + 1] = v end end
-- unpack() is bounded by Lua's C stack, so large edits go in slices.
local function chunked(cmd, key, list, step)
  for i = 1, #list, step do redis.call(cmd, key, unpack(list, i, math.min(i + step - 1, #list))) end
end
chunked('HDEL', doc, gone, 1000)
chunked('HSET', doc, set, 1000)
redis.call('SADD', topics, topic)
-- A replacement that makes a private state public starts without the old rate windows.
if lowered then redis.call('DEL', rateKey) end
if ratesDirty then
  redis.call('DEL', rateKey)
  local rs = {}
  for k, v in pairs(R) do rs[#rs + 1] = k; rs[#rs + 1] = v end
  chunked('HSET', rateKey, rs, 1000)
end
return answer(version, out, priv)
