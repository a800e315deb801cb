// The JSR package (deno.json `name`, `exports`, `publish`): `deno publish --dry-run` builds it
// exactly as publishing would, type-checks every entry and refuses slow types (inferred types in
// the public API, ambient modules). `deno lint` runs the same no-slow-types rule in `npm run check`.
import assert from 'node:assert/strict'

const ROOT = new URL('../../', import.meta.url)

Deno.test('deno publish --dry-run passes: every JSR entry type-checks, no slow types', async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ['publish', '--dry-run', '--allow-dirty', '--config', 'deno.json'],
    cwd: ROOT,
    stdout: 'piped',
    stderr: 'piped',
    env: { NO_COLOR: '1' },
  }).output()
  const text = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr)
  assert.equal(code, 0, text)
  assert.match(text, /Dry run complete/)
  assert.match(text, /Checking for slow types/)
  assert.doesNotMatch(text, /error\[|missing-explicit|unsupported-ambient|--allow-slow-types/)
  // The published files hold the engine's module and none of the Workers-only or tool folders.
  assert.match(text, /wasm\/build\/rheostat\.wasm/)
  assert.doesNotMatch(text, /src\/tunnel\/|src\/cli\/|src\/adapter\/cloudflare-workers\//)
})
