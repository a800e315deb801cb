// What `inject('upstash')` gives a test: the redis-server and Upstash REST front that
// tests/support/global-setup-redis.ts started. Its own file so that workerd tests can import the
// declaration without the Node-only setup code.

/** Where the tests' Redis and its Upstash front are. */
export interface UpstashTestTarget {
  /** `redis://127.0.0.1:PORT`, for a test's own front. */
  redisUrl: string
  /** `http://127.0.0.1:PORT`, the shared front. */
  url: string
  token: string
}

declare module 'vitest' {
  export interface ProvidedContext {
    upstash: UpstashTestTarget
  }
}
