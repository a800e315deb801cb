// The example's Worker is Rheostat's own entry, unchanged: everything that is yours lives in
// wrangler.toml (the config, the bindings). Copy this folder to start a deployment of your own.
export { ConfigDO, default, RouteStateDO } from '../../src/adapter/cloudflare-workers/worker.ts'
