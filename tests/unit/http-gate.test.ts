// The request-path core's keep-alive (src/http/gate.ts; docs/http.md "Client disconnects"): a
// promise handed to waitUntil that settles when the ticket completes, armed at admission, or, where
// the runtime aborts the request's signal as its client hangs up, by that abort.
import { describe, expect, it } from 'vitest'
import { createGovernor } from '../../src/mod.ts'
import { Pass, runAdmitted, signalAbortsOnDisconnect } from '../../src/http/gate.ts'

function setup() {
  const gov = createGovernor({ engine: 'ts', clock: () => 0 })
  const waited: Promise<unknown>[] = []
  const background = { waitUntil: (p: Promise<unknown>) => void waited.push(p) }
  let release = () => {}
  const held = new Promise<void>((resolve) => release = resolve)
  const pass = new Pass(gov, 'api', 'normal')
  expect(pass.allowed).toBe(true)
  const run = async () => {
    await held
    return true
  }
  const settledCount = () => {
    let settled = 0
    for (const p of waited) void p.then(() => settled++)
    return async () => {
      await new Promise((r) => setTimeout(r, 0))
      return settled
    }
  }
  return { gov, waited, background, release, pass, run, settledCount }
}

describe('the keep-alive', () => {
  it('Node does not abort a request signal on a hang-up the way workerd reports it', () => {
    expect(signalAbortsOnDisconnect()).toBe(false)
  })

  it('without a disconnect signal it is armed at admission and settles with the ticket', async () => {
    const { gov, waited, background, release, pass, run, settledCount } = setup()
    const done = runAdmitted(pass, () => 0, run, background)
    expect(waited).toHaveLength(1)
    const settled = settledCount()
    expect(await settled()).toBe(0)
    release()
    await done
    expect(await settled()).toBe(1)
    expect(gov.snapshot('api')!.inflight).toBe(0)
  })

  it("with one it waits for the signal's abort, then settles with the ticket", async () => {
    const { gov, waited, background, release, pass, run, settledCount } = setup()
    const client = new AbortController()
    const done = runAdmitted(pass, () => 0, run, background, client.signal)
    expect(waited).toHaveLength(0)
    client.abort()
    client.abort()
    expect(waited).toHaveLength(1)
    const settled = settledCount()
    expect(await settled()).toBe(0)
    expect(gov.snapshot('api')!.inflight).toBe(1)
    release()
    await done
    expect(await settled()).toBe(1)
    expect(gov.snapshot('api')!.inflight).toBe(0)
  })

  it('a client that stays costs no waitUntil, and an abort after the ticket completed hands none', async () => {
    const { waited, background, release, pass, run } = setup()
    const client = new AbortController()
    const done = runAdmitted(pass, () => 0, run, background, client.signal)
    release()
    await done
    client.abort()
    expect(waited).toHaveLength(0)
    // Armed by hand after completion: nothing to keep alive.
    pass.keepAlive(background)
    expect(waited).toHaveLength(0)
  })

  it('a signal aborted before admission arms it at once', async () => {
    const { waited, background, release, pass, run } = setup()
    const done = runAdmitted(pass, () => 0, run, background, AbortSignal.abort())
    expect(waited).toHaveLength(1)
    release()
    await done
    await expect(waited[0]).resolves.toBeUndefined()
  })

  it('settles when the downstream work throws, too', async () => {
    const { waited, background, pass } = setup()
    const failing = runAdmitted(pass, () => 0, () => Promise.reject(new Error('boom')), background)
    await expect(failing).rejects.toThrow('boom')
    await expect(waited[0]).resolves.toBeUndefined()
  })
})
