// Route matching (first match wins) and priority resolution (rules only; clients cannot raise
// their own priority), plus the response helpers shared by the HTTP layer.
import { describe, expect, it } from 'vitest'
import { createGovernor, parseConfig } from '../../src/mod.ts'
import fc from 'fast-check'
import {
  compileRoutes,
  DEFAULT_TIMEOUT_MS,
  defaultPriority,
  pathTester,
} from '../../src/http/routes.ts'
import {
  policyName,
  problemResponse,
  rateLimitHeaders,
  sfString,
  shedResponse,
} from '../../src/http/responses.ts'

const config = parseConfig({
  routes: [
    { id: 'literal', match: { path: '/api/health' }, priority: 'critical', timeoutMs: 500 },
    { id: 'user-get', match: { methods: ['GET', 'HEAD'], path: '/api/users/:id' } },
    { id: 'user-any', match: { path: '/api/users/:id' }, priority: 'low' },
    { id: 'api', match: { path: '/api/*' } },
    { id: 'no-match' },
  ],
  defaults: { priority: 'normal' },
  priorityRules: [
    { header: 'X-Tier', equals: 'batch', priority: 'low' },
    { header: 'x-internal', priority: 'critical' },
    { header: 'x-tier', equals: 'gold', priority: 'critical' },
  ],
})

describe('compileRoutes()', () => {
  it('compileRoutes() matches the first route whose methods and path match', () => {
    const t = compileRoutes(config)
    expect(t.routes.map((r) => r.id)).toEqual(['literal', 'user-get', 'user-any', 'api'])
    expect(t.match('GET', '/api/health')?.id).toBe('literal')
    expect(t.match('GET', '/api/users/42')?.id).toBe('user-get')
    expect(t.match('HEAD', '/api/users/42')?.id).toBe('user-get')
    expect(t.match('DELETE', '/api/users/42')?.id).toBe('user-any')
    expect(t.match('GET', '/api/users/42/orders')?.id).toBe('api')
    expect(t.match('GET', '/api/health/')?.id).toBe('api')
    expect(t.match('GET', '/other')).toBeUndefined()
    expect(t.match('GET', '/API/health')).toBeUndefined()
  })

  it('compileRoutes() fills in timeouts and priorities', () => {
    const t = compileRoutes(config)
    expect(t.routes[0]).toMatchObject({ timeoutMs: 500, priority: 'critical' })
    expect(t.routes[1]).toMatchObject({ timeoutMs: DEFAULT_TIMEOUT_MS, priority: 'normal' })
    expect(t.routes[2]!.priority).toBe('low')
    expect(t.unmatched).toBe('pass')
  })

  it('compileRoutes() priorityOf() applies the first matching rule, case-insensitively', () => {
    const t = compileRoutes(config)
    const h = (init: Record<string, string>) => new Headers(init)
    expect(t.priorityOf('user-get', h({}))).toBe('normal')
    expect(t.priorityOf('user-any', h({}))).toBe('low')
    expect(t.priorityOf('literal', h({ 'x-tier': 'batch' }))).toBe('low')
    expect(t.priorityOf('user-any', h({ 'X-TIER': 'gold' }))).toBe('critical')
    // `equals` is exact; absent `equals` means present.
    expect(t.priorityOf('user-any', h({ 'x-tier': 'Gold' }))).toBe('low')
    expect(t.priorityOf('user-any', h({ 'x-internal': '' }))).toBe('critical')
    // The first rule wins over a later one.
    expect(t.priorityOf('user-get', h({ 'x-tier': 'batch', 'x-internal': '1' }))).toBe('low')
    // Unconfigured route ids get the default.
    expect(t.priorityOf('unknown', h({}))).toBe('normal')
  })

  it('compileRoutes() ignores a spoofed priority header no rule names', () => {
    const t = compileRoutes(config)
    const spoofed = new Headers({ 'x-priority': 'critical', priority: 'u=0', 'x-tier': 'platinum' })
    expect(t.priorityOf('user-any', spoofed)).toBe('low')
  })

  it('pathTester() agrees with URLPattern on literal and prefix-wildcard patterns', () => {
    const segment = fc.constantFrom('api', 'checkout', 'v1', 'a.b', 'x-y', '', 'API', '%20', 'ü')
    const pathArb = fc.array(segment, { maxLength: 4 }).map((parts) => '/' + parts.join('/'))
    fc.assert(
      fc.property(pathArb, pathArb, fc.boolean(), (pattern, path, wildcard) => {
        const source = wildcard ? pattern + (pattern.endsWith('/') ? '*' : '/*') : pattern
        const reference = new URLPattern({ pathname: source })
        const pathname = new URL('http://x' + path).pathname
        expect(pathTester(source)(pathname), `${source} vs ${pathname}`).toBe(
          reference.test({ pathname }),
        )
      }),
      { numRuns: 2000 },
    )
    expect(pathTester('/api/*')('/api')).toBe(false)
    expect(pathTester('/api/*')('/api/')).toBe(true)
    expect(pathTester('/api*')('/apix/y')).toBe(true)
  })

  it('defaultPriority() falls back from the route to defaults to the middle class', () => {
    expect(defaultPriority(config, 'user-any')).toBe('low')
    expect(defaultPriority(config, 'user-get')).toBe('normal')
    const four = parseConfig({ priorities: ['a', 'b', 'c', 'd'] })
    expect(defaultPriority(four, 'x')).toBe('c')
  })
})

describe('responses', () => {
  it('sfString() escapes quotes and backslashes and percent-encodes non-ASCII', () => {
    expect(sfString('plain')).toBe('"plain"')
    expect(sfString('a"b\\c')).toBe('"a\\"b\\\\c"')
    expect(sfString('café\n')).toBe('"caf%C3%A9%0A"')
  })

  it('rateLimitHeaders() writes the draft-11 RateLimit-Policy and RateLimit fields', () => {
    const h = rateLimitHeaders({
      policy: policyName('checkout', 'low'),
      remainingPercent: 37.9,
      windowS: 1,
    })
    expect(h).toEqual({
      'RateLimit-Policy': '"checkout:low";q=100;w=1;rheostat-unit="percent"',
      'RateLimit': '"checkout:low";r=37;t=1',
    })
    expect(rateLimitHeaders({ policy: 'p', remainingPercent: 150, windowS: 2.2 }).RateLimit).toBe(
      '"p";r=100;t=3',
    )
  })

  it('problemResponse() sends application/problem+json with the status', async () => {
    const res = problemResponse({ type: 'urn:x', title: 'T', status: 418, extra: 1 }, {
      'x-more': 'yes',
    })
    expect(res.status).toBe(418)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    expect(res.headers.get('x-more')).toBe('yes')
    expect(await res.json()).toEqual({ type: 'urn:x', title: 'T', status: 418, extra: 1 })
  })

  it('shedResponse() carries Retry-After ≥ 1 and r=0 with t equal to it', async () => {
    const gov = createGovernor({ engine: 'ts', clock: () => 0 })
    const d = { ...gov.admit('r'), allow: false, retryAfterS: 0, ticket: null }
    const res = shedResponse(gov, 'r', 'low', d)
    expect(res.headers.get('retry-after')).toBe('1')
    expect(res.headers.get('RateLimit')).toBe('"r:low";r=0;t=1')
    expect(await res.json()).toMatchObject({ retryAfter: 1, 'violated-policies': ['r:low'] })
  })
})
