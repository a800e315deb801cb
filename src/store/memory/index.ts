/**
 * The memory backend: telemetry and configs shared by the handlers of one process (tests, a
 * single Node or Deno server). Nothing reaches other processes.
 *
 * @module
 */

export { MemoryStore, type MemoryStoreOptions } from './store.ts'
export { MemoryConfigStore } from './config.ts'
