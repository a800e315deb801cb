/**
 * Loads the AssemblyScript engine and wraps it in the same `EngineCore` interface as the
 * TypeScript twin. Runtime-neutral: the caller supplies the module (a `.wasm` import on Workers,
 * file bytes on Node, the instantiated exports on Deno), never this file.
 *
 * @module
 */

import type { EngineCore } from '../types.ts'
import { PARAM_FIELDS, SCRATCH_FIELDS, SLOT_FIELDS } from '../reference/layout.ts'

/** The ABI version this loader speaks; `wasm/assembly/index.ts` exports the module's own. */
export const WASM_ABI_VERSION = 3

/** The raw exports of `wasm/build/rheostat.wasm`. */
export interface WasmEngineExports {
  memory: WebAssembly.Memory
  abiVersion(): number
  init(maxSlots: number, maxParamSets: number): number
  scratchPtr(): number
  paramsPtr(index: number): number
  slotPtr(slot: number): number
  initSlot(slot: number, paramSet: number, nowMs: number): void
  admit(slot: number, classIndex: number, nowMs: number): number
  complete(
    slot: number,
    latencyMs: number,
    outcome: number,
    retryAfterS: number,
    nowMs: number,
    sample: number,
  ): void
  admission(slot: number, classIndex: number): number
  observe(
    slot: number,
    latencyMs: number,
    errorRate: number,
    saturation: number,
    nowMs: number,
  ): void
  absorb(
    slot: number,
    count: number,
    latencySumMs: number,
    errorCount: number,
    isolates: number,
    nowMs: number,
    fleetInflight: number,
  ): void
  inject(slot: number, pressure: number, untilMs: number, nowMs: number): void
  advance(slot: number, nowMs: number): void
  inspect(slot: number): void
}

/** Anything the engine can be made from. */
export type WasmSource =
  | WebAssembly.Module
  | BufferSource
  | WasmEngineExports
  | WebAssembly.Instance

function isExports(source: unknown): source is WasmEngineExports {
  return typeof source === 'object' && source !== null && 'admit' in source &&
    'memory' in source
}

function toExports(source: WasmSource): WasmEngineExports {
  if (source instanceof WebAssembly.Instance) return source.exports as unknown as WasmEngineExports
  if (isExports(source)) return source
  // A module can be instantiated more than once: each engine gets its own linear memory.
  // Workers' types declare the constructor abstract (compiling bytes is forbidden there and throws
  // at run time, which `auto` turns into a fallback), so it is typed by hand here.
  const Compile = WebAssembly.Module as unknown as new (bytes: BufferSource) => WebAssembly.Module
  const module = source instanceof WebAssembly.Module ? source : new Compile(source as BufferSource)
  return new WebAssembly.Instance(module, {}).exports as unknown as WasmEngineExports
}

/**
 * The WebAssembly engine. State lives in the module's linear memory; the host reads fields
 * through a Float64Array view of it.
 */
export class WasmEngine implements EngineCore {
  readonly kind = 'wasm' as const
  readonly maxSlots: number
  readonly maxParamSets: number
  readonly exports: WasmEngineExports
  private readonly view: Float64Array
  private readonly slotsAt: number
  private readonly scratchAt: number

  /**
   * @throws {Error} If the module is not a Rheostat engine of this ABI, the instance already backs
   * an engine, or memory cannot grow.
   */
  constructor(exports: WasmEngineExports, maxSlots: number, maxParamSets: number) {
    if (typeof exports.abiVersion !== 'function' || exports.abiVersion() !== WASM_ABI_VERSION) {
      throw new Error(
        `WASM engine ABI mismatch: expected version ${WASM_ABI_VERSION}, module reports "${
          typeof exports.abiVersion === 'function' ? exports.abiVersion() : 'none'
        }"`,
      )
    }
    // slotPtr(0) is 0 until init() lays out memory: a non-zero value means another engine owns
    // this instance (Deno's `.wasm` import is one shared instance).
    if (exports.slotPtr(0) !== 0) {
      throw new Error(
        'This WASM instance already backs an engine: pass the WebAssembly.Module or its bytes to ' +
          'create more than one',
      )
    }
    if (exports.init(maxSlots, maxParamSets) !== 1) {
      throw new Error(`WASM engine cannot reserve memory for ${maxSlots} routes`)
    }
    this.exports = exports
    this.maxSlots = maxSlots
    this.maxParamSets = maxParamSets
    this.view = new Float64Array(exports.memory.buffer)
    this.slotsAt = exports.slotPtr(0) / 8
    this.scratchAt = exports.scratchPtr() / 8
  }

  private mem(): Float64Array {
    // Growing memory detaches a buffer, but only init() grows it (the engine allocates nothing),
    // so the view taken after init() stays valid. Re-reading memory.buffer on every access cost
    // ~24 ns per decision (bench/engine.bench.ts).
    return this.view
  }

  setParams(index: number, values: ArrayLike<number>): void {
    const mem = this.mem()
    const at = this.exports.paramsPtr(index) / 8
    for (let i = 0; i < PARAM_FIELDS; i++) mem[at + i] = values[i] ?? 0
  }

  initSlot(slot: number, paramSet: number, nowMs: number): void {
    this.exports.initSlot(slot, paramSet, nowMs)
  }

  admit(slot: number, classIndex: number, nowMs: number): number {
    return this.exports.admit(slot, classIndex, nowMs)
  }

  complete(
    slot: number,
    latencyMs: number,
    outcome: number,
    retryAfterS: number,
    nowMs: number,
    sample: number,
  ): void {
    this.exports.complete(slot, latencyMs, outcome, retryAfterS, nowMs, sample)
  }

  admission(slot: number, classIndex: number): number {
    return this.exports.admission(slot, classIndex)
  }

  observe(
    slot: number,
    latencyMs: number,
    errorRate: number,
    saturation: number,
    nowMs: number,
  ): void {
    this.exports.observe(slot, latencyMs, errorRate, saturation, nowMs)
  }

  absorb(
    slot: number,
    count: number,
    latencySumMs: number,
    errorCount: number,
    isolates: number,
    nowMs: number,
    fleetInflight = -1,
  ): void {
    this.exports.absorb(slot, count, latencySumMs, errorCount, isolates, nowMs, fleetInflight)
  }

  inject(slot: number, pressure: number, untilMs: number, nowMs: number): void {
    this.exports.inject(slot, pressure, untilMs, nowMs)
  }

  advance(slot: number, nowMs: number): void {
    this.exports.advance(slot, nowMs)
  }

  inspect(slot: number): void {
    this.exports.inspect(slot)
  }

  readState(slot: number, field: number): number {
    return this.mem()[this.slotsAt + slot * SLOT_FIELDS + field]
  }

  readScratch(field: number): number {
    if (field < 0 || field >= SCRATCH_FIELDS) return NaN
    return this.mem()[this.scratchAt + field]
  }
}

/**
 * Instantiates the WASM engine from a module, bytes, an instance or its exports.
 *
 * @throws {Error} If the source cannot be compiled here (Workers forbid compiling bytes at run
 * time: import the `.wasm` file instead) or is not a Rheostat engine.
 */
export function loadWasmEngine(
  source: WasmSource,
  maxSlots: number,
  maxParamSets: number,
): WasmEngine {
  return new WasmEngine(toExports(source), maxSlots, maxParamSets)
}
