import { fileURLToPath } from 'node:url'
import { cloudflareTest } from '@cloudflare/vitest-plugin'
import { defineConfig } from 'vitest/config'

// Keep wrangler/miniflare from reaching Cloudflare (cf object, metrics) on offline machines.
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= 'false'
process.env.WRANGLER_SEND_METRICS ??= 'false'

const wranglerConfig = fileURLToPath(new URL('./tests/workerd/wrangler.toml', import.meta.url))

export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          environment: 'node',
          include: ['tests/unit/**/*.test.ts'],
          // A throw-away redis-server behind an Upstash REST front, for the upstash store tests.
          globalSetup: ['tests/support/global-setup-redis.ts'],
          // Tests that spawn processes (the CLI, workerd, redis) wait for conditions; this is a
          // ceiling for a loaded machine, not a timing (vitest's 5 s default tripped at load 9).
          testTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          environment: 'node',
          include: ['tests/e2e/**/*.test.ts'],
          // Real processes (wrangler dev, Chromium): slow to start on a busy machine. Tests wait
          // for conditions; these are ceilings, not timings.
          testTimeout: 300_000,
          hookTimeout: 180_000,
        },
      },
      {
        extends: true,
        plugins: [cloudflareTest({ wrangler: { configPath: wranglerConfig } })],
        test: {
          name: 'workerd',
          include: ['tests/workerd/**/*.test.ts'],
          // Demo origins the Worker entry's end-to-end tests reach over loopback, the shipped
          // wrangler.toml files as wrangler reads them, and a redis-server behind an Upstash REST
          // front for @upstash/redis inside workerd.
          globalSetup: ['tests/workerd/global-setup.ts', 'tests/support/global-setup-redis.ts'],
        },
      },
    ],
  },
})
