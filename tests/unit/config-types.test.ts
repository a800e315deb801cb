import { describe, expect, it } from 'vitest'
import {
  type GovernorConfig,
  type GovernorConfigInput,
  GovernorConfigSchema,
  type InferredConfig,
  type InferredConfigInput,
  parseConfig,
} from '../../src/config/schema.ts'

// Exact type equality (not mere assignability): optional vs required, extra or missing fields and
// different unions all make it false.
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true
  : false
const exact = <T extends true>(proof: T): T => proof

describe('config types (src/config/types.ts) are what the schema infers', () => {
  it('GovernorConfig and GovernorConfigInput equal the schema output and input', () => {
    // These lines fail `npm run check` (tsc) when types.ts and schema.ts disagree.
    expect(exact<Equal<GovernorConfig, InferredConfig>>(true)).toBe(true)
    expect(exact<Equal<GovernorConfigInput, InferredConfigInput>>(true)).toBe(true)
  })

  it('the exported schema parses with defaults filled in', () => {
    const result = GovernorConfigSchema.safeParse({ routes: [{ id: 'a' }] })
    expect(result.success).toBe(true)
    if (result.success) expect(result.data.sync.intervalMs).toBe(parseConfig({}).sync.intervalMs)
    expect(GovernorConfigSchema.safeParse({ maxRoutes: -1 }).success).toBe(false)
  })
})
