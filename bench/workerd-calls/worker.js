// The Worker of bench/workerd-calls.bench.ts: GET /NAME?n=N runs one runtime call N times in a
// loop, so the workerd process's CPU time around the request, divided by N, is that call's cost.
// Plain JavaScript, served as it is (no bundling).

// The fields the proxy deletes from a request: hop-by-hop, forwarding fields of an untrusted
// peer, Host (src/http/proxy.ts).
const DELETED = [
  'connection',
  'expect',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-port',
  'x-real-ip',
  'x-client-ip',
  'true-client-ip',
  'cf-connecting-ip',
  'host',
]

const calls = {
  'headers copy': (req) => new Headers(req.headers),
  'headers copy + 18 deletes': (req) => {
    const h = new Headers(req.headers)
    for (const name of DELETED) h.delete(name)
    return h
  },
  'headers.get': (req) => req.headers.get('host'),
  'new URL': (req) => new URL(req.url),
  'new Response': () => new Response('x'),
  // The proxy's answer: the origin's fields copied, a Response made, 2 RateLimit fields added,
  // appended to the Response's headers afterwards or to the copy before the Response is made.
  'copy + Response, then 2 appends to it': (req) => {
    const r = new Response('x', { headers: new Headers(req.headers) })
    r.headers.append('RateLimit', '"api:normal";r=100;t=1')
    r.headers.append('RateLimit-Policy', '"api:normal";q=100;w=1')
    return r
  },
  'copy + 2 appends, then Response': (req) => {
    const h = new Headers(req.headers)
    h.append('RateLimit', '"api:normal";r=100;t=1')
    h.append('RateLimit-Policy', '"api:normal";q=100;w=1')
    return new Response('x', { headers: h })
  },
  'ctx.waitUntil(promise)': (_req, ctx) => {
    let settle
    ctx.waitUntil(new Promise((resolve) => settle = resolve))
    settle()
  },
  'setTimeout + clearTimeout': () => clearTimeout(setTimeout(() => {}, 10000)),
  'signal add + remove listener': (req) => {
    const f = () => {}
    req.signal.addEventListener('abort', f, { once: true })
    req.signal.removeEventListener('abort', f)
  },
  'new AbortController': () => new AbortController(),
  'Date.now': () => Date.now(),
  'a JS object': (req) => ({ route: 'api', request: req }),
}

export default {
  fetch(req, _env, ctx) {
    const url = new URL(req.url)
    if (url.pathname === '/names') return Response.json(Object.keys(calls))
    const call = calls[decodeURIComponent(url.pathname.slice(1))]
    if (call === undefined) return new Response('ok')
    const n = Number(url.searchParams.get('n') ?? 1)
    for (let i = 0; i < n; i++) call(req, ctx)
    return new Response('done')
  },
}
