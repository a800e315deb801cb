// The Worker's handler (src/adapter/cloudflare-workers/handler.ts) served over node:http on
// 127.0.0.1, with an origin beside it: a real deployment for tests that spawn the CLI. Node only.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  createEdgeHandler,
  type EdgeHandler,
} from '../../src/adapter/cloudflare-workers/handler.ts'
import type { ConfigStore } from '../../src/contract/config-store.ts'

export interface EdgeServer {
  url: string
  origin: string
  handler: EdgeHandler
  close(): Promise<void>
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
    })
  )
}

async function toRequest(req: IncomingMessage, base: string): Promise<Request> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  const headers = new Headers()
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === 'string') headers.set(name, value)
  }
  const body = chunks.length === 0 ? null : Buffer.concat(chunks)
  return new Request(new URL(req.url ?? '/', base), { method: req.method, headers, body })
}

async function send(res: ServerResponse, response: Response): Promise<void> {
  res.statusCode = response.status
  response.headers.forEach((value, name) => res.setHeader(name, value))
  res.end(Buffer.from(await response.arrayBuffer()))
}

/**
 * Starts an origin (answers `origin <path>`) and the edge in front of it. `config` gets the
 * origin's URL and returns the deployed config.
 */
export async function startEdgeServer(options: {
  token: string
  config: (origin: string) => unknown
  configStore?: ConfigStore
}): Promise<EdgeServer> {
  const originServer = createServer((req, res) => {
    res.setHeader('content-type', 'text/plain')
    res.end(`origin ${req.url}`)
  })
  const origin = await listen(originServer)
  const handler = createEdgeHandler({
    logger: { error() {}, warn() {} },
    configStore: options.configStore,
  })
  const env = {
    RHEOSTAT_CONFIG: JSON.stringify(options.config(origin)),
    RHEOSTAT_ADMIN_TOKEN: options.token,
  }
  let url = ''
  const edgeServer = createServer((req, res) => {
    void (async () => {
      const pending: Promise<unknown>[] = []
      const ctx = {
        waitUntil: (p: Promise<unknown>) => void pending.push(p),
        passThroughOnException() {},
      }
      const response = await handler.fetch(await toRequest(req, url), env, ctx)
      await send(res, response)
      await Promise.all(pending)
    })().catch((error) => {
      res.statusCode = 500
      res.end(String(error))
    })
  })
  url = await listen(edgeServer)
  const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()))
  return {
    url,
    origin,
    handler,
    close: async () => {
      edgeServer.closeAllConnections()
      originServer.closeAllConnections()
      await Promise.all([close(edgeServer), close(originServer)])
    },
  }
}
