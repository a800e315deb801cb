/**
 * The simulator's event queue: a binary min-heap over parallel typed arrays, ordered by time and
 * then by insertion, so events at the same virtual time run in the order they were scheduled and
 * a run never depends on how the heap happens to break ties.
 *
 * @module
 */

/** A min-heap of (time, kind, id) events. Pop writes the event into `time`, `kind` and `id`. */
export class EventQueue {
  /** Number of pending events. */
  size = 0
  /** The last popped event. */
  time = 0
  kind = 0
  id = 0
  private times: Float64Array
  private seqs: Float64Array
  private data: Int32Array
  private seq = 0

  constructor(capacity = 1024) {
    this.times = new Float64Array(capacity)
    this.seqs = new Float64Array(capacity)
    this.data = new Int32Array(capacity)
  }

  /** Time of the next event, Infinity when empty. */
  peekTime(): number {
    return this.size === 0 ? Infinity : (this.times[0] as number)
  }

  /**
   * Schedules an event.
   *
   * @param time Virtual ms.
   * @param kind 0..15.
   * @param id A non-negative integer below 2²⁷.
   */
  push(time: number, kind: number, id: number): void {
    if (this.size === this.times.length) this.grow()
    const times = this.times
    const seqs = this.seqs
    const data = this.data
    const seq = this.seq++
    const packed = (id << 4) | kind
    let i = this.size++
    while (i > 0) {
      const parent = (i - 1) >> 1
      const pt = times[parent] as number
      if (pt < time || (pt === time && (seqs[parent] as number) < seq)) break
      times[i] = pt
      seqs[i] = seqs[parent] as number
      data[i] = data[parent] as number
      i = parent
    }
    times[i] = time
    seqs[i] = seq
    data[i] = packed
  }

  /** Removes the next event into `time`, `kind`, `id`; false when empty. */
  pop(): boolean {
    if (this.size === 0) return false
    const times = this.times
    const seqs = this.seqs
    const data = this.data
    this.time = times[0] as number
    const top = data[0] as number
    this.kind = top & 15
    this.id = top >>> 4
    const n = --this.size
    if (n === 0) return true
    const time = times[n] as number
    const seq = seqs[n] as number
    const packed = data[n] as number
    let i = 0
    const half = n >> 1
    while (i < half) {
      let child = 2 * i + 1
      let ct = times[child] as number
      let cs = seqs[child] as number
      const right = child + 1
      if (right < n) {
        const rt = times[right] as number
        const rs = seqs[right] as number
        if (rt < ct || (rt === ct && rs < cs)) {
          child = right
          ct = rt
          cs = rs
        }
      }
      if (time < ct || (time === ct && seq < cs)) break
      times[i] = ct
      seqs[i] = cs
      data[i] = data[child] as number
      i = child
    }
    times[i] = time
    seqs[i] = seq
    data[i] = packed
    return true
  }

  private grow(): void {
    const capacity = this.times.length * 2
    const times = new Float64Array(capacity)
    const seqs = new Float64Array(capacity)
    const data = new Int32Array(capacity)
    times.set(this.times)
    seqs.set(this.seqs)
    data.set(this.data)
    this.times = times
    this.seqs = seqs
    this.data = data
  }
}
