/**
 * Memory layout of the engine: one slot of f64 fields per route, one block of f64 parameters per
 * parameter set, and a few scratch registers for results that do not fit in the decision code.
 *
 * The AssemblyScript twin `wasm/assembly/layout.ts` declares the same constants with the same
 * values; `tests/unit/layout.test.ts` proves the two files agree.
 *
 * @module
 */

/** f64 fields per route slot: 110 × 8 bytes = 880 bytes. */
export const SLOT_FIELDS = 110
/** f64 fields per parameter set. */
export const PARAM_FIELDS = 64
/** f64 scratch registers. */
export const SCRATCH_FIELDS = 16
/** Priority classes a route can have. */
export const MAX_CLASSES = 8

// ---- Route slot fields -------------------------------------------------------------------------
/** Index of this route's parameter set. */
export const S_PARAMS = 0
/** Start of the current tick, ms on the injected clock. */
export const S_TICK_START = 1
/** Latency samples collected in the current tick (all outcomes; the displayed signal). */
export const S_ACC_N = 2
/** Sum of latency samples (ms) in the current tick. */
export const S_ACC_LAT = 3
/** Error samples collected in the current tick. */
export const S_ACC_EN = 4
/** Sum of error fractions in the current tick. */
export const S_ACC_ERR = 5
/** Highest external saturation reported in the current tick, or -1 for none. */
export const S_ACC_SAT = 6
/** Smoothed latency of all outcomes, ms (displayed). */
export const S_LAT = 7
/** Smoothed error rate, 0..1 (displayed; never sheds). */
export const S_ERR = 8
/** Smoothed external saturation, 0..1. */
export const S_SAT = 9
/** Requests admitted and not yet completed. */
export const S_INFLIGHT = 10
/** Capacity estimate: the concurrency the whole origin serves without a standing queue. */
export const S_LIMIT = 11
/** Pressure, 0..1: the share of latency that is standing queue, and overload answers. */
export const S_P = 12
/** Momentum: smoothed d(pressure)/dt, 1/s. */
export const S_M = 13
/** Scar, 0..1: the share of capacity withheld while recovering from an outage (1 − ramp). */
export const S_SCAR = 14
/** Unqueued latency of successful answers, ms, measured by drains. */
export const S_BASE = 15
/** Short-window latency of successful answers, ms. */
export const S_SHORT = 16
/** Drains completed (0: the unqueued latency is still the profile's baseline). */
export const S_DRAINS = 17
/** Mode: see MODE_*. */
export const S_MODE = 18
/** When the current mode began, ms. */
export const S_MODE_SINCE = 19
/** Seconds the injected pressure has stayed at or above the trip level. */
export const S_ABOVE_S = 20
/** When the origin last answered anything (local, or another isolate's success), ms. */
export const S_LAST_DONE = 21
/** Local answers per ms, smoothed: with the unqueued latency, the servers (Little). */
export const S_RATE = 22
/** 1 when the next fresh sample replaces the smoothed signals instead of blending in. */
export const S_RESEED = 23
/** Mode transitions since the slot was created. */
export const S_TRANSITIONS = 24
/** Recovery ramp after an outage, 0..1 of the capacity; 1 when not recovering. */
export const S_RAMP = 25
/** Requests in flight presumed lost in an outage: not counted against the limit. */
export const S_GHOSTS = 26
/** Resistance as of the last tick, Ω. */
export const S_R = 27
/** Start of the last tick that had latency samples, ms. */
export const S_LAST_SAMPLE = 28
/** Samples absorbed from other isolates, not yet folded into a tick. */
export const S_POOL_N = 29
/** Their latency sum, ms. */
export const S_POOL_LAT = 30
/** Their failures. */
export const S_POOL_ERR = 31
/** Pressure injected from outside (the telemetry endpoint), 0..1; 0 when none is in force. */
export const S_INJ_P = 32
/** Until when the injected pressure counts, ms: ticks that end later ignore it. */
export const S_INJ_UNTIL = 33
/** Successful latency samples in the current tick (local and absorbed). */
export const S_ACC_OKN = 34
/** Their latency sum, ms. */
export const S_ACC_OKLAT = 35
/** Overload outcomes in the current tick (429/503/504 or no answer), local. */
export const S_ACC_OV = 36
/** Local outcomes in the current tick. */
export const S_ACC_LN = 37
/** Local successes in the current tick. */
export const S_ACC_LOK = 38
/** Latency sum of local failures in the current tick, ms. */
export const S_ACC_FLAT = 39
/** Highest effective in-flight count in the current tick. */
export const S_PEAK = 40
/** Until when the route counts as limited (a request was shed for capacity), ms. */
export const S_LIMITED_UNTIL = 41
/** Seconds the limit has been shrinking without a drain. */
export const S_SHRINK_S = 42
/** Drain phase: 0 none, 1 emptying the queue, 2 measuring. */
export const S_DRAIN = 43
/** When the drain phase began, ms. */
export const S_DRAIN_T = 44
/** Drain samples so far. */
export const S_DRAIN_N = 45
/** Their latency sum, ms. */
export const S_DRAIN_SUM = 46
/** Earliest start of the next periodic drain, ms (a multiple of the drain period). */
export const S_NEXT_DRAIN = 47
/**
 * Seconds of consecutive failing ticks (an outage candidate). In CIRCUIT_BREAKER: 1 when failing
 * answers declared the outage or a tick of its probes failed since, 0 for a black hole's silence.
 */
export const S_STREAK_S = 48
/** Local outcomes within that streak. */
export const S_STREAK_N = 49
/** When the ghosts were counted, ms: a completion older than this is a ghost's. */
export const S_GHOST_T = 50
/** This isolate's share of the traffic, 1/isolates. */
export const S_SHARE = 51
/** Smoothed latency of local failures, ms (to separate other isolates' successes). */
export const S_FAIL_LAT = 52
/** Until when the origin asked (Retry-After) not to be pushed harder, ms. */
export const S_HOLD_UNTIL = 53
/** Probe budget while recovering from an outage, requests. */
export const S_TOKENS = 54
/** Share of overload outcomes among the local outcomes of the last tick that had any. */
export const S_OVERLOAD = 55
/** When class 0 last asked, ms; classes 1..7 follow. */
export const S_ASK0 = 56
/** Requests of class 0 offered in the current tick; classes 1..7 follow. */
export const S_OFF0 = 64
/** Requests of class 0 admitted in the current tick; classes 1..7 follow. */
export const S_ADM0 = 72
/** Smoothed admitted share of class 0; classes 1..7 follow. */
export const S_SHARE0 = 80

/** The injection in force: the injected pressure while it exceeds the measured one, else 0. */
export const S_INJ_EFF = 88
/** Local outcomes without an answer (timeouts, network errors) in the current tick. */
export const S_ACC_LOST = 89
/** Requests of class 0 offered per ms, smoothed; classes 1..7 follow. */
export const S_DEM0 = 90
/** 1 while the limit is in slow start: it grows by its successes until a queue is seen. */
export const S_SLOW = 98
/** The limit when the last drain ended: a limit halved since then starts a drain early. */
export const S_DRAIN_L = 99
/** Requests admitted in the current drain's phase 2 (the first drainSamples are its samples). */
export const S_DRAIN_K = 100
/** When the last of those was admitted, ms (MAX_TIME_MS until then). */
export const S_DRAIN_TK = 101
/** Those answered so far, whatever the outcome. */
export const S_DRAIN_DONE = 102
/** Requests the current drain samples: drainSamples, or the whole drain level if larger. */
export const S_DRAIN_GOAL = 103
/**
 * The fleet's requests in flight on the route, from the store's window (Little's law, docs/physics.md
 * §13); 0 until an exchange has told it.
 */
export const S_FLEET_USE = 104
/** Sum of the squared latencies of the current drain's successes, ms². */
export const S_DRAIN_SQ = 105
/** Answers the unqueued latency rests on (0: the profile's guess), docs/physics.md §6. */
export const S_BASE_N = 106
/** Their squared coefficient of variation (variance ÷ mean²), pooled over drains. */
export const S_BASE_CV2 = 107
/** Share of this isolate's successes later than the route's SLO, smoothed over signalTauS (§4). */
export const S_LATE = 108
/** This tick's successes later than the route's SLO. */
export const S_ACC_LATE = 109

// ---- Parameter fields ----------------------------------------------------------------------------
/** Tick length, ms. */
export const P_TICK_MS = 0
/** 1 / tick length in seconds. */
export const P_INV_TICK_S = 1
/** Tick length, s. */
export const P_TICK_S = 2
/** Profile baseline latency: the unqueued latency assumed until the first drain, ms. */
export const P_BASELINE_MS = 3
/** Seconds of data after which BOOTSTRAP ends without a drain. */
export const P_WARMUP_S = 4
/** Scar scale of this route. */
export const P_SCAR_FACTOR = 5
/** Number of priority classes. */
export const P_N_CLASSES = 6
/** Initial capacity estimate, requests in flight. */
export const P_LIMIT_INIT = 7
/** Lowest capacity estimate. */
export const P_LIMIT_MIN = 8
/** Highest capacity estimate. */
export const P_LIMIT_MAX = 9
/** Injected pressure at or above which an outage is declared after P_TRIP_AFTER_S. */
export const P_TRIP_P = 10
/** Seconds of injected pressure at the trip level before the outage. */
export const P_TRIP_AFTER_S = 11
/** Highest Retry-After, s. */
export const P_MAX_RETRY_S = 12
/** 1 − e^(−tick/τ_signal): smoothing of the displayed signals per tick. */
export const P_A_FAST = 13
/** 1 − e^(−tick/τ_momentum). */
export const P_A_MOM = 14
/** 1 − e^(−tick/τ_limit): how far the limit moves toward its gradient target per tick. */
export const P_A_LIMIT = 15
/** 1 − e^(−tick/τ_short): smoothing of the short latency. */
export const P_A_SHORT = 16
/** 1 − e^(−tick/τ_base): passive tracking of the unqueued latency while not limited. */
export const P_A_BASE = 17
/** Weight of pressure in R, Ω. */
export const P_W_P = 18
/** Weight of momentum in R, Ω. */
export const P_W_M = 19
/** Weight of scar in R, Ω. */
export const P_W_S = 20
/** R_base, Ω. */
export const P_R_BASE = 21
/** External saturation threshold, 0..1. */
export const P_SAT_T = 22
/** Signals older than this are replaced by the next sample instead of blended, ms. */
export const P_STALE_MS = 23
/** Absorbed samples are spread over about this long (the sync interval), ms. */
export const P_SPREAD_MS = 24
/** Latency tolerance: short/base at or below it is not a standing queue. */
export const P_TOLERANCE = 25
/** Additive growth of the limit per tick, × max(1, √limit). */
export const P_GROWTH = 26
/** Share of the limit cut per overload answer share (0 turns it off). */
export const P_OVERLOAD_BACKOFF = 27
/** Drain period, ms (0 turns drains off). */
export const P_DRAIN_MS = 28
/** Drain level, share of the limit. */
export const P_DRAIN_FRACTION = 29
/** Samples a drain needs. */
export const P_DRAIN_SAMPLES = 30
/** Seconds of shrinking that start a drain before its period. */
export const P_DRAIN_SHRINK_S = 31
/** A drain that has not finished after this many unqueued latencies is abandoned. */
export const P_DRAIN_GIVEUP = 32
/** Share of successes below which a tick fails (outage detection; 0 turns it off). */
export const P_OUTAGE_OK = 33
/** Seconds of failing ticks before an outage. */
export const P_OUTAGE_AFTER_S = 34
/** Local outcomes the failing streak needs. */
export const P_OUTAGE_SAMPLES = 35
/** Silence (no answer with requests out) of this many latencies is a black hole (0: off). */
export const P_SILENCE = 36
/** First ramp level after an outage, share of the capacity. */
export const P_RAMP_START = 37
/** Ramp growth factor per healthy tick, 2^(tick/rampDoubleS). */
export const P_RAMP_GROWTH = 38
/** Multiple of the more important classes' in-flight demand held back for them (0: off). */
export const P_RESERVE = 39
/** How long a class counts as asking after its last request, ms. */
export const P_ASK_MS = 40
/** Ramp doubling time, s (Retry-After during recovery). */
export const P_RAMP_DOUBLE_S = 41
/** Multiple of √L the gradient allows as queue on top of the latency tolerance (Gradient2: 1). */
export const P_QUEUE = 42
/** The ramp level a black hole's first healthy answers resume, share of the capacity (0: off). */
export const P_RAMP_RESUME = 43
/** Standard errors within which a drain's mean is the same unqueued latency and is pooled (0: off). */
export const P_BASE_Z = 44
/** Standard errors by which the short mean must lie below tolerance × base to call the origin
 * bigger (§4: that tick grows as slow start; 0: off). */
export const P_GROW_Z = 45
/** A drain's level holds only until its sample is admitted, not until it is answered (§6; 0: off). */
export const P_DRAIN_RELEASE = 46
/** The route's SLO, ms, when `physics.sloQueue` is on (0: none): the gradient's target keeps the
 * queue's wait within the SLO's room past the unqueued answers' 99th percentile (§4). */
export const P_SLO = 47
/** Successes of one tick, in drain samples, that excuse the route's first drain while slow start's
 * window binds and they show no queue against the unqueued latency (§6; 0: off). */
export const P_START_EVIDENCE = 48
/** A drain that finds a faster origin restarts the unqueued and the short latency from its mean and
 * drops the absorbed pool: the slower origin's answers are not evidence now (§4; 0: off). */
export const P_SUPERSEDE = 49
/** A black hole ends at the answer that proves it, not at the end of that answer's tick (§9; 0: off). */
export const P_RESUME_AT_ANSWER = 50

// ---- Scratch registers (written by inspect) ------------------------------------------------------
/** Resistance, Ω. */
export const X_R = 0
/** Queue pressure: the share of latency above the tolerance that is standing queue. */
export const X_PL = 1
/** Overload pressure: the share of overload answers (smoothed). */
export const X_PE = 2
/** Saturation pressure (reported). */
export const X_PS = 3
/** Latency at which queueing starts to count: tolerance × unqueued latency, ms. */
export const X_T = 4
/** This isolate's limit now (capacity × share × ramp, after injection), requests in flight. */
export const X_E = 5
/** Admitted share of class 0; classes 1..7 follow. */
export const X_ADMIT0 = 8

// ---- Modes, reasons, decision code ---------------------------------------------------------------
export const MODE_BOOTSTRAP = 0
export const MODE_OPERATIONAL = 1
export const MODE_HALF_OPEN = 2
export const MODE_CIRCUIT_BREAKER = 3

export const REASON_ADMITTED = 0
export const REASON_PROBE = 1
export const REASON_PRESSURE = 2
export const REASON_CONCURRENCY = 3
export const REASON_CIRCUIT_OPEN = 4
export const REASON_HALF_OPEN = 5

/** Outcome kinds `complete` takes. */
export const OUTCOME_OK = 0
/** An application error (500 and the rest): says nothing about load. */
export const OUTCOME_ERROR = 1
/** An overload answer (429, 503, 504): the origin answered, asking for less. */
export const OUTCOME_OVERLOAD = 2
/** No answer (timeout, connection refused or reset): overload, and the origin is silent. */
export const OUTCOME_LOST = 3

/**
 * A decision is one i32: bit 0 allow, bits 1-3 reason, bits 4-5 mode, bits 8-23 Retry-After in
 * whole seconds (0 when admitted).
 */
export const CODE_REASON_SHIFT = 1
export const CODE_MODE_SHIFT = 4
export const CODE_RETRY_SHIFT = 8

/** Latency samples are clamped to this, ms (about 27 hours). */
export const MAX_LATENCY_MS = 100000000
/** The clock is clamped to ±this, ms (the range of ECMAScript Date). */
export const MAX_TIME_MS = 8640000000000000
/** Momentum is clamped to ±this, 1/s. */
export const MAX_MOMENTUM = 10
/** Most samples one absorb call folds in (a bound on what the network can inject). */
export const MAX_ABSORB = 1000000000
/**
 * Samples a drain of an isolate that shares its route takes at least (docs/physics.md §13): below
 * about 8 samples a mean latency is not evidence.
 */
export const EVIDENCE_SAMPLES = 8
