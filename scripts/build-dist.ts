// Builds the npm package's dist/ from src/ (run by `prepare`, so `npm install`, `npm pack` and
// `npm publish` all have it): one JavaScript file per source file and its declarations, with the
// relative `.ts` import specifiers rewritten to `.js`, so that Node imports the package from
// node_modules (Node does not strip types there) and bundlers (wrangler) and Deno take it as is.
//
// - JavaScript: esbuild per file, no bundling, ES2024, the source's own module graph.
// - Declarations: tsc --emitDeclarationOnly in three programs, because the runtimes' global types
//   clash: runtime-neutral and Node code (tsconfig.json), the Workers entry (Workers types), the
//   Deno entry (the `deno types` of the installed Deno).
// - The `.wasm` engine is not copied: dist/ sits where src/ does, two levels below the package
//   root, so the entries' `../../../wasm/build/rheostat.wasm` still names the package's own file
//   (listed in package.json `files`).
//
// Usage: node scripts/build-dist.ts
import { spawnSync } from 'node:child_process'
import {
  cpSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative, resolve } from 'node:path'
import process from 'node:process'
import { build } from 'esbuild'

const root = resolve(import.meta.dirname, '..')
const src = join(root, 'src')
const dist = join(root, 'dist')

/** Every file under `dir`, recursively. */
function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? walk(path) : [path]
  })
}

/** `./x.ts` / `../y.ts` in import and export specifiers (static, dynamic, `import()` types) → `.js`. */
export function rewriteSpecifiers(code: string): string {
  return code.replace(
    /((?:\bfrom|\bimport)\s*\(?\s*)(['"])(\.{1,2}\/[^'"\n]*?)\.ts\2/g,
    (_all, head: string, quote: string, path: string) => `${head}${quote}${path}.js${quote}`,
  )
}

function run(command: string, args: string[]): void {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' })
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status ?? result.signal})`)
  }
}

/** Declarations of one tsc program, copied into dist/ for the files under `only` (all if absent). */
function declarations(config: object, only?: string): void {
  const tmp = mkdtempSync(join(tmpdir(), 'rheostat-dts-'))
  try {
    const configPath = join(root, `.tsconfig.dist-${process.pid}.json`)
    writeFileSync(
      configPath,
      JSON.stringify({
        ...config,
        compilerOptions: {
          ...(config as { compilerOptions?: object }).compilerOptions,
          noEmit: false,
          declaration: true,
          emitDeclarationOnly: true,
          rewriteRelativeImportExtensions: true,
          rootDir: './src',
          outDir: tmp,
        },
      }),
    )
    try {
      run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', configPath])
    } finally {
      rmSync(configPath, { force: true })
    }
    for (const file of walk(tmp)) {
      const rel = relative(tmp, file)
      if (only !== undefined && !rel.startsWith(only)) continue
      const target = join(dist, rel)
      cpSync(file, target)
      writeFileSync(target, rewriteSpecifiers(readFileSync(target, 'utf8')))
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
}

async function main(): Promise<void> {
  rmSync(dist, { recursive: true, force: true })
  const sources = walk(src).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
  await build({
    entryPoints: sources,
    outdir: dist,
    outbase: src,
    bundle: false,
    format: 'esm',
    platform: 'neutral',
    target: 'es2024',
    logLevel: 'warning',
  })
  for (const file of walk(dist)) {
    writeFileSync(file, rewriteSpecifiers(readFileSync(file, 'utf8')))
  }
  // The CLI is a bin: keep its shebang executable.
  const cli = join(dist, 'cli', 'rheostat.js')
  spawnSync('chmod', ['+x', cli])

  const exclude = ['node_modules', 'wasm', 'dist', 'test-output']
  // Runtime-neutral and Node: the repository's own type-check program, minus tests and tools.
  declarations({
    extends: './tsconfig.json',
    // The live tunnel's worker imports the .wasm as Workers do (declared for the bench's too).
    include: ['src', 'bench/proxy/wasm.d.ts'],
    exclude: [...exclude, 'src/adapter/deno', 'src/adapter/cloudflare-workers'],
  })
  // The Workers entry, with the Workers types and the Env wrangler generates.
  declarations({
    extends: './tsconfig.json',
    compilerOptions: {
      module: 'es2022',
      moduleResolution: 'bundler',
      lib: ['ES2024'],
      types: ['@cloudflare/workers-types'],
    },
    include: ['src/adapter/cloudflare-workers', 'src/store/durable-object/workers-types.d.ts'],
    exclude,
  }, 'adapter/cloudflare-workers')
  // The Deno entry, with the installed Deno's own declarations.
  const denoTypes = join(root, `.deno-types-${process.pid}.d.ts`)
  const types = spawnSync(join(root, 'node_modules/.bin/deno'), ['types'], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  })
  if (types.status !== 0) throw new Error(`deno types failed: ${types.stderr}`)
  // Its `no-default-lib` and `deno.*` lib references name libs tsc does not have: the DOM libs
  // stand in for Deno's web APIs.
  writeFileSync(
    denoTypes,
    types.stdout.replace(/^\/\/\/ <reference (no-default-lib|lib="deno\.[^"]*").*$/gm, ''),
  )
  try {
    declarations({
      extends: './tsconfig.json',
      compilerOptions: { lib: ['ES2024', 'DOM', 'DOM.Iterable'], types: [] },
      include: ['src/adapter/deno', 'bench/proxy/wasm.d.ts', relative(root, denoTypes)],
      exclude,
    }, 'adapter/deno')
  } finally {
    rmSync(denoTypes, { force: true })
  }
  console.log(`dist/: ${walk(dist).length} files from ${sources.length} sources`)
}

if (process.argv[1] === import.meta.filename) await main()
