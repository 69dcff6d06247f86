-- Helpers of the partitioned (Redis Cluster) log scripts. Each script runs on one partition,
-- so all its keys and its shard channel share one hash tag. Stream ids compare as
-- (milliseconds, sequence) pairs.
local function split(id)
  local d = string.find(id, '-', 1, true)
  return tonumber(string.sub(id, 1, d - 1)), tonumber(string.sub(id, d + 1))
end
local function later(am, as, bm, bs) return am > bm or (am == bm and as > bs) end
