import type { RecordBatch } from '../records.js'
import { merge } from './batches.js'

/**
 * One topic-partition's way to the broker: at most one batch in flight (so a retry cannot overtake), and
 * the batches that queue behind it, which go out together as one once it is answered.
 */
export class PartitionLane<T> {
  /** Batches accepted and waiting for the one in flight, in order. */
  readonly queue: RecordBatch<T>[] = []
  /** The batch in flight, if any. */
  inFlight: RecordBatch<T> | undefined = undefined

  /** The next batch to send: what queued, merged up to `maxRequestBytes` (batches of one codec only); undefined while one is in flight. */
  takeNext(maxRequestBytes: number): RecordBatch<T> | undefined {
    if (this.inFlight !== undefined) return undefined
    let next = this.queue.shift()
    if (next === undefined) return undefined
    while (this.queue.length > 0) {
      const following = this.queue[0]!
      if (following.codec !== next.codec || next.sizeBytes + following.sizeBytes > maxRequestBytes) break
      this.queue.shift()
      next = merge(next, following)
    }
    this.inFlight = next
    return next
  }

  /** Empties the queue, returning what was in it. */
  drain(): RecordBatch<T>[] {
    return this.queue.splice(0, this.queue.length)
  }
}
