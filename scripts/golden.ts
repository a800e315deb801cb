// Regenerates tests/fixtures/golden.json from the reference engine. Run it only when a change of
// behaviour is intended, and review the diff.
import { writeFileSync } from 'node:fs'
import { ReferenceEngine } from '../src/engine/reference/engine.ts'
import { recordGolden } from '../tests/support/golden.ts'

const file = new URL('../tests/fixtures/golden.json', import.meta.url)
writeFileSync(file, JSON.stringify(recordGolden(() => new ReferenceEngine(4, 4))) + '\n')
console.log(`wrote ${file.pathname}`)
