// The live origin as a child process of the tunnel command, so that the load generator and the
// origin do not share one event loop. It speaks over the IPC channel of `child_process.fork`:
//   parent → { type: 'init', scenario, speed }   child → { type: 'ready', url }
//   parent → { type: 'start', t0Ms }
//   parent → { type: 'finish' }                    child → { type: 'log', log } and exits
// It also exits when the parent goes away (the channel closes), so no origin outlives a run.
import process from 'node:process'
import { parseScenario } from '../scenario.ts'
import { type LiveOrigin, startOrigin } from './origin.ts'

let origin: LiveOrigin | undefined

function send(message: unknown): Promise<void> {
  return new Promise((done) => process.send?.(message, undefined, {}, () => done()))
}

async function finish(): Promise<void> {
  const log = origin?.log()
  await origin?.close()
  await send({ type: 'log', log })
  process.disconnect?.()
  process.exit(0)
}

process.on('message', async (message: { type: string; [key: string]: unknown }) => {
  try {
    if (message.type === 'init') {
      origin = await startOrigin(parseScenario(message.scenario), message.speed as number)
      await send({ type: 'ready', url: origin.url })
    } else if (message.type === 'start') {
      origin?.start(message.t0Ms as number)
    } else if (message.type === 'finish') {
      await finish()
    }
  } catch (error) {
    await send({ type: 'error', message: error instanceof Error ? error.message : String(error) })
    process.exit(1)
  }
})
process.on('disconnect', () => process.exit(0))
