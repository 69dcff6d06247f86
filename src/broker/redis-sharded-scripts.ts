// Lua scripts of the partitioned (Redis Cluster) log. Each runs on one partition, so all its
// keys and its shard channel share one hash tag.

// Trims by count and age, remembering the newest id it removed (KEYS[4]): a reader resuming
// from before that id knows updates were lost and says so (`herald.gap`) instead of
// skipping them silently. Trimming happens only here, on the write path.
const TRIM = `
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
`;

// KEYS: stream, ids, last, trimmed. ARGV: channel, maxlen, ttlMs, floor id, then (id, payload)
// pairs. Ids are chosen here, never below the partition's last id nor the floor the node
// passes (the newest id it has seen anywhere): a Lamport clock across partitions, so an
// update published after another one was acknowledged to the same node sorts after it.
export const PUBLISH = `${TRIM}
local stream, idx, lastKey, trimmedKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local channel, maxlen, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local lm, ls = 0, 0
local last = redis.call('GET', lastKey)
if last then lm, ls = split(last) end
local fm, fs = split(ARGV[4])
if later(fm, fs, lm, ls) then lm, ls = fm, fs end
local now = nowMs()
local ids = {}
for i = 5, #ARGV, 2 do
  if now > lm then lm, ls = now, 0 else ls = ls + 1 end
  local sid = string.format('%d-%d', lm, ls)
  redis.call('XADD', stream, sid, 'i', ARGV[i], 'u', ARGV[i + 1])
  redis.call('HSETNX', idx, ARGV[i], sid)
  ids[#ids + 1] = sid
end
redis.call('SET', lastKey, ids[#ids])
trim(stream, idx, trimmedKey, maxlen, ttl, now)
for n, sid in ipairs(ids) do
  redis.call('SPUBLISH', channel, sid .. ' ' .. ARGV[4 + 2 * n])
end
return ids
`;

// A partition with nothing to publish still has to tell every node "nothing below this id
// will come from me", or the merge waits for it. KEYS: last. ARGV: channel, target id.
// Raises the partition's last id to the target and announces it on the shard channel, after
// every entry published before it (same shard, same channel: Pub/Sub keeps the order).
export const TICK = `${TRIM}
local lastKey, channel = KEYS[1], ARGV[1]
local lm, ls = 0, 0
local last = redis.call('GET', lastKey)
if last then lm, ls = split(last) end
local tm, ts = split(ARGV[2])
if later(tm, ts, lm, ls) then
  last = ARGV[2]
  redis.call('SET', lastKey, last)
elseif not last then
  last = '0-0'
end
redis.call('SPUBLISH', channel, last)
return last
`;

// Read-only (runs on a replica too): entries of one partition after (or from) a stream id,
// and whether any entry in that range was trimmed or is past the age limit. KEYS: stream,
// trimmed. ARGV: start ('-' or an id), inclusive (1/0), limit, ttlMs.
// Returns {lost (0/1), sid1, payload1, ...}.
export const READ = `#!lua flags=no-writes
${TRIM}
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
`;

// Read-only: the stream id of an update id in one partition, if retained and not expired.
// KEYS: ids. ARGV: update id, ttlMs. Returns the stream id or false.
export const LOOKUP = `#!lua flags=no-writes
${TRIM}
local sid = redis.call('HGET', KEYS[1], ARGV[1])
if not sid then return false end
local ttl = tonumber(ARGV[2])
if ttl > 0 then
  local ms = split(sid)
  if ms < nowMs() - ttl then return false end
end
return sid
`;
