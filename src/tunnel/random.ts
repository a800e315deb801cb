/**
 * Seeded randomness for the wind tunnel: xoshiro128** seeded through splitmix32, and standard
 * normal deviates by Box–Muller. Nothing here reads the clock or `Math.random`, so a seed fixes
 * every draw.
 *
 * @module
 */

/** A seeded stream of uniform and normal deviates. */
export interface Random {
  /** Uniform in [0, 1), 32 bits of resolution. */
  next(): number
  /** Uniform in (0, 1]: safe under `Math.log`. */
  nextOpen(): number
  /** Standard normal. */
  normal(): number
}

/**
 * A xoshiro128** stream (Blackman and Vigna, 2018: period 2¹²⁸ − 1, 32-bit output), its state
 * filled by splitmix32 from `seed` and `stream`, so streams of one seed are independent.
 *
 * @param seed Any number; its low 32 bits and its integer part above them are used.
 * @param stream Which of a seed's streams (arrivals, retries, …).
 * @returns The stream.
 *
 * @example Usage
 * ```ts
 * import { createRandom } from './random.ts'
 * const a = createRandom(7, 0)
 * const b = createRandom(7, 0)
 * if (a.next() !== b.next()) throw new Error('same seed, same draws')
 * ```
 */
export function createRandom(seed: number, stream = 0): Random {
  let x = (Math.trunc(seed) ^ Math.trunc(seed / 0x100000000) ^ Math.imul(stream + 1, 0x9e3779b9)) |
    0
  const splitmix = (): number => {
    x = (x + 0x9e3779b9) | 0
    let z = x
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
    return (z ^ (z >>> 16)) | 0
  }
  let s0 = splitmix()
  let s1 = splitmix()
  let s2 = splitmix()
  let s3 = splitmix()
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1
  let spare = NaN

  const nextU32 = (): number => {
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9)
    const t = s1 << 9
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = rotl(s3, 11)
    return r >>> 0
  }

  return {
    next: () => nextU32() / 0x100000000,
    nextOpen: () => (nextU32() + 1) / 0x100000000,
    normal: () => {
      if (spare === spare) {
        const z = spare
        spare = NaN
        return z
      }
      // Box–Muller: two uniforms give two independent normals; the second is kept for next time.
      const r = Math.sqrt(-2 * Math.log((nextU32() + 1) / 0x100000000))
      const theta = (2 * Math.PI * nextU32()) / 0x100000000
      spare = r * Math.sin(theta)
      return r * Math.cos(theta)
    },
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k))
}
