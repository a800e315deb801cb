/**
 * Engine benchmark: the median cost of one governed decision (`admit` plus its `complete` on the
 * public governor API) for each engine, with 1 route and with 10,000 routes, plus the memory a
 * route costs. Run it with `npm run bench:engine`.
 *
 * Every (engine, case) runs in its own child process: one process holding both engines would
 * make the governor's call into `engine.admit` polymorphic, which no real deployment sees, and
 * the first engine measured would bias the second. The parent collects one JSON line from each
 * child, prints the table, and ends with a single JSON object on the last line.
 *
 * For scale, the same walk also times a bare in-process token bucket (a `Map` from route id to
 * tokens and last refill, refilled and spent per check: what a user would write instead of a
 * governor), and the run prints each engine's cost as a multiple of it. Absolute nanoseconds on a
 * shared machine move ±50% with load; the ratio, measured in the same run, is the figure to quote.
 *
 * Time inside the governor comes from a virtual clock advanced 0.01 ms per decision, so a run is
 * deterministic (the checksums must repeat, and agree between the engines) and the 100 ms ticks
 * happen on their own: with 10,000 routes each route is visited once every 100 virtual ms, so
 * nearly every decision also pays for a tick. The wall clock only times the loops.
 *
 * @module
 */

import { spawnSync } from 'node:child_process'
import { availableParallelism, cpus } from 'node:os'
import { fileURLToPath } from 'node:url'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { createGovernor, type Governor } from '../src/adapter/node/mod.ts'
import { SLOT_FIELDS } from '../src/engine/reference/layout.ts'
import { positiveInt } from './options.ts'

type Engine = 'ts' | 'wasm'

const ENGINES: readonly Engine[] = ['ts', 'wasm']
const ROUTE_CASES: readonly number[] = [1, 10000]
// ENGINE_BENCH_ROUNDS, ENGINE_BENCH_DECISIONS (per round) and ENGINE_BENCH_WARMUP change these
// (tests/unit/bench-engine.test.ts runs the whole bench with tiny ones, to check what it prints).
const ROUNDS = positiveInt('ENGINE_BENCH_ROUNDS', 7)
const DECISIONS_PER_ROUND = positiveInt('ENGINE_BENCH_DECISIONS', 500_000)
const WARMUP_DECISIONS = positiveInt('ENGINE_BENCH_WARMUP', 1_000_000)
const STEP_MS = 0.01
const LATENCY_MS = 20
const GOAL_NS = 150
const MAX_ROUTES = 10000
const SEED = 0x5eed

const PRIORITY_OPTIONS = [
  { priority: 'critical' },
  { priority: 'normal' },
  { priority: 'low' },
] as const
const OUTCOME = { latencyMs: LATENCY_MS, ok: true } as const

/** What a timing child reports. */
interface CaseResult {
  engine: Engine
  routes: number
  roundsNs: number[]
  allowed: number
  checksum: number
  stateDigest: number
}

/** What a memory child reports. */
interface MemoryResult {
  engine: Engine
  heapBytesPerRoute: number
  fixedHeapBytes: number
  fixedExternalBytes: number
}

// ---- shared helpers ------------------------------------------------------------------------------

// A typed-array cell, not a `let`: a module-level `let` holding a double is boxed on every write,
// which would add one allocation per decision to the measurement.
const virtualNow = new Float64Array(1)
const clock = (): number => virtualNow[0]

function routeIds(count: number): string[] {
  const ids: string[] = new Array(count)
  for (let i = 0; i < count; i++) ids[i] = `route-${i}`
  return ids
}

/** Mulberry32: a small seeded PRNG, so the visiting order is the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** The route ids in a fixed pseudo-random order, so successive lookups hit unrelated entries. */
function visitOrder(count: number): string[] {
  const order = routeIds(count)
  const random = prng(SEED)
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    const tmp = order[i]
    order[i] = order[j]
    order[j] = tmp
  }
  return order
}

function makeGovernor(engine: Engine): Governor {
  const gov = createGovernor({ engine, clock, config: { maxRoutes: MAX_ROUTES } })
  if (gov.engineKind !== engine) {
    throw new Error(`Expected engine "${engine}", the governor runs "${gov.engineKind}"`)
  }
  return gov
}

function collectGarbage(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc
  if (typeof exposed === 'function') return exposed
  // Fallback when the process was started without --expose-gc.
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as () => void
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

function round1(value: number): number {
  return Math.round(value * 10) / 10
}

// ---- timing child --------------------------------------------------------------------------------

/** Loop state that carries over from round to round, so rounds continue one another. */
interface Walk {
  gov: Governor
  order: string[]
  routeAt: number
  priorityAt: number
  step: number
  allowed: number
  checksum: number
}

/** Runs `count` decisions; the sums it keeps stop the optimiser from dropping any of them. */
function decide(w: Walk, count: number): void {
  const gov = w.gov
  const order = w.order
  const n = order.length
  let routeAt = w.routeAt
  let priorityAt = w.priorityAt
  let step = w.step
  let allowed = 0
  let checksum = 0
  for (let i = 0; i < count; i++) {
    virtualNow[0] = ++step * STEP_MS
    const decision = gov.admit(order[routeAt], PRIORITY_OPTIONS[priorityAt])
    const ticket = decision.ticket
    if (ticket !== null) {
      gov.complete(ticket, OUTCOME)
      allowed++
    }
    checksum += decision.resistance + decision.retryAfterS
    if (++routeAt === n) routeAt = 0
    if (++priorityAt === 3) priorityAt = 0
  }
  w.routeAt = routeAt
  w.priorityAt = priorityAt
  w.step = step
  w.allowed += allowed
  w.checksum += checksum
}

function timeCase(engine: Engine, routes: number): CaseResult {
  const gc = collectGarbage()
  const w: Walk = {
    gov: makeGovernor(engine),
    order: visitOrder(routes),
    routeAt: 0,
    priorityAt: 0,
    step: 0,
    allowed: 0,
    checksum: 0,
  }
  // The first pass creates every route's slot; warm-up then brings the JIT to steady state.
  decide(w, routes)
  decide(w, WARMUP_DECISIONS)
  w.allowed = 0
  w.checksum = 0
  const roundsNs: number[] = []
  for (let r = 0; r < ROUNDS; r++) {
    gc()
    const start = process.hrtime.bigint()
    decide(w, DECISIONS_PER_ROUND)
    const elapsed = Number(process.hrtime.bigint() - start)
    roundsNs.push(elapsed / DECISIONS_PER_ROUND)
  }
  if (w.gov.routes().length !== routes) {
    throw new Error(`Expected ${routes} routes held, found ${w.gov.routes().length}`)
  }
  return {
    engine,
    routes,
    roundsNs,
    allowed: w.allowed,
    checksum: w.checksum,
    stateDigest: stateDigest(w.gov, w.order),
  }
}

/**
 * A sum over the learned state of up to 100 routes: in a healthy run every decision looks the
 * same, so this is what shows that both engines computed the same physics, bit for bit.
 */
function stateDigest(gov: Governor, order: readonly string[]): number {
  let digest = 0
  for (const route of order.slice(0, 100)) {
    const s = gov.snapshot(route)
    if (s === undefined) throw new Error(`Route "${route}" is not held`)
    digest += s.thresholds.learnedLatencyMs + s.thresholds.learnedSigmaMs + s.concurrencyLimit +
      s.pressure.combined + s.momentumPerS + s.scar + s.modeTransitions + s.inflight
  }
  return digest
}

// ---- token-bucket child --------------------------------------------------------------------------

/** One key's bucket: what a hand-written limiter keeps per route. */
interface Bucket {
  tokens: number
  lastMs: number
}

const BUCKET_CAPACITY = 100
const BUCKET_RATE_PER_MS = 1

/** Loop state of the token-bucket walk (see `Walk`). */
interface BucketWalk {
  buckets: Map<string, Bucket>
  order: string[]
  routeAt: number
  step: number
  allowed: number
}

/** One check: refill by elapsed time, spend a token if there is one. */
function takeToken(buckets: Map<string, Bucket>, key: string, nowMs: number): boolean {
  let bucket = buckets.get(key)
  if (bucket === undefined) {
    bucket = { tokens: BUCKET_CAPACITY, lastMs: nowMs }
    buckets.set(key, bucket)
  }
  const refilled = bucket.tokens + (nowMs - bucket.lastMs) * BUCKET_RATE_PER_MS
  bucket.tokens = refilled > BUCKET_CAPACITY ? BUCKET_CAPACITY : refilled
  bucket.lastMs = nowMs
  if (bucket.tokens < 1) return false
  bucket.tokens -= 1
  return true
}

function decideBuckets(w: BucketWalk, count: number): void {
  const { buckets, order } = w
  const n = order.length
  let routeAt = w.routeAt
  let step = w.step
  let allowed = 0
  for (let i = 0; i < count; i++) {
    virtualNow[0] = ++step * STEP_MS
    if (takeToken(buckets, order[routeAt], clock())) allowed++
    if (++routeAt === n) routeAt = 0
  }
  w.routeAt = routeAt
  w.step = step
  w.allowed += allowed
}

function timeTokenBucket(routes: number): { routes: number; roundsNs: number[]; allowed: number } {
  const gc = collectGarbage()
  const w: BucketWalk = {
    buckets: new Map(),
    order: visitOrder(routes),
    routeAt: 0,
    step: 0,
    allowed: 0,
  }
  decideBuckets(w, routes)
  decideBuckets(w, WARMUP_DECISIONS)
  w.allowed = 0
  const roundsNs: number[] = []
  for (let r = 0; r < ROUNDS; r++) {
    gc()
    const start = process.hrtime.bigint()
    decideBuckets(w, DECISIONS_PER_ROUND)
    roundsNs.push(Number(process.hrtime.bigint() - start) / DECISIONS_PER_ROUND)
  }
  return { routes, roundsNs, allowed: w.allowed }
}

// ---- memory child --------------------------------------------------------------------------------

function measureMemory(engine: Engine): MemoryResult {
  const gc = collectGarbage()
  // Built before the baseline: the ids belong to the application, not to the governor.
  const ids = routeIds(MAX_ROUTES)
  gc()
  const empty = process.memoryUsage()
  const gov = makeGovernor(engine)
  // One route first, so lazily built one-off structures (parameter sets, the JIT's feedback) do
  // not count as per-route growth.
  virtualNow[0] = 1
  const first = gov.admit('warm-up')
  if (first.ticket !== null) gov.complete(first.ticket, OUTCOME)
  gc()
  const created = process.memoryUsage()
  for (let i = 0; i < ids.length - 1; i++) {
    virtualNow[0] += STEP_MS
    const decision = gov.admit(ids[i])
    if (decision.ticket !== null) gov.complete(decision.ticket, OUTCOME)
  }
  gc()
  const touched = process.memoryUsage()
  if (gov.routes().length !== MAX_ROUTES) {
    throw new Error(`Expected ${MAX_ROUTES} routes held, found ${gov.routes().length}`)
  }
  return {
    engine,
    heapBytesPerRoute: (touched.heapUsed - created.heapUsed) / (ids.length - 1),
    fixedHeapBytes: created.heapUsed - empty.heapUsed,
    fixedExternalBytes: created.external - empty.external,
  }
}

// ---- parent --------------------------------------------------------------------------------------

function runChild(args: string[]): unknown {
  const child = spawnSync(
    process.execPath,
    ['--expose-gc', fileURLToPath(import.meta.url), ...args],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 },
  )
  if (child.status !== 0) {
    throw new Error(`Benchmark child "${args.join(' ')}" failed with status ${child.status}`)
  }
  const lines = child.stdout.trim().split('\n')
  return JSON.parse(lines[lines.length - 1])
}

function pad(value: string, width: number): string {
  return value.padStart(width)
}

function fmt(value: number, digits = 1): string {
  return value.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  })
}

function main(): void {
  const started = performance.now()
  const results = new Map<string, CaseResult>()
  const memory = new Map<Engine, MemoryResult>()
  for (const engine of ENGINES) {
    for (const routes of ROUTE_CASES) {
      results.set(`${engine}:${routes}`, runChild(['--time', engine, String(routes)]) as CaseResult)
    }
    memory.set(engine, runChild(['--memory', engine]) as MemoryResult)
  }
  const buckets = new Map<number, { roundsNs: number[] }>()
  for (const routes of ROUTE_CASES) {
    buckets.set(
      routes,
      runChild(['--token-bucket', 'ts', String(routes)]) as { roundsNs: number[] },
    )
  }
  const bucketNs = (routes: number) =>
    median((buckets.get(routes) as { roundsNs: number[] }).roundsNs)
  const get = (engine: Engine, routes: number) => results.get(`${engine}:${routes}`) as CaseResult
  const med = (engine: Engine, routes: number) => median(get(engine, routes).roundsNs)

  const cpu = cpus()[0]?.model ?? 'unknown CPU'
  console.log(
    `Rheostat engine benchmark: Node ${process.version}, ${process.platform} ${process.arch}, ` +
      `${availableParallelism()} CPUs (${cpu})`,
  )
  console.log(
    `${ROUNDS} rounds x ${DECISIONS_PER_ROUND.toLocaleString('en-US')} decisions ` +
      `(admit + complete), warm-up ${WARMUP_DECISIONS.toLocaleString('en-US')}, ` +
      `virtual clock +${STEP_MS} ms per decision, one process per case`,
  )
  console.log('')
  console.log(
    `${'engine'.padEnd(7)}${pad('routes', 7)}${pad('median ns', 11)}${pad('min ns', 9)}` +
      `${pad('max ns', 9)}${pad('decisions/s', 14)}${pad('admitted', 10)}  checksum / state digest`,
  )
  for (const engine of ENGINES) {
    for (const routes of ROUTE_CASES) {
      const r = get(engine, routes)
      const m = median(r.roundsNs)
      const total = ROUNDS * DECISIONS_PER_ROUND
      console.log(
        `${engine.padEnd(7)}${pad(String(routes), 7)}${pad(fmt(m), 11)}` +
          `${pad(fmt(Math.min(...r.roundsNs)), 9)}${pad(fmt(Math.max(...r.roundsNs)), 9)}` +
          `${pad(fmt(1e9 / m, 0), 14)}${pad(`${fmt((100 * r.allowed) / total)}%`, 10)}` +
          `  ${r.checksum.toFixed(3)} / ${r.stateDigest}`,
      )
    }
  }
  console.log('')
  for (const routes of ROUTE_CASES) {
    const ts = get('ts', routes)
    const wasm = get('wasm', routes)
    const same = ts.checksum === wasm.checksum && ts.allowed === wasm.allowed &&
      ts.stateDigest === wasm.stateDigest
    console.log(
      `wasm/ts at ${String(routes).padStart(5)} route(s): ${
        fmt(med('wasm', routes) / med('ts', routes), 2)
      }x   (engines ${same ? 'agree' : 'DISAGREE'} on decisions and state digest)`,
    )
  }
  console.log('')
  for (const routes of ROUTE_CASES) {
    const rounds = (buckets.get(routes) as { roundsNs: number[] }).roundsNs
    console.log(
      `token bucket (Map, check only) at ${String(routes).padStart(5)} route(s): ` +
        `${fmt(bucketNs(routes))} ns (min ${fmt(Math.min(...rounds))}, max ` +
        `${fmt(Math.max(...rounds))}); governed decision / token-bucket check: wasm ` +
        `${fmt(med('wasm', routes) / bucketNs(routes), 2)}x, ts ` +
        `${fmt(med('ts', routes) / bucketNs(routes), 2)}x`,
    )
  }
  const worst = Math.max(med('ts', MAX_ROUTES), med('wasm', MAX_ROUTES))
  console.log(
    `Goal <= ${GOAL_NS} ns/decision at ${MAX_ROUTES} routes on both engines: ${
      worst <= GOAL_NS ? 'MET' : 'NOT MET'
    } (ts ${fmt(med('ts', MAX_ROUTES))} ns, wasm ${fmt(med('wasm', MAX_ROUTES))} ns)`,
  )
  console.log('')
  console.log(
    `Memory per route: engine state ${SLOT_FIELDS * 8} B (SLOT_FIELDS ${SLOT_FIELDS} x 8)`,
  )
  for (const engine of ENGINES) {
    const m = memory.get(engine) as MemoryResult
    console.log(
      `  ${engine.padEnd(5)} JS heap growth ${fmt(m.heapBytesPerRoute)} B/route over ` +
        `${MAX_ROUTES - 1} routes; fixed at creation (maxRoutes ${MAX_ROUTES}): heap ` +
        `${fmt(m.fixedHeapBytes / 1024)} KiB, external ${fmt(m.fixedExternalBytes / 1024)} KiB`,
    )
  }
  console.log(`Total ${fmt((performance.now() - started) / 1000)} s`)
  const line = (engine: Engine) => ({
    nsPerDecision: round1(med(engine, 1)),
    nsPerDecision10k: round1(med(engine, MAX_ROUTES)),
  })
  console.log(JSON.stringify({
    ts: line('ts'),
    wasm: line('wasm'),
    tokenBucket: {
      nsPerCheck: round1(bucketNs(1)),
      nsPerCheck10k: round1(bucketNs(MAX_ROUTES)),
    },
    wasmOverTokenBucket10k: Math.round((med('wasm', MAX_ROUTES) / bucketNs(MAX_ROUTES)) * 100) /
      100,
  }))
}

function parseEngine(value: string | undefined): Engine {
  if (value === 'ts' || value === 'wasm') return value
  throw new Error(`Unknown engine "${value}": expected "ts" or "wasm"`)
}

const [mode, engineArg, routesArg] = process.argv.slice(2)
if (mode === '--time') {
  console.log(JSON.stringify(timeCase(parseEngine(engineArg), Number(routesArg))))
} else if (mode === '--token-bucket') {
  console.log(JSON.stringify(timeTokenBucket(Number(routesArg))))
} else if (mode === '--memory') {
  console.log(JSON.stringify(measureMemory(parseEngine(engineArg))))
} else {
  main()
}
