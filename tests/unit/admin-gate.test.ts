// The admin gate: token on/off, 401 with WWW-Authenticate, constant-time comparison, body limits,
// and admin paths that never reach an origin.
import { describe, expect, it } from 'vitest'
import { Hono } from 'hono'
import { createAdminApp, readJsonBody, tokenMatches } from '../../src/admin/index.ts'
import { createGovernor, createProxyApp } from '../../src/mod.ts'
import { parseConfig } from '../../src/config/schema.ts'

const ping = (app: Hono) => app.get('/api/ping', (c) => c.json({ pong: true }))
const page = (app: Hono) => app.get('/', (c) => c.html('<p>dashboard</p>'))

describe('createAdminApp()', () => {
  it('createAdminApp() answers health publicly and nothing else without a token', async () => {
    for (const token of [undefined, '']) {
      const admin = createAdminApp({ token, sections: [ping], publicSections: [page] })
      const health = await admin.request('http://edge/__rheostat/health')
      expect(health.status).toBe(200)
      expect(await health.json()).toEqual({ status: 'ok', admin: 'off' })
      for (const path of ['/api/ping', '/']) {
        const res = await admin.request(`http://edge/__rheostat${path}`, {
          headers: { authorization: 'Bearer ' },
        })
        expect(res.status).toBe(404)
        expect((await res.json()).detail).toMatch(/RHEOSTAT_ADMIN_TOKEN/)
      }
    }
  })

  it('createAdminApp() answers 401 with WWW-Authenticate for a missing or wrong token', async () => {
    const admin = createAdminApp({ token: 's3cret-token-0123456789abcdefghijkl', sections: [ping] })
    for (
      const headers of [
        {} as Record<string, string>,
        { authorization: 'Bearer wrong' },
        { authorization: 'Bearer s3cret-toke' },
        { authorization: 'Basic s3cret-token-0123456789abcdefghijkl' },
        { authorization: 's3cret-token-0123456789abcdefghijkl' },
      ]
    ) {
      const res = await admin.request('http://edge/__rheostat/api/ping', { headers })
      expect(res.status).toBe(401)
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/)
      expect(res.headers.get('content-type')).toBe('application/problem+json')
      expect(await res.text()).not.toContain('s3cret')
    }
    const ok = await admin.request('http://edge/__rheostat/api/ping', {
      headers: { authorization: 'bearer s3cret-token-0123456789abcdefghijkl' },
    })
    expect(ok.status).toBe(200)
    expect(ok.headers.get('cache-control')).toBe('no-store')
    expect(await ok.json()).toEqual({ pong: true })
  })

  it('createAdminApp() serves public sections without the token and 404s unknown paths', async () => {
    const admin = createAdminApp({
      token: 'a-token-of-at-least-32-characters-x',
      prefix: '/ops/gov',
      sections: [ping],
      publicSections: [page],
    })
    expect((await admin.request('http://edge/ops/gov/')).status).toBe(200)
    expect((await admin.request('http://edge/ops/gov/health')).status).toBe(200)
    const unknown = await admin.request('http://edge/ops/gov/nope', {
      headers: { authorization: 'Bearer a-token-of-at-least-32-characters-x' },
    })
    expect(unknown.status).toBe(404)
  })

  it('createProxyApp({ admin }) never forwards an admin path to an origin', async () => {
    const seen: string[] = []
    const config = {
      routes: [{ id: 'all', match: { path: '/*' }, origin: 'http://origin.test' }],
    }
    const governor = createGovernor({ engine: 'ts', config })
    const app = createProxyApp({
      governor,
      fetch: (request) => {
        seen.push(new URL(request.url).pathname)
        return Promise.resolve(new Response('origin'))
      },
      admin: createAdminApp({ token: undefined }),
    })
    expect((await app.request('http://edge/__rheostat/api/config')).status).toBe(404)
    expect((await app.request('http://edge/__rheostat/health')).status).toBe(200)
    expect(await (await app.request('http://edge/other')).text()).toBe('origin')
    expect(seen).toEqual(['/other'])
  })
})

describe('tokenMatches()', () => {
  it('tokenMatches() accepts only the exact token', async () => {
    expect(await tokenMatches('abc', 'abc')).toBe(true)
    for (const presented of [undefined, '', 'ab', 'abcd', 'ABC', 'abc ']) {
      expect(await tokenMatches(presented, 'abc')).toBe(false)
    }
  })
})

describe('readJsonBody()', () => {
  const app = new Hono().post('/', async (c) => {
    const body = await readJsonBody(c, 1024)
    return body.ok ? c.json({ got: body.value }) : body.response
  })
  const post = (body: BodyInit | null, headers: Record<string, string>) =>
    app.request('http://edge/', { method: 'POST', body, headers })

  it('readJsonBody() refuses non-JSON, oversized and malformed bodies with problems', async () => {
    expect((await post('{}', { 'content-type': 'text/plain' })).status).toBe(415)
    const big = JSON.stringify({ pad: 'x'.repeat(2000) })
    expect((await post(big, { 'content-type': 'application/json' })).status).toBe(413)
    // A body longer than it declares is caught while reading.
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 8; i++) controller.enqueue(new TextEncoder().encode('x'.repeat(200)))
        controller.close()
      },
    })
    const sneaky = await app.request('http://edge/', {
      method: 'POST',
      body: stream,
      headers: { 'content-type': 'application/json', 'content-length': '10' },
      // @ts-expect-error -- Node's Request needs duplex for a stream body
      duplex: 'half',
    })
    expect(sneaky.status).toBe(413)
    const broken = await post('{"a":', { 'content-type': 'application/json' })
    expect(broken.status).toBe(400)
    expect((await broken.json()).detail).toMatch(/not valid JSON/)
    const ok = await post('{"a":1}', { 'content-type': 'application/json; charset=utf-8' })
    expect(await ok.json()).toEqual({ got: { a: 1 } })
  })
})

describe('config admin section', () => {
  it('parseConfig() defaults admin.prefix and refuses a prefix with a trailing slash', () => {
    expect(parseConfig({}).admin).toEqual({ prefix: '/__rheostat', maxBodyBytes: 65536 })
    expect(() => parseConfig({ admin: { prefix: '/ops/' } })).toThrow(/admin\.prefix/)
  })
})
