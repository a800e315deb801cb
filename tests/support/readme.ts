// What the first screen of README.md shows (tests/unit/readme.test.ts checks it is there;
// tests/e2e/package.test.ts runs the five lines from the installed package).

/** The two commands a clone runs. */
export const REPOSITORY_COMMANDS = ['npm install && npm start', 'npm test'] as const

/** The five-line Worker: Hono and the middleware, from the installed package. */
export const FIVE_LINE_WORKER = [
  "import { Hono } from 'hono'",
  "import { createGovernor, governor } from 'rheostat'",
  "const gov = createGovernor({ config: { routes: [{ id: 'api', priority: 'critical' }] } })",
  "export default new Hono().use('/api/*', governor({ governor: gov, route: 'api' }))",
  "  .get('/api/hello', (c) => c.text(`hello, ${c.get('rheostat').priority}`))",
] as const

/** The lines a terminal shows at once: what "the first screen" means here. */
export const FIRST_SCREEN_LINES = 40

/** The README's code block whose first line starts with `first`, without its fences. */
export function readmeBlock(readme: string, first: string): string {
  const lines = readme.split('\n')
  const start = lines.findIndex((line) => line.startsWith(first))
  if (start < 0 || !lines[start - 1]?.startsWith('```')) {
    throw new Error(`README.md has no code block starting with "${first}"`)
  }
  const end = lines.findIndex((line, i) => i > start && line.startsWith('```'))
  return lines.slice(start, end).join('\n')
}
