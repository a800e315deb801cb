/**
 * The route → engine-slot table: a map from route keys to slot numbers, the route each slot
 * holds, a generation per slot (tickets of a forgotten route go stale), a pin count per slot
 * (leases keep their route from eviction), a free list and a least-recently-used order over
 * typed arrays. Pure bookkeeping: the governor starts and resets the engine's side of a slot.
 *
 * @module
 */

import type { ResolvedProfile } from './physics-params.ts'

/** What the governor knows of the route a slot holds. */
export interface RouteInfo {
  /** The route's key: its id, or `id@profile` for traffic of another profile. */
  key: string
  route: string
  profile: ResolvedProfile
  defaultClass: number
}

/** No slot: the end of the LRU list, or nothing free. */
export const NO_SLOT = -1

export class SlotTable {
  readonly maxSlots: number
  /** Route key → slot. */
  readonly slots = new Map<string, number>()
  readonly info: (RouteInfo | undefined)[]
  readonly generation: Uint32Array
  readonly pinned: Uint32Array
  // LRU as a doubly linked list over slot numbers; head is most recent.
  readonly prev: Int32Array
  readonly next: Int32Array
  head = NO_SLOT
  tail = NO_SLOT
  private used = 0
  // Slots freed by reconfigure(), taken before growing `used` or evicting.
  private readonly freeSlots: number[] = []

  constructor(maxSlots: number) {
    this.maxSlots = maxSlots
    this.info = new Array(maxSlots)
    this.generation = new Uint32Array(maxSlots)
    this.pinned = new Uint32Array(maxSlots)
    this.prev = new Int32Array(maxSlots).fill(NO_SLOT)
    this.next = new Int32Array(maxSlots).fill(NO_SLOT)
  }

  /** A freed or never used slot; NO_SLOT when every slot holds a route. */
  takeFree(): number {
    if (this.freeSlots.length > 0) return this.freeSlots.pop() as number
    if (this.used < this.maxSlots) return this.used++
    return NO_SLOT
  }

  /**
   * Takes the least recently used slot without an active lease (the LRU one if all hold
   * leases) from its route: the route's key is forgotten and its tickets go stale.
   */
  evict(): number {
    const slot = this.evictionVictim()
    this.unlink(slot)
    this.slots.delete((this.info[slot] as RouteInfo).key)
    // Tickets of the evicted route are now stale: completing them does nothing.
    this.generation[slot] = ((this.generation[slot] as number) + 1) >>> 0
    return slot
  }

  /** Holds `info`'s route in `slot`, as the most recently used. */
  hold(slot: number, info: RouteInfo): void {
    this.info[slot] = info
    this.slots.set(info.key, slot)
    this.pushFront(slot)
  }

  /** Forgets a slot: its tickets go stale and the slot is free for reuse. */
  drop(slot: number): void {
    const info = this.info[slot] as RouteInfo
    this.unlink(slot)
    this.slots.delete(info.key)
    this.info[slot] = undefined
    this.generation[slot] = ((this.generation[slot] as number) + 1) >>> 0
    this.pinned[slot] = 0
    this.freeSlots.push(slot)
  }

  /** Route keys held, most recently used first. */
  keys(): string[] {
    const out: string[] = []
    for (let s = this.head; s !== NO_SLOT; s = this.next[s] as number) {
      out.push((this.info[s] as RouteInfo).key)
    }
    return out
  }

  /** Least recently used slot without an active lease; the LRU one if all hold leases. */
  private evictionVictim(): number {
    for (let s = this.tail; s !== NO_SLOT; s = this.prev[s] as number) {
      if (this.pinned[s] === 0) return s
    }
    return this.tail
  }

  touch(slot: number): void {
    this.unlink(slot)
    this.pushFront(slot)
  }

  private unlink(slot: number): void {
    const p = this.prev[slot] as number
    const n = this.next[slot] as number
    if (p !== NO_SLOT) this.next[p] = n
    else this.head = n
    if (n !== NO_SLOT) this.prev[n] = p
    else this.tail = p
    this.prev[slot] = NO_SLOT
    this.next[slot] = NO_SLOT
  }

  private pushFront(slot: number): void {
    this.prev[slot] = NO_SLOT
    this.next[slot] = this.head
    if (this.head !== NO_SLOT) this.prev[this.head] = slot
    this.head = slot
    if (this.tail === NO_SLOT) this.tail = slot
  }
}
