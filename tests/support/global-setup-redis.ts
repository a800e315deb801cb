// Vitest globalSetup of the node project: one throw-away redis-server and one Upstash REST front
// for every test file, handed to the tests through `inject('upstash')`. Tests isolate themselves
// with random key prefixes (STYLE #14).
import type { TestProject } from 'vitest/node'
import { startRedisServer } from './redis-server.ts'
import { startUpstashFront } from './upstash-front.ts'

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

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const redis = await startRedisServer()
  const token = crypto.randomUUID()
  let front
  try {
    front = await startUpstashFront({ redisUrl: redis.url, token })
  } catch (error) {
    await redis.stop()
    throw error
  }
  project.provide('upstash', { redisUrl: redis.url, url: front.url, token })
  return async () => {
    await front.close()
    await redis.stop()
  }
}
