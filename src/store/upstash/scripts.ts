/**
 * The Lua scripts of the Upstash store, each with its pinned SHA1 (the identity Redis gives it,
 * which `EVALSHA` calls by). `tests/unit/store-upstash.test.ts` proves every pin with
 * `SCRIPT LOAD`; edit a script and the test names the new hash to pin.
 *
 * Key layout under `base = PREFIX:ROUTE` (the store passes `base`, or a key derived from it, in
 * KEYS):
 * - `base:t`   hash of cumulative counts, fields `c1..cN` (COUNT_FIELDS order)
 * - `base:b:S` hash of the counts (`c1..cN`) and histogram (`h1..hM`) of second S
 * - `base:bs`  sorted set of the seconds that have a bucket, scored in the order they were made
 * - `base:g`   hash isolateId → "atMs inflight", the in-flight gauges
 * - `base:l`   sorted set leaseId → expiresAt (ms)
 *
 * Time is the caller's `nowMs` (ARGV), never Redis `TIME`, so every isolate's clock and the
 * contract suite's fake time mean the same as in the memory store. Real-time `EXPIRE`s only
 * collect garbage; what counts as live is decided from `nowMs`.
 *
 * Sums are done in Lua doubles and written back with `%.17g` rather than with `HINCRBYFLOAT`:
 * Lua numbers are IEEE doubles like JavaScript's, so totals round exactly as the memory store's
 * do (`HINCRBYFLOAT` adds in long double and prints 17 digits of that), and a script cannot stop
 * half-way on `HINCRBYFLOAT`'s "would produce NaN or Infinity" error (Redis does not roll back a
 * script's earlier writes).
 *
 * @module
 */

/** A Lua script and the SHA1 Redis knows it by. */
export interface PinnedScript {
  readonly script: string
  readonly hash: string
}

// Shared helpers. `num` turns untrusted ARGV into a finite, non-negative double: tonumber gives
// nil for junk and Redis' Lua parses "nan"/"inf"; 2^53 caps one delta (a larger count cannot be
// exact anyway) so no sum can reach Infinity. `stored` reads back what the scripts wrote.
const helpers = `
local CAP = 9007199254740992
local function num(x)
  x = tonumber(x)
  if x == nil or x ~= x or x <= 0 or x == math.huge then return 0 end
  if x > CAP then return CAP end
  return x
end
local function stored(x)
  x = tonumber(x)
  if x == nil or x ~= x or x == math.huge or x == -math.huge then return 0 end
  return x
end
local function finite(x, what)
  x = tonumber(x)
  if x == nil or x ~= x or x == math.huge or x == -math.huge then
    error('rheostat: ' .. what .. ' is not a finite number')
  end
  return x
end
local function whole(x, min, max, what)
  x = finite(x, what)
  if x ~= math.floor(x) or x < min or x > max then
    error('rheostat: ' .. what .. ' is not a whole number in [' .. min .. ', ' .. max .. ']')
  end
  return x
end
local function fmt(x)
  return string.format('%.17g', x)
end
`

/**
 * Exchange (and snapshot): KEYS[1] is the config store's version key (`PREFIX:config:v`), and for
 * each route i, KEYS[i + 1] is its key base; ARGV is
 * `nowMs, isolateId, windowS, inflightTtlMs, idleTtlS, nCounts, nHist`, then per route a mode
 * (1 = add a delta, 0 = only look) followed by nCounts counts, nHist histogram buckets and the
 * isolate's in-flight gauge. Answers a flat array of strings: the config version, then per route
 * nCounts totals, nCounts window counts, nHist histogram buckets, inflight, isolates, leases. The
 * version rides in the same command, so an isolate learns of an upload without a poll of its own.
 */
const exchangeScript = `${helpers}
local nowMs = finite(ARGV[1], 'nowMs')
local isolate = ARGV[2]
local windowS = whole(ARGV[3], 1, 86400, 'windowS')
local ttlMs = whole(ARGV[4], 1, 86400000, 'inflightTtlMs')
local idleS = whole(ARGV[5], 1, 100000000, 'idleTtlS')
local nC = whole(ARGV[6], 0, 1000, 'nCounts')
local nH = whole(ARGV[7], 0, 1000, 'nHist')
local stride = 1 + nC + nH + 1
local nRoutes = #KEYS - 1
if nRoutes < 0 or #ARGV ~= 7 + stride * nRoutes then
  error('rheostat: expected the config key and ' .. stride .. ' numbers per route')
end

local cFields, bFields = {}, {}
for f = 1, nC do cFields[f] = 'c' .. f; bFields[f] = 'c' .. f end
for h = 1, nH do bFields[nC + h] = 'h' .. h end
local second = math.floor(nowMs / 1000)
local bucketTtlS = windowS + 5
local gaugeTtlS = math.ceil(ttlMs / 1000) + 5

-- Reads fields, adds deltas (ARGV from offset) in doubles, writes the sums back in one HSET.
local function add(key, fields, offset)
  local cur = redis.call('HMGET', key, unpack(fields))
  local set = {}
  for f = 1, #fields do
    set[#set + 1] = fields[f]
    set[#set + 1] = fmt(stored(cur[f]) + num(ARGV[offset + f]))
  end
  redis.call('HSET', key, unpack(set))
end

local out = {}
local function push(x) out[#out + 1] = x end
push(fmt(math.floor(stored(redis.call('GET', KEYS[1])))))

for i = 1, nRoutes do
  local base = KEYS[i + 1]
  local at = 7 + (i - 1) * stride + 1
  if ARGV[at] == '1' then
    add(base .. ':t', cFields, at)
    redis.call('EXPIRE', base .. ':t', idleS)
    local s = fmt(second)
    local bucket = base .. ':b:' .. s
    if not redis.call('ZSCORE', base .. ':bs', s) then
      -- A new bucket goes last, and starts from zero even if a pruned one's hash lingers.
      local last = redis.call('ZRANGE', base .. ':bs', -1, -1, 'WITHSCORES')
      redis.call('ZADD', base .. ':bs', #last == 2 and tonumber(last[2]) + 1 or 1, s)
      redis.call('DEL', bucket)
    end
    add(bucket, bFields, at)
    redis.call('EXPIRE', bucket, bucketTtlS)
    redis.call('EXPIRE', base .. ':bs', bucketTtlS)
    redis.call('HSET', base .. ':g', isolate, fmt(nowMs) .. ' ' .. fmt(num(ARGV[at + 1 + nC + nH])))
    redis.call('EXPIRE', base .. ':g', gaugeTtlS)
  end

  local totals = redis.call('HMGET', base .. ':t', unpack(cFields))
  for f = 1, nC do push(fmt(stored(totals[f]))) end

  -- The window: every bucket newer than WINDOW_S seconds before now (later ones too, as in the
  -- memory store, so an isolate whose clock runs behind still sees them); older ones are deleted.
  -- Summed in the order the buckets were made, as the memory store's Map does, so that even
  -- fractional sums round alike.
  local sums = {}
  for f = 1, nC + nH do sums[f] = 0 end
  for _, s in ipairs(redis.call('ZRANGE', base .. ':bs', 0, -1)) do
    if tonumber(s) <= second - windowS then
      redis.call('ZREM', base .. ':bs', s)
      redis.call('DEL', base .. ':b:' .. s)
    else
      local vals = redis.call('HMGET', base .. ':b:' .. s, unpack(bFields))
      for f = 1, nC + nH do sums[f] = sums[f] + stored(vals[f]) end
    end
  end
  for f = 1, nC + nH do push(fmt(sums[f])) end

  -- HGETALL lists a small hash in insertion order, like the memory store's Map, so fractional
  -- gauges sum alike up to 128 isolates (Redis' listpack limit); gauges are whole numbers anyway.
  local gauges = redis.call('HGETALL', base .. ':g')
  local inflight, isolates, dead = 0, 0, {}
  for k = 1, #gauges, 2 do
    local gAt, gN = string.match(gauges[k + 1], '^(%S+) (%S+)$')
    gAt = tonumber(gAt)
    if gAt == nil or gAt ~= gAt or nowMs - gAt >= ttlMs then
      dead[#dead + 1] = gauges[k]
    else
      inflight = inflight + stored(gN)
      isolates = isolates + 1
    end
  end
  -- unpack() is limited by the Lua C stack, so delete in slices.
  for k = 1, #dead, 1000 do
    redis.call('HDEL', base .. ':g', unpack(dead, k, math.min(k + 999, #dead)))
  end
  push(fmt(inflight))
  push(fmt(isolates))

  redis.call('ZREMRANGEBYSCORE', base .. ':l', '-inf', nowMs)
  push(fmt(redis.call('ZCARD', base .. ':l')))
end
return out
`

// Lease scripts: KEYS[1] is the route's lease set (`base:l`). Expired leases (expiresAt <= nowMs)
// are dropped first, as in the memory store. The set's own expiry only collects garbage; it is
// only ever lengthened, to outlive the longest lease in it.
const keepFor = `
local function keepFor(key, ms)
  ms = math.min(math.ceil(ms), 1e12)
  if redis.call('PTTL', key) < ms then redis.call('PEXPIRE', key, ms) end
end
`

/** ARGV: leaseId, ttlMs, maxActive, nowMs, idleTtlS. Answers {granted 0|1, active, expiresAt}. */
const acquireScript = `${helpers}${keepFor}
local key, id = KEYS[1], ARGV[1]
local ttlMs = finite(ARGV[2], 'ttlMs')
-- Infinity means no limit; only NaN is refused.
local maxActive = tonumber(ARGV[3])
if maxActive == nil or maxActive ~= maxActive then error('rheostat: maxActive is not a number') end
local nowMs = finite(ARGV[4], 'nowMs')
local idleS = whole(ARGV[5], 1, 100000000, 'idleTtlS')
redis.call('ZREMRANGEBYSCORE', key, '-inf', nowMs)
local active = redis.call('ZCARD', key)
if not redis.call('ZSCORE', key, id) and active >= maxActive then
  return {0, active, '0'}
end
local expiresAt = nowMs + ttlMs
redis.call('ZADD', key, expiresAt, id)
keepFor(key, math.max(idleS * 1000, ttlMs + 1000))
return {1, redis.call('ZCARD', key), fmt(expiresAt)}
`

/** ARGV: leaseId, ttlMs, nowMs, idleTtlS. Answers 1 when the lease was live and is extended. */
const heartbeatScript = `${helpers}${keepFor}
local key, id = KEYS[1], ARGV[1]
local ttlMs = finite(ARGV[2], 'ttlMs')
local nowMs = finite(ARGV[3], 'nowMs')
local idleS = whole(ARGV[4], 1, 100000000, 'idleTtlS')
redis.call('ZREMRANGEBYSCORE', key, '-inf', nowMs)
if not redis.call('ZSCORE', key, id) then return 0 end
redis.call('ZADD', key, nowMs + ttlMs, id)
keepFor(key, math.max(idleS * 1000, ttlMs + 1000))
return 1
`

/** ARGV: leaseId, nowMs. Answers 1 when a live lease was removed. */
const releaseScript = `${helpers}
local key, id = KEYS[1], ARGV[1]
local nowMs = finite(ARGV[2], 'nowMs')
redis.call('ZREMRANGEBYSCORE', key, '-inf', nowMs)
return redis.call('ZREM', key, id)
`

/** Every script of the Upstash store, with its pinned SHA1. */
export const SCRIPTS = {
  exchange: { script: exchangeScript, hash: '859973dfeeafae2c8fe8d5869f2ae7c7367b0f72' },
  acquireLease: { script: acquireScript, hash: '78d59e93c117d52521b4046867a8fd679eff91c5' },
  heartbeatLease: { script: heartbeatScript, hash: '24cd2a01f5053c212a84ab95c06fb0b335b05d96' },
  releaseLease: { script: releaseScript, hash: 'fe6f7d7c885e471662d598c81d2bd8a8651849d2' },
} as const satisfies Record<string, PinnedScript>
