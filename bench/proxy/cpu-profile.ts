// CPU profile of a workerd process over the inspector protocol (workerd serve -i ADDR), for
// `PROXY_BENCH_PROFILE=1 npm run bench:proxy`: samples the governed worker's JavaScript while it
// is loaded, writes the .cpuprofile (Chrome DevTools opens it) and sums self time per function.
// Time spent inside the runtime's own C++ (Headers, fetch, streams) shows under the JavaScript
// function that called it, or as "(program)" when no JavaScript is on the stack.

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }
  children?: number[]
}

export interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples: number[]
  timeDeltas: number[]
}

/** Finds the inspector's WebSocket for the first worker listed at `http://ADDR/json/list`. */
async function debuggerUrl(address: string): Promise<string> {
  const deadline = Date.now() + 10_000
  for (;;) {
    try {
      const res = await fetch(`http://${address}/json/list`)
      const list = await res.json() as { webSocketDebuggerUrl?: string; id?: string }[]
      const url = list[0]?.webSocketDebuggerUrl ??
        (list[0]?.id ? `ws://${address}/${list[0].id}` : '')
      if (url !== '') return url
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`No inspector target at ${address}`)
    await new Promise((done) => setTimeout(done, 200))
  }
}

/** Profiles the worker behind `address` while `load` runs; sampling every `intervalUs`. */
export async function profileWhile(
  address: string,
  load: () => Promise<unknown>,
  intervalUs = 200,
): Promise<CpuProfile> {
  const ws = new WebSocket(await debuggerUrl(address))
  await new Promise<void>((done, fail) => {
    ws.addEventListener('open', () => done(), { once: true })
    ws.addEventListener('error', () => fail(new Error(`Cannot open ${ws.url}`)), { once: true })
  })
  let nextId = 1
  const waiting = new Map<number, (result: unknown) => void>()
  ws.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown }
    if (message.id !== undefined) waiting.get(message.id)?.(message.result)
  })
  const call = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((done) => {
      const id = nextId++
      waiting.set(id, done)
      ws.send(JSON.stringify({ id, method, params }))
    })
  await call('Profiler.enable')
  await call('Profiler.setSamplingInterval', { interval: intervalUs })
  await call('Profiler.start')
  await load()
  const { profile } = await call('Profiler.stop') as { profile: CpuProfile }
  ws.close()
  return profile
}

/** Self time per function (name, file:line), largest first, as shares of all samples. */
export function selfTimes(profile: CpuProfile): { name: string; share: number; ms: number }[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const totals = new Map<string, number>()
  let all = 0
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0
    const frame = byId.get(id)?.callFrame
    const file = frame?.url.split('/').pop() ?? ''
    const name = frame === undefined
      ? '?'
      : `${frame.functionName || '(anonymous)'} ${file}${file ? `:${frame.lineNumber + 1}` : ''}`
    totals.set(name, (totals.get(name) ?? 0) + dt)
    all += dt
  })
  return [...totals].map(([name, us]) => ({ name, share: us / all, ms: us / 1000 }))
    .sort((a, b) => b.ms - a.ms)
}
