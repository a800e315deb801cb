// Benchmark worker (b): the baseline. createProxyApp is governed by design, so this is a minimal
// Hono forwarder written for the comparison (./forward.ts): the same forwarding work as the
// proxy, and no governor.
import { Hono } from 'hono'
import { forward } from './forward.ts'

const app = new Hono<{ Bindings: { ORIGIN: string } }>()

app.all('*', (c) => forward(c.req.raw, c.env.ORIGIN))

export default app
