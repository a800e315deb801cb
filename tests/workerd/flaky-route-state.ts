// A test-only variant of RouteStateDO whose every RPC method throws on demand: a store failure
// as the Durable Object store really meets one (an exception thrown inside the object and
// delivered over RPC), not a stand-in for the store client.
import { RouteStateDO } from '../../src/store/durable-object/route-state.ts'

export class FlakyRouteStateDO extends RouteStateDO {
  // On the heap: the tests that flip it run for well under the ~10 s before an idle object is
  // evicted (which would clear it).
  private failure: string | null = null

  /** Makes every other method throw an Error with `message`, or stop throwing with null. */
  setFailure(message: string | null): void {
    this.failure = message
  }

  private fail(): void {
    if (this.failure !== null) throw new Error(this.failure)
  }

  override exchange(...args: Parameters<RouteStateDO['exchange']>) {
    this.fail()
    return super.exchange(...args)
  }

  override acquireLease(...args: Parameters<RouteStateDO['acquireLease']>) {
    this.fail()
    return super.acquireLease(...args)
  }

  override heartbeatLease(...args: Parameters<RouteStateDO['heartbeatLease']>) {
    this.fail()
    return super.heartbeatLease(...args)
  }

  override releaseLease(...args: Parameters<RouteStateDO['releaseLease']>) {
    this.fail()
    return super.releaseLease(...args)
  }

  override snapshot(...args: Parameters<RouteStateDO['snapshot']>) {
    this.fail()
    return super.snapshot(...args)
  }
}
