// Vitest globalSetup of the node and workerd projects: one throw-away redis-server and one Upstash
// REST front for every test file, handed to the tests through `inject('upstash')`. Tests isolate
// themselves with random key prefixes (STYLE #14).
import type { TestProject } from 'vitest/node'
import { startRedisServer } from './redis-server.ts'
import { startUpstashFront } from './upstash-front.ts'
import type { UpstashTestTarget } from './upstash-target.ts'

export type { UpstashTestTarget }

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
