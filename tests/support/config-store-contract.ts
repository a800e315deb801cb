// One contract suite for every ConfigStore backend (memory, Durable Object, Upstash). Call it with
// a factory that gives a fresh, isolated store (random prefix / unique object name).
import { describe, expect, it } from 'vitest'
import {
  CONFIG_HISTORY_LIMIT,
  type ConfigStore,
  ISOLATE_TTL_MS,
} from '../../src/contract/config-store.ts'

const T0 = 1_700_000_000_000

/** A small config with a marker, so versions can be told apart. */
export const sample = (n: number) => ({
  routes: [{ id: `r${n}`, match: { path: `/r${n}/*` }, origin: 'http://127.0.0.1:9' }],
  unmatched: 'reject',
})

export function configStoreContract(
  name: string,
  makeStore: () => ConfigStore | Promise<ConfigStore>,
): void {
  describe(`ConfigStore contract: ${name}`, () => {
    it('current() is null and heartbeat() answers version 0 before any upload', async () => {
      const store = await makeStore()
      expect(await store.current()).toBeNull()
      expect(await store.history(5)).toEqual([])
      const beat = await store.heartbeat(
        { isolateId: 'iso-a', configVersion: 0, lastSeenMs: 0, syncDegraded: false },
        T0,
      )
      expect(beat.version).toBe(0)
      expect(beat.isolates).toEqual([
        { isolateId: 'iso-a', configVersion: 0, lastSeenMs: T0, syncDegraded: false },
      ])
    })

    it('put() numbers versions 1, 2, … and current() answers the newest as stored', async () => {
      const store = await makeStore()
      const a = await store.put(sample(1), T0)
      const b = await store.put(sample(2), T0 + 5)
      expect(a).toEqual({ ok: true, record: { version: 1, config: sample(1), updatedAt: T0 } })
      expect(b.ok && b.record.version).toBe(2)
      expect(await store.current()).toEqual({ version: 2, config: sample(2), updatedAt: T0 + 5 })
    })

    it('put() with an expected version is a compare-and-set', async () => {
      const store = await makeStore()
      expect((await store.put(sample(1), T0, 0)).ok).toBe(true)
      expect(await store.put(sample(2), T0, 0)).toEqual({ ok: false, currentVersion: 1 })
      expect(await store.put(sample(2), T0, 7)).toEqual({ ok: false, currentVersion: 1 })
      expect((await store.current())?.config).toEqual(sample(1))
      const next = await store.put(sample(3), T0, 1)
      expect(next.ok && next.record.version).toBe(2)
    })

    it('put() lets exactly one of many concurrent writers with the same expectation win', async () => {
      const store = await makeStore()
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) => store.put(sample(i), T0, 0)),
      )
      expect(results.filter((r) => r.ok)).toHaveLength(1)
      expect(results.filter((r) => !r.ok).every((r) => !r.ok && r.currentVersion === 1)).toBe(true)
      expect((await store.current())?.version).toBe(1)
    })

    it('history() answers the newest first and keeps the last CONFIG_HISTORY_LIMIT', async () => {
      const store = await makeStore()
      const total = CONFIG_HISTORY_LIMIT + 3
      for (let i = 1; i <= total; i++) await store.put(sample(i), T0 + i)
      const three = await store.history(3)
      expect(three.map((r) => r.version)).toEqual([total, total - 1, total - 2])
      expect(three[0]?.config).toEqual(sample(total))
      const all = await store.history(1000)
      expect(all).toHaveLength(CONFIG_HISTORY_LIMIT)
      expect(all[all.length - 1]?.version).toBe(total - CONFIG_HISTORY_LIMIT + 1)
      // Versions keep counting past the kept window.
      const next = await store.put(sample(0), T0, total)
      expect(next.ok && next.record.version).toBe(total + 1)
    })

    it('heartbeat() lists every live isolate with its version and forgets silent ones', async () => {
      const store = await makeStore()
      await store.put(sample(1), T0)
      await store.heartbeat(
        { isolateId: 'iso-b', configVersion: 0, lastSeenMs: 0, syncDegraded: true },
        T0,
      )
      const beat = await store.heartbeat(
        { isolateId: 'iso-a', configVersion: 1, lastSeenMs: 0, syncDegraded: false },
        T0 + 1000,
      )
      expect(beat.version).toBe(1)
      expect(beat.isolates).toEqual([
        { isolateId: 'iso-a', configVersion: 1, lastSeenMs: T0 + 1000, syncDegraded: false },
        { isolateId: 'iso-b', configVersion: 0, lastSeenMs: T0, syncDegraded: true },
      ])
      // A second heartbeat replaces the record rather than adding one.
      await store.heartbeat(
        { isolateId: 'iso-b', configVersion: 1, lastSeenMs: 0, syncDegraded: false },
        T0 + 2000,
      )
      expect((await store.isolates(T0 + 2000)).map((i) => [i.isolateId, i.configVersion]))
        .toEqual([['iso-a', 1], ['iso-b', 1]])
      const later = await store.isolates(T0 + 1000 + ISOLATE_TTL_MS)
      expect(later.map((i) => i.isolateId)).toEqual(['iso-b'])
      expect(await store.isolates(T0 + 2000 + ISOLATE_TTL_MS)).toEqual([])
    })

    it('heartbeat() refuses an isolate without an id', async () => {
      const store = await makeStore()
      await expect(
        store.heartbeat(
          { isolateId: '', configVersion: 0, lastSeenMs: 0, syncDegraded: false },
          T0,
        ),
      ).rejects.toThrow()
    })
  })
}
