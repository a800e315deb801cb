// Ticket expiry (issue 12, item 1): a ticket never completed gives its slot back after its bound
// (the route's timeoutMs + 30 s, 40 s without routes), the physics learns nothing from it, and a
// late completion is ignored.
import { describe, expect, it } from 'vitest'
import type { Ticket } from '../../src/mod.ts'
import { DEFAULT_TICKET_TIMEOUT_MS, TICKET_GRACE_MS } from '../../src/governor/tickets.ts'
import { drive, ENGINES, rig } from '../support/harness.ts'

const BOUND_MS = DEFAULT_TICKET_TIMEOUT_MS + TICKET_GRACE_MS

describe.each(ENGINES)('ticket expiry on the %s engine', (engine) => {
  it('admit() gives back the slots of 500 tickets never completed once their bound has passed', () => {
    const r = rig(engine, {}, 1_000_000)
    const leaked: Ticket[] = []
    for (let i = 0; i < 500 && leaked.length < 500; i++) {
      const d = r.gov.admit('slow')
      if (d.ticket !== null) leaked.push(d.ticket)
    }
    const held = r.gov.snapshot('slow')!.inflight
    expect(held).toBe(leaked.length)
    expect(held).toBeGreaterThan(0)
    // Still held just inside the bound: a slow origin's requests are not cut short.
    r.clock.now += BOUND_MS - 1
    expect(r.gov.snapshot('slow')!.inflight).toBe(held)
    expect(r.gov.snapshot('slow')!.expiredTickets).toBe(0)
    // Gone within 4/3 of the bound, without any completion, and counted for the operator.
    r.clock.now += BOUND_MS / 3 + 10
    expect(r.gov.snapshot('slow')!.inflight).toBe(0)
    expect(r.gov.snapshot('slow')!.expiredTickets).toBe(held)
    // A late completion is ignored: no slot is given back twice, no stale sample.
    expect(r.gov.complete(leaked[0]!, { latencyMs: 60_000, ok: false })).toBe(false)
    expect(r.gov.cancel(leaked[1]!)).toBe(false)
    expect(r.gov.snapshot('slow')!.inflight).toBe(0)
    expect(r.gov.snapshot('slow')!.expiredTickets).toBe(held)
  })

  it('expired tickets teach the physics what cancelled ones do: nothing', () => {
    // Requests out with no answer are themselves a signal of the capacity law (silence: an
    // outage, docs/physics.md §8); it is off here, so that only what expiry teaches is compared.
    const config = { physics: { silenceFactor: 0 }, defaults: { concurrency: { initial: 100 } } }
    const a = rig(engine, config, 5_000)
    const b = rig(engine, config, 5_000)
    for (const r of [a, b]) {
      drive(r, { route: 'r', rps: 50, seconds: 5, latencyMs: () => 40 })
    }
    const held: Ticket[] = []
    for (let i = 0; i < 40; i++) {
      const ta = a.gov.admit('r').ticket
      const tb = b.gov.admit('r').ticket
      expect(ta !== null && tb !== null).toBe(true)
      held.push(tb!)
      void ta
    }
    // b cancels its tickets; a loses them and lets them expire.
    for (const t of held) b.gov.cancel(t)
    for (const r of [a, b]) r.clock.now += BOUND_MS * 2
    const sa = a.gov.snapshot('r')!
    const sb = b.gov.snapshot('r')!
    expect(sa.inflight).toBe(0)
    expect(sa.signals).toEqual(sb.signals)
    expect(sa.pressure).toEqual(sb.pressure)
    expect(sa.concurrencyLimit).toBe(sb.concurrencyLimit)
    expect(sa.mode).toBe(sb.mode)
  })

  it("a route's bound follows its timeoutMs", () => {
    const r = rig(engine, { routes: [{ id: 'quick', timeoutMs: 1000 }] }, 0)
    const t = r.gov.admit('quick').ticket!
    r.clock.now += 1000 + TICKET_GRACE_MS - 1
    expect(r.gov.snapshot('quick')!.inflight).toBe(1)
    r.clock.now += (1000 + TICKET_GRACE_MS) / 3 + 10
    expect(r.gov.snapshot('quick')!.inflight).toBe(0)
    expect(r.gov.complete(t)).toBe(false)
  })

  it('tickets completed in time are counted once, across epochs', () => {
    const r = rig(engine, {}, 0)
    const tickets: Ticket[] = []
    for (let i = 0; i < 8; i++) {
      tickets.push(r.gov.admit('r').ticket!)
      r.clock.now += BOUND_MS / 6
    }
    r.clock.now += 10
    // The first two (epoch 0) are 4 epochs old by now and expired; the others complete.
    const done = tickets.map((t) => r.gov.complete(t, { latencyMs: 10 }))
    expect(done).toEqual([false, false, true, true, true, true, true, true])
    expect(r.gov.snapshot('r')!.inflight).toBe(0)
    expect(r.gov.snapshot('r')!.expiredTickets).toBe(2)
  })

  it('a lease is not expired by the ticket bound: heartbeats keep it', async () => {
    const r = rig(engine, {}, 0)
    const controller = new AbortController()
    const lease = await r.gov.startTask('job', {
      profile: 'HEAVY',
      abortController: controller,
      heartbeatMs: 10_000,
    })
    for (let i = 0; i < 10; i++) {
      r.clock.now += 10_000
      expect(lease.heartbeat()).toBe(true)
      r.gov.admit('job')
    }
    expect(controller.signal.aborted).toBe(false)
    expect(lease.release()).toBe(true)
  })
})
