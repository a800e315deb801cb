// wrangler bundles a `.wasm` import as a precompiled WebAssembly.Module (Workers forbid compiling
// at run time). The root tsconfig checks these worker entries without the Workers types.
declare module '*.wasm' {
  const module: WebAssembly.Module
  export default module
}
