// The forwarding work of the proxy without a governor, for the baseline worker and the governed
// worker's hand-built variants: hop-by-hop fields removed both ways, Host dropped,
// X-Forwarded-Proto/-Host set, a timeout on the origin's headers, the client's abort passed on,
// streamed bodies, manual redirects. The hop-by-hop list is copied from src/http/proxy.ts rather
// than imported, so the baseline bundle holds no Rheostat code.

const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]
const TIMEOUT_MS = 10000

function stripHopByHop(headers: Headers): void {
  const listed = headers.get('connection')
  if (listed !== null) {
    for (const token of listed.split(',')) {
      const name = token.trim()
      if (name !== '') headers.delete(name)
    }
  }
  for (const name of HOP_BY_HOP) headers.delete(name)
}

/** Forwards `incoming` to `origin` + its path and query; a network error answers 502. */
export async function forward(incoming: Request, origin: string): Promise<Response> {
  const url = new URL(incoming.url)
  const headers = new Headers(incoming.headers)
  stripHopByHop(headers)
  headers.delete('host')
  headers.set('X-Forwarded-Proto', url.protocol.slice(0, -1))
  headers.set('X-Forwarded-Host', incoming.headers.get('host') ?? url.host)
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS)
  const onClientAbort = () => controller.abort()
  incoming.signal?.addEventListener('abort', onClientAbort, { once: true })
  const method = incoming.method
  const init: RequestInit & { duplex?: 'half' } = {
    method,
    headers,
    body: method === 'GET' || method === 'HEAD' ? null : incoming.body,
    redirect: 'manual',
    signal: controller.signal,
    duplex: 'half',
  }
  try {
    const response = await fetch(new Request(origin + url.pathname + url.search, init))
    const out = new Headers(response.headers)
    stripHopByHop(out)
    return new Response(response.body, {
      status: response.status,
      statusText: response.statusText,
      headers: out,
    })
  } catch (error) {
    return new Response(`Origin unreachable: ${String(error)}`, { status: 502 })
  } finally {
    clearTimeout(timer)
  }
}
