// For the Node type-check only (tsconfig.json, whose `src` glob takes in this folder): that
// program has DOM and Node globals and no Workers ones, and loading the ambient Workers types
// there would clash with DOM's. So it gets the one `cloudflare:workers` export this folder uses,
// from the importable form of @cloudflare/workers-types, and an empty `Env`. The real check of
// this folder runs in tests/workerd/tsconfig.json, with the ambient Workers types and the `Env`
// that `wrangler types` generates; that program never includes this file.

declare module 'cloudflare:workers' {
  import { CloudflareWorkersModule } from '@cloudflare/workers-types'
  export import DurableObject = CloudflareWorkersModule.DurableObject
}

// deno-lint-ignore no-empty-interface -- an interface, as `wrangler types` declares it
interface Env {}
