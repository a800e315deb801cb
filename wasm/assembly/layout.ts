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
export const SLOT_FIELDS: i32 = 110
/** f64 fields per parameter set. */
export const PARAM_FIELDS: i32 = 64
/** f64 scratch registers. */
export const SCRATCH_FIELDS: i32 = 16
/** Priority classes a route can have. */
export const MAX_CLASSES: i32 = 8

// ---- Route slot fields -------------------------------------------------------------------------
/** Index of this route's parameter set. */
export const S_PARAMS: i32 = 0
/** Start of the current tick, ms on the injected clock. */
export const S_TICK_START: i32 = 1
/** Latency samples collected in the current tick (all outcomes; the displayed signal). */
export const S_ACC_N: i32 = 2
/** Sum of latency samples (ms) in the current tick. */
export const S_ACC_LAT: i32 = 3
/** Error samples collected in the current tick. */
export const S_ACC_EN: i32 = 4
/** Sum of error fractions in the current tick. */
export const S_ACC_ERR: i32 = 5
/** Highest external saturation reported in the current tick, or -1 for none. */
export const S_ACC_SAT: i32 = 6
/** Smoothed latency of all outcomes, ms (displayed). */
export const S_LAT: i32 = 7
/** Smoothed error rate, 0..1 (displayed; never sheds). */
export const S_ERR: i32 = 8
/** Smoothed external saturation, 0..1. */
export const S_SAT: i32 = 9
/** Requests admitted and not yet completed. */
export const S_INFLIGHT: i32 = 10
/** Capacity estimate: the concurrency the whole origin serves without a standing queue. */
export const S_LIMIT: i32 = 11
/** Pressure, 0..1: the share of latency that is standing queue, and overload answers. */
export const S_P: i32 = 12
/** Momentum: smoothed d(pressure)/dt, 1/s. */
export const S_M: i32 = 13
/** Scar, 0..1: the share of capacity withheld while recovering from an outage (1 − ramp). */
export const S_SCAR: i32 = 14
/** Unqueued latency of successful answers, ms, measured by drains. */
export const S_BASE: i32 = 15
/** Short-window latency of successful answers, ms. */
export const S_SHORT: i32 = 16
/** Drains completed (0: the unqueued latency is still the profile's baseline). */
export const S_DRAINS: i32 = 17
/** Mode: see MODE_*. */
export const S_MODE: i32 = 18
/** When the current mode began, ms. */
export const S_MODE_SINCE: i32 = 19
/** Seconds the injected pressure has stayed at or above the trip level. */
export const S_ABOVE_S: i32 = 20
/** When the origin last answered anything (local, or another isolate's success), ms. */
export const S_LAST_DONE: i32 = 21
/** Local answers per ms, smoothed: with the unqueued latency, the servers (Little). */
export const S_RATE: i32 = 22
/** 1 when the next fresh sample replaces the smoothed signals instead of blending in. */
export const S_RESEED: i32 = 23
/** Mode transitions since the slot was created. */
export const S_TRANSITIONS: i32 = 24
/** Recovery ramp after an outage, 0..1 of the capacity; 1 when not recovering. */
export const S_RAMP: i32 = 25
/** Requests in flight presumed lost in an outage: not counted against the limit. */
export const S_GHOSTS: i32 = 26
/** Resistance as of the last tick, Ω. */
export const S_R: i32 = 27
/** Start of the last tick that had latency samples, ms. */
export const S_LAST_SAMPLE: i32 = 28
/** Samples absorbed from other isolates, not yet folded into a tick. */
export const S_POOL_N: i32 = 29
/** Their latency sum, ms. */
export const S_POOL_LAT: i32 = 30
/** Their failures. */
export const S_POOL_ERR: i32 = 31
/** Pressure injected from outside (the telemetry endpoint), 0..1; 0 when none is in force. */
export const S_INJ_P: i32 = 32
/** Until when the injected pressure counts, ms: ticks that end later ignore it. */
export const S_INJ_UNTIL: i32 = 33
/** Successful latency samples in the current tick (local and absorbed). */
export const S_ACC_OKN: i32 = 34
/** Their latency sum, ms. */
export const S_ACC_OKLAT: i32 = 35
/** Overload outcomes in the current tick (429/503/504 or no answer), local. */
export const S_ACC_OV: i32 = 36
/** Local outcomes in the current tick. */
export const S_ACC_LN: i32 = 37
/** Local successes in the current tick. */
export const S_ACC_LOK: i32 = 38
/** Latency sum of local failures in the current tick, ms. */
export const S_ACC_FLAT: i32 = 39
/** Highest effective in-flight count in the current tick. */
export const S_PEAK: i32 = 40
/** Until when the route counts as limited (a request was shed for capacity), ms. */
export const S_LIMITED_UNTIL: i32 = 41
/** Seconds the limit has been shrinking without a drain. */
export const S_SHRINK_S: i32 = 42
/** Drain phase: 0 none, 1 emptying the queue, 2 measuring. */
export const S_DRAIN: i32 = 43
/** When the drain phase began, ms. */
export const S_DRAIN_T: i32 = 44
/** Drain samples so far. */
export const S_DRAIN_N: i32 = 45
/** Their latency sum, ms. */
export const S_DRAIN_SUM: i32 = 46
/** Earliest start of the next periodic drain, ms (a multiple of the drain period). */
export const S_NEXT_DRAIN: i32 = 47
/**
 * Seconds of consecutive failing ticks (an outage candidate). In CIRCUIT_BREAKER: 1 when failing
 * answers declared the outage or a tick of its probes failed since, 0 for a black hole's silence.
 */
export const S_STREAK_S: i32 = 48
/** Local outcomes within that streak. */
export const S_STREAK_N: i32 = 49
/** When the ghosts were counted, ms: a completion older than this is a ghost's. */
export const S_GHOST_T: i32 = 50
/** This isolate's share of the traffic, 1/isolates. */
export const S_SHARE: i32 = 51
/** Smoothed latency of local failures, ms (to separate other isolates' successes). */
export const S_FAIL_LAT: i32 = 52
/** Until when the origin asked (Retry-After) not to be pushed harder, ms. */
export const S_HOLD_UNTIL: i32 = 53
/** Probe budget while recovering from an outage, requests. */
export const S_TOKENS: i32 = 54
/** Share of overload outcomes among the local outcomes of the last tick that had any. */
export const S_OVERLOAD: i32 = 55
/** When class 0 last asked, ms; classes 1..7 follow. */
export const S_ASK0: i32 = 56
/** Requests of class 0 offered in the current tick; classes 1..7 follow. */
export const S_OFF0: i32 = 64
/** Requests of class 0 admitted in the current tick; classes 1..7 follow. */
export const S_ADM0: i32 = 72
/** Smoothed admitted share of class 0; classes 1..7 follow. */
export const S_SHARE0: i32 = 80

/** The injection in force: the injected pressure while it exceeds the measured one, else 0. */
export const S_INJ_EFF: i32 = 88
/** Local outcomes without an answer (timeouts, network errors) in the current tick. */
export const S_ACC_LOST: i32 = 89
/** Requests of class 0 offered per ms, smoothed; classes 1..7 follow. */
export const S_DEM0: i32 = 90
/** 1 while the limit is in slow start: it grows by its successes until a queue is seen. */
export const S_SLOW: i32 = 98
/** The limit when the last drain ended: a limit halved since then starts a drain early. */
export const S_DRAIN_L: i32 = 99
/** Requests admitted in the current drain's phase 2 (the first drainSamples are its samples). */
export const S_DRAIN_K: i32 = 100
/** When the last of those was admitted, ms (MAX_TIME_MS until then). */
export const S_DRAIN_TK: i32 = 101
/** Those answered so far, whatever the outcome. */
export const S_DRAIN_DONE: i32 = 102
/** Requests the current drain samples: drainSamples, or the whole drain level if larger. */
export const S_DRAIN_GOAL: i32 = 103
/**
 * The fleet's requests in flight on the route, from the store's window (Little's law, docs/physics.md
 * §13); 0 until an exchange has told it.
 */
export const S_FLEET_USE: i32 = 104
/** Sum of the squared latencies of the current drain's successes, ms². */
export const S_DRAIN_SQ: i32 = 105
/** Answers the unqueued latency rests on (0: the profile's guess), docs/physics.md §6. */
export const S_BASE_N: i32 = 106
/** Their squared coefficient of variation (variance ÷ mean²), pooled over drains. */
export const S_BASE_CV2: i32 = 107
/** Share of this isolate's successes later than the route's SLO, smoothed over signalTauS (§4). */
export const S_LATE: i32 = 108
/** This tick's successes later than the route's SLO. */
export const S_ACC_LATE: i32 = 109

// ---- Parameter fields ----------------------------------------------------------------------------
/** Tick length, ms. */
export const P_TICK_MS: i32 = 0
/** 1 / tick length in seconds. */
export const P_INV_TICK_S: i32 = 1
/** Tick length, s. */
export const P_TICK_S: i32 = 2
/** Profile baseline latency: the unqueued latency assumed until the first drain, ms. */
export const P_BASELINE_MS: i32 = 3
/** Seconds of data after which BOOTSTRAP ends without a drain. */
export const P_WARMUP_S: i32 = 4
/** Scar scale of this route. */
export const P_SCAR_FACTOR: i32 = 5
/** Number of priority classes. */
export const P_N_CLASSES: i32 = 6
/** Initial capacity estimate, requests in flight. */
export const P_LIMIT_INIT: i32 = 7
/** Lowest capacity estimate. */
export const P_LIMIT_MIN: i32 = 8
/** Highest capacity estimate. */
export const P_LIMIT_MAX: i32 = 9
/** Injected pressure at or above which an outage is declared after P_TRIP_AFTER_S. */
export const P_TRIP_P: i32 = 10
/** Seconds of injected pressure at the trip level before the outage. */
export const P_TRIP_AFTER_S: i32 = 11
/** Highest Retry-After, s. */
export const P_MAX_RETRY_S: i32 = 12
/** 1 − e^(−tick/τ_signal): smoothing of the displayed signals per tick. */
export const P_A_FAST: i32 = 13
/** 1 − e^(−tick/τ_momentum). */
export const P_A_MOM: i32 = 14
/** 1 − e^(−tick/τ_limit): how far the limit moves toward its gradient target per tick. */
export const P_A_LIMIT: i32 = 15
/** 1 − e^(−tick/τ_short): smoothing of the short latency. */
export const P_A_SHORT: i32 = 16
/** 1 − e^(−tick/τ_base): passive tracking of the unqueued latency while not limited. */
export const P_A_BASE: i32 = 17
/** Weight of pressure in R, Ω. */
export const P_W_P: i32 = 18
/** Weight of momentum in R, Ω. */
export const P_W_M: i32 = 19
/** Weight of scar in R, Ω. */
export const P_W_S: i32 = 20
/** R_base, Ω. */
export const P_R_BASE: i32 = 21
/** External saturation threshold, 0..1. */
export const P_SAT_T: i32 = 22
/** Signals older than this are replaced by the next sample instead of blended, ms. */
export const P_STALE_MS: i32 = 23
/** Absorbed samples are spread over about this long (the sync interval), ms. */
export const P_SPREAD_MS: i32 = 24
/** Latency tolerance: short/base at or below it is not a standing queue. */
export const P_TOLERANCE: i32 = 25
/** Additive growth of the limit per tick, × max(1, √limit). */
export const P_GROWTH: i32 = 26
/** Share of the limit cut per overload answer share (0 turns it off). */
export const P_OVERLOAD_BACKOFF: i32 = 27
/** Drain period, ms (0 turns drains off). */
export const P_DRAIN_MS: i32 = 28
/** Drain level, share of the limit. */
export const P_DRAIN_FRACTION: i32 = 29
/** Samples a drain needs. */
export const P_DRAIN_SAMPLES: i32 = 30
/** Seconds of shrinking that start a drain before its period. */
export const P_DRAIN_SHRINK_S: i32 = 31
/** A drain that has not finished after this many unqueued latencies is abandoned. */
export const P_DRAIN_GIVEUP: i32 = 32
/** Share of successes below which a tick fails (outage detection; 0 turns it off). */
export const P_OUTAGE_OK: i32 = 33
/** Seconds of failing ticks before an outage. */
export const P_OUTAGE_AFTER_S: i32 = 34
/** Local outcomes the failing streak needs. */
export const P_OUTAGE_SAMPLES: i32 = 35
/** Silence (no answer with requests out) of this many latencies is a black hole (0: off). */
export const P_SILENCE: i32 = 36
/** First ramp level after an outage, share of the capacity. */
export const P_RAMP_START: i32 = 37
/** Ramp growth factor per healthy tick, 2^(tick/rampDoubleS). */
export const P_RAMP_GROWTH: i32 = 38
/** Multiple of the more important classes' in-flight demand held back for them (0: off). */
export const P_RESERVE: i32 = 39
/** How long a class counts as asking after its last request, ms. */
export const P_ASK_MS: i32 = 40
/** Ramp doubling time, s (Retry-After during recovery). */
export const P_RAMP_DOUBLE_S: i32 = 41
/** Multiple of √L the gradient allows as queue on top of the latency tolerance (Gradient2: 1). */
export const P_QUEUE: i32 = 42
/** The ramp level a black hole's first healthy answers resume, share of the capacity (0: off). */
export const P_RAMP_RESUME: i32 = 43
/** Standard errors within which a drain's mean is the same unqueued latency and is pooled (0: off). */
export const P_BASE_Z: i32 = 44
/** Standard errors by which the short mean must lie below tolerance × base to call the origin
 * bigger (§4: that tick grows as slow start; 0: off). */
export const P_GROW_Z: i32 = 45
/** A drain's level holds only until its sample is admitted, not until it is answered (§6; 0: off). */
export const P_DRAIN_RELEASE: i32 = 46
/** The route's SLO, ms, when `physics.sloQueue` is on (0: none): the gradient's target keeps the
 * queue's wait within the SLO's room past the unqueued answers' 99th percentile (§4). */
export const P_SLO: i32 = 47
/** Successes of one tick, in drain samples, that excuse the route's first drain while slow start's
 * window binds and they show no queue against the unqueued latency (§6; 0: off). */
export const P_START_EVIDENCE: i32 = 48
/** A drain that finds a faster origin restarts the unqueued and the short latency from its mean and
 * drops the absorbed pool: the slower origin's answers are not evidence now (§4; 0: off). */
export const P_SUPERSEDE: i32 = 49
/** A black hole ends at the answer that proves it, not at the end of that answer's tick (§9; 0: off). */
export const P_RESUME_AT_ANSWER: i32 = 50

// ---- Scratch registers (written by inspect) ------------------------------------------------------
/** Resistance, Ω. */
export const X_R: i32 = 0
/** Queue pressure: the share of latency above the tolerance that is standing queue. */
export const X_PL: i32 = 1
/** Overload pressure: the share of overload answers (smoothed). */
export const X_PE: i32 = 2
/** Saturation pressure (reported). */
export const X_PS: i32 = 3
/** Latency at which queueing starts to count: tolerance × unqueued latency, ms. */
export const X_T: i32 = 4
/** This isolate's limit now (capacity × share × ramp, after injection), requests in flight. */
export const X_E: i32 = 5
/** Admitted share of class 0; classes 1..7 follow. */
export const X_ADMIT0: i32 = 8

// ---- Modes, reasons, decision code ---------------------------------------------------------------
export const MODE_BOOTSTRAP: i32 = 0
export const MODE_OPERATIONAL: i32 = 1
export const MODE_HALF_OPEN: i32 = 2
export const MODE_CIRCUIT_BREAKER: i32 = 3

export const REASON_ADMITTED: i32 = 0
export const REASON_PROBE: i32 = 1
export const REASON_PRESSURE: i32 = 2
export const REASON_CONCURRENCY: i32 = 3
export const REASON_CIRCUIT_OPEN: i32 = 4
export const REASON_HALF_OPEN: i32 = 5

/** Outcome kinds `complete` takes. */
export const OUTCOME_OK: i32 = 0
/** An application error (500 and the rest): says nothing about load. */
export const OUTCOME_ERROR: i32 = 1
/** An overload answer (429, 503, 504): the origin answered, asking for less. */
export const OUTCOME_OVERLOAD: i32 = 2
/** No answer (timeout, connection refused or reset): overload, and the origin is silent. */
export const OUTCOME_LOST: i32 = 3

/**
 * A decision is one i32: bit 0 allow, bits 1-3 reason, bits 4-5 mode, bits 8-23 Retry-After in
 * whole seconds (0 when admitted).
 */
export const CODE_REASON_SHIFT: i32 = 1
export const CODE_MODE_SHIFT: i32 = 4
export const CODE_RETRY_SHIFT: i32 = 8

/** Latency samples are clamped to this, ms (about 27 hours). */
export const MAX_LATENCY_MS: f64 = 100000000
/** The clock is clamped to ±this, ms (the range of ECMAScript Date). */
export const MAX_TIME_MS: f64 = 8640000000000000
/** Momentum is clamped to ±this, 1/s. */
export const MAX_MOMENTUM: f64 = 10
/** Most samples one absorb call folds in (a bound on what the network can inject). */
export const MAX_ABSORB: f64 = 1000000000
/**
 * Samples a drain of an isolate that shares its route takes at least (docs/physics.md §13): below
 * about 8 samples a mean latency is not evidence.
 */
export const EVIDENCE_SAMPLES: f64 = 8
