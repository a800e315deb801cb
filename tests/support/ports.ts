// Ports for tests on 127.0.0.1 (Node and Deno: node:net).
import { createServer } from 'node:net'

/** A port nothing listens on now: the OS picks one, we release it (a refused connection there). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}
