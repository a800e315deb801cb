// Exports of the WebAssembly engine. The ABI is numbers only: the host reads state, parameters
// and scratch registers straight out of linear memory through the pointers below.

export {
  absorb,
  admission,
  admit,
  advance,
  complete,
  init,
  initSlot,
  inject,
  inspect,
  observe,
  paramsPtr,
  scratchPtr,
  slotPtr,
} from './engine'

/** Version of the numeric ABI; the loader refuses a module whose version it does not know. */
export function abiVersion(): i32 {
  return 3
}
