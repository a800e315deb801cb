// Placeholder until the engine lands: proves the build and the loaders.
export function abiVersion(): i32 {
  return 1
}
