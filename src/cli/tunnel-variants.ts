/**
 * `npm run tunnel:variants -- --out DIR FILE…`: writes five variants of each wind-tunnel
 * scenario (src/tunnel/variants.ts: twice and half the size, twice the isolates, 1.5 times the
 * load, twice the service time) to DIR as `<name>~<suffix>.json`, each validated. Run the law
 * over them with `npm run tunnel:grid -- DIR/*~*.json --baselines` to check that a change
 * generalises beyond the shipped scenarios (docs/wind-tunnel.md, "Scenarios kept aside").
 *
 * Exit codes: 0 done, 1 a file is missing, invalid or cannot be written, 2 a usage error.
 *
 * @module
 */

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import process from 'node:process'
import { parseArgs } from 'node:util'
import { CliError, errorMessage } from './error.ts'
import { ConfigError } from '../config/schema.ts'
import { parseScenario } from '../tunnel/scenario.ts'
import { type ScenarioJson, scenarioVariants } from '../tunnel/variants.ts'

const USAGE = `Usage: npm run tunnel:variants -- --out DIR FILE...

Writes five variants of each scenario to DIR: ~double, ~half (size and load), ~iso (twice the
isolates), ~over1.5 (load) and ~slow2 (service time).

Options:
  --out DIR   the folder to write to (created if missing)
  -h, --help  this text`

function main(argv: string[]): number {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    })
  } catch (error) {
    throw new CliError(2, `${errorMessage(error)}\n\n${USAGE}`)
  }
  const { values, positionals } = parsed
  if (values.help) {
    process.stdout.write(`${USAGE}\n`)
    return 0
  }
  if (values.out === undefined) throw new CliError(2, `No --out folder given\n\n${USAGE}`)
  if (positionals.length === 0) throw new CliError(2, `No scenario files given\n\n${USAGE}`)
  const out = values.out
  const written: string[] = []
  for (const file of positionals) {
    let json: ScenarioJson
    try {
      json = JSON.parse(readFileSync(file, 'utf8'))
      parseScenario(json)
    } catch (error) {
      throw new CliError(1, `Scenario "${file}" is invalid: ${problems(error)}`)
    }
    for (const variant of scenarioVariants(json)) {
      try {
        parseScenario(variant.scenario)
      } catch (error) {
        throw new CliError(1, `Variant "${variant.name}" is invalid: ${problems(error)}`)
      }
      const path = join(out, `${variant.name}.json`)
      try {
        mkdirSync(out, { recursive: true })
        writeFileSync(path, `${JSON.stringify(variant.scenario, null, 2)}\n`)
      } catch (error) {
        throw new CliError(1, `Cannot write "${path}": ${errorMessage(error)}`)
      }
      written.push(path)
    }
  }
  process.stdout.write(`Wrote ${written.length} variants to ${out}\n`)
  return 0
}

function problems(error: unknown): string {
  if (error instanceof ConfigError) {
    return error.problems.map((p) => `${p.path || '(root)'}: ${p.message}`).join('; ')
  }
  return errorMessage(error)
}

try {
  process.exitCode = main(process.argv.slice(2))
} catch (error) {
  if (!(error instanceof CliError)) throw error
  process.stderr.write(`${error.message}\n`)
  process.exitCode = error.code
}
