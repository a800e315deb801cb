/**
 * Memory layout of the engine: one slot of f64 fields per route, one block of f64 parameters per
 * parameter set, and a few scratch registers for results that do not fit in the decision code.
 *
 * The TypeScript twin `src/engine/reference/layout.ts` declares the same constants with the same
 * values; `tests/unit/layout.test.ts` proves the two files agree.
 *
 * @module
 */

/** f64 fields per route slot: 34 × 8 bytes = 272 bytes. */
export const SLOT_FIELDS: i32 = 34
/** f64 fields per parameter set. */
export const PARAM_FIELDS: i32 = 48
/** f64 scratch registers. */
export const SCRATCH_FIELDS: i32 = 16
/** Priority classes a route can have: the per-class credits are packed 4 to an f64. */
export const MAX_CLASSES: i32 = 8

// ---- Route slot fields -------------------------------------------------------------------------
/** Index of this route's parameter set. */
export const S_PARAMS: i32 = 0
/** Start of the current tick, ms on the injected clock. */
export const S_TICK_START: i32 = 1
/** Latency samples collected in the current tick. */
export const S_ACC_N: i32 = 2
/** Sum of latency samples (ms) in the current tick. */
export const S_ACC_LAT: i32 = 3
/** Error samples collected in the current tick. */
export const S_ACC_EN: i32 = 4
/** Sum of error fractions in the current tick. */
export const S_ACC_ERR: i32 = 5
/** Highest external saturation reported in the current tick, or -1 for none. */
export const S_ACC_SAT: i32 = 6
/** Smoothed latency, ms. */
export const S_LAT: i32 = 7
/** Smoothed error rate, 0..1. */
export const S_ERR: i32 = 8
/** Smoothed external saturation, 0..1. */
export const S_SAT: i32 = 9
/** Requests admitted and not yet completed. */
export const S_INFLIGHT: i32 = 10
/** Adaptive concurrency limit. */
export const S_LIMIT: i32 = 11
/** Combined pressure, 0..1. */
export const S_P: i32 = 12
/** Momentum: smoothed d(pressure)/dt, 1/s. */
export const S_M: i32 = 13
/** Scar tissue, 0..1. */
export const S_SCAR: i32 = 14
/** Learned healthy latency mean, ms. */
export const S_MU: i32 = 15
/** Learned healthy latency variance, ms². */
export const S_VAR: i32 = 16
/** Seconds of healthy operation learned so far. */
export const S_LEARNED_S: i32 = 17
/** Mode: see MODE_*. */
export const S_MODE: i32 = 18
/** When the current mode began, ms. */
export const S_MODE_SINCE: i32 = 19
/** Seconds the pressure has stayed at or above the trip level. */
export const S_ABOVE_S: i32 = 20
/** When a request was last let through, ms (spaces the probes). */
export const S_LAST_PASS: i32 = 21
/** Latency samples since the last reseed (creation or entering HALF_OPEN). */
export const S_FRESH: i32 = 22
/** 1 when the next fresh sample replaces the smoothed signals instead of blending in. */
export const S_RESEED: i32 = 23
/** Mode transitions since the slot was created. */
export const S_TRANSITIONS: i32 = 24
/** Admission credits of classes 0..3, packed base CREDIT_BASE. */
export const S_CREDIT0: i32 = 25
/** Admission credits of classes 4..7, packed base CREDIT_BASE. */
export const S_CREDIT1: i32 = 26
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

// ---- Parameter fields ----------------------------------------------------------------------------
/** Tick length, ms. */
export const P_TICK_MS: i32 = 0
/** 1 / tick length in seconds. */
export const P_INV_TICK_S: i32 = 1
/** Tick length, s. */
export const P_TICK_S: i32 = 2
/** Profile baseline latency, ms. */
export const P_BASELINE_MS: i32 = 3
/** Latency threshold used while warming up, ms. */
export const P_WARMUP_LAT_MS: i32 = 4
/** Highest learned threshold, as a multiple of the baseline. */
export const P_LEARN_CEIL: i32 = 5
/** z: how many σ above the learned mean the threshold sits. */
export const P_Z: i32 = 6
/** Floor on σ as a fraction of the learned mean. */
export const P_SIGMA_FLOOR: i32 = 7
/** Healthy seconds to learn before the learned threshold is used. */
export const P_WARMUP_S: i32 = 8
/** Longest BOOTSTRAP, s. */
export const P_BOOTSTRAP_MAX_S: i32 = 9
/** Error-rate threshold, 0..1. */
export const P_ERR_T: i32 = 10
/** External saturation threshold, 0..1. */
export const P_SAT_T: i32 = 11
/** Scar scale of this route. */
export const P_SCAR_FACTOR: i32 = 12
/** Number of priority classes. */
export const P_N_CLASSES: i32 = 13
/** Initial concurrency limit. */
export const P_LIMIT_INIT: i32 = 14
/** Lowest concurrency limit. */
export const P_LIMIT_MIN: i32 = 15
/** Highest concurrency limit. */
export const P_LIMIT_MAX: i32 = 16
/** Pressure at or above which the breaker counts towards a trip. */
export const P_TRIP_P: i32 = 17
/** Seconds of pressure at the trip level before the breaker opens. */
export const P_TRIP_AFTER_S: i32 = 18
/** Pressure at or below which HALF_OPEN closes. */
export const P_CLOSE_P: i32 = 19
/** Cooldown before HALF_OPEN, ms. */
export const P_COOLDOWN_MS: i32 = 20
/** Probe samples HALF_OPEN needs before it may close. */
export const P_MIN_PROBES: i32 = 21
/** Spacing of probes, ms. */
export const P_PROBE_MS: i32 = 22
/** Least time in a mode before the breaker may trip again, ms. */
export const P_MIN_DWELL_MS: i32 = 23
/** Highest Retry-After, s. */
export const P_MAX_RETRY_S: i32 = 24
/** 1 − e^(−tick/τ_signal): smoothing of latency, errors and saturation per tick. */
export const P_A_FAST: i32 = 25
/** 1 − e^(−tick/τ_momentum). */
export const P_A_MOM: i32 = 26
/** 1 − e^(−tick/τ_limit). */
export const P_A_LIMIT: i32 = 27
/** 1 − e^(−tick/τ_learn). */
export const P_A_LEARN: i32 = 28
/** 2^(−tick/halfLife_scar): scar decay per tick. */
export const P_D_SCAR: i32 = 29
/** Scar gained per tick of full trauma. */
export const P_SCAR_GAIN: i32 = 30
/** Pressure above which time counts as trauma. */
export const P_TRAUMA_P: i32 = 31
/** e^(−1 s/τ_signal): per-second relaxation for Retry-After. */
export const P_D1_FAST: i32 = 32
/** e^(−1 s/τ_momentum). */
export const P_D1_MOM: i32 = 33
/** 2^(−1 s/halfLife_scar). */
export const P_D1_SCAR: i32 = 34
/** Weight of pressure in R, Ω. */
export const P_W_P: i32 = 35
/** Weight of momentum in R, Ω. */
export const P_W_M: i32 = 36
/** Weight of scar in R, Ω. */
export const P_W_S: i32 = 37
/** R_base, Ω. */
export const P_R_BASE: i32 = 38
/** Latency pressure scale: excess ratio that gives pressure 0.5. */
export const P_LAT_SCALE: i32 = 39
/** Error pressure scale, relative to the error threshold. */
export const P_ERR_SCALE: i32 = 40
/** In-flight/limit ratio where saturation pressure starts. */
export const P_SAT_RATIO_T: i32 = 41
/** Signals older than this are replaced by the next sample instead of blended, ms. */
export const P_STALE_MS: i32 = 42
/** Absorbed samples are spread over about this long (the sync interval), ms. */
export const P_SPREAD_MS: i32 = 43

// ---- Scratch registers (written by inspect) ------------------------------------------------------
/** Resistance, Ω. */
export const X_R: i32 = 0
/** Latency pressure. */
export const X_PL: i32 = 1
/** Error pressure. */
export const X_PE: i32 = 2
/** Saturation pressure. */
export const X_PS: i32 = 3
/** Latency threshold in force, ms. */
export const X_T: i32 = 4
/** Normalised excess resistance e, 0..1. */
export const X_E: i32 = 5
/** Admission fraction of class 0; classes 1..7 follow. */
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

/**
 * A decision is one i32: bit 0 allow, bits 1-3 reason, bits 4-5 mode, bits 8-23 Retry-After in
 * whole seconds (0 when admitted).
 */
export const CODE_REASON_SHIFT: i32 = 1
export const CODE_MODE_SHIFT: i32 = 4
export const CODE_RETRY_SHIFT: i32 = 8

/** Credits are per-mille integers 0..1999, packed four to an f64 in base 2048 (2^44 < 2^53). */
export const CREDIT_BASE: f64 = 2048
/** Credits needed to admit one request: admission fractions are quantised to 1/1000. */
export const CREDIT_UNIT: f64 = 1000

/** Latency samples are clamped to this, ms (about 27 hours). */
export const MAX_LATENCY_MS: f64 = 100000000
/** The clock is clamped to ±this, ms (the range of ECMAScript Date). */
export const MAX_TIME_MS: f64 = 8640000000000000
/** Momentum is clamped to ±this, 1/s. */
export const MAX_MOMENTUM: f64 = 10
/** Most samples one absorb call folds in (a bound on what the network can inject). */
export const MAX_ABSORB: f64 = 1000000000
