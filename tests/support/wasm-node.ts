// Loads the AssemblyScript build in Node (Workers and Deno import the `.wasm` file instead).
import { readFile } from 'node:fs/promises'

export const wasmPath: URL = new URL('../../wasm/build/rheostat.wasm', import.meta.url)

export async function compileRheostat(): Promise<WebAssembly.Module> {
  const bytes = await readFile(wasmPath)
  return WebAssembly.compile(bytes)
}

export async function instantiateRheostat<T extends WebAssembly.Exports>(
  imports: WebAssembly.Imports = {},
): Promise<T> {
  const instance = await WebAssembly.instantiate(await compileRheostat(), imports)
  return instance.exports as T
}
