import { asyncScheduler, Observable, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs'
import { InvalidOptionError, withSources } from '../errors.js'
import { integerOption, limitOption } from '../options.js'
import { RECORD_BATCH_OVERHEAD_BYTES, recordSizeBytes, type OutgoingRecord, type RecordBatch } from '../records.js'

/** Options of `batch`. A batch closes at whichever limit it reaches first. */
export interface BatchOptions {
  /** How long the first record of a batch waits for more (Java's `linger.ms`). Default 5. */
  readonly lingerMs?: number
  /** Most records in one batch; `Infinity` for no count limit. Default `Infinity`. */
  readonly maxRecords?: number
  /** Most bytes (uncompressed estimate) in one batch (Java's `batch.size`). Default 16384. A larger record gets a batch of its own. */
  readonly maxBytes?: number
  /** Scheduler for the linger timer; tests pass the TestScheduler's. Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike
}

/**
 * Groups partitioned records into per topic-partition batches by count, bytes and linger time, like the
 * Java producer's accumulator. Order within a partition is kept. On completion, and before an upstream
 * error is passed on, every open batch is emitted, so no record held here is lost.
 *
 * @example
 * import { batch } from '@topicflow/core'
 * partitioned$.pipe(batch({ lingerMs: 5, maxBytes: 1 << 20 }))
 */
export function batch<T>(options: BatchOptions = {}): OperatorFunction<OutgoingRecord<T>, RecordBatch<T>> {
  const lingerMs = integerOption('batch.lingerMs', options.lingerMs, 5, 0)
  const maxRecords = limitOption('batch.maxRecords', options.maxRecords, Number.POSITIVE_INFINITY, 1)
  const maxBytes = integerOption('batch.maxBytes', options.maxBytes, 16384, 1)
  const scheduler = options.scheduler ?? asyncScheduler

  return (source) =>
    new Observable<RecordBatch<T>>((subscriber) => {
      interface OpenBatch {
        readonly topic: string
        readonly partition: number
        readonly records: OutgoingRecord<T>[]
        sizeBytes: number
        readonly createdAt: number
      }
      // Open batches in the order they opened (the sweep and the final flush go by it), and the same
      // batches by topic and partition number, for the per-record lookup without building a key string.
      const open = new Set<OpenBatch>()
      const byTopic = new Map<string, Array<OpenBatch | undefined>>()
      // One timer for all open batches, due when the oldest one's linger ends: a timer per batch cost more
      // than the batch itself at 16 KiB batches (thousands of setInterval/clearInterval pairs a second).
      let sweep: Subscription | undefined
      const runSweep = (): void => {
        sweep = undefined
        const now = scheduler.now()
        let next = Number.POSITIVE_INFINITY
        for (const pending of open) {
          const due = pending.createdAt + lingerMs
          if (due <= now) emit(pending)
          else if (due < next) next = due
        }
        if (next !== Number.POSITIVE_INFINITY) sweep = scheduler.schedule(runSweep, next - now)
      }

      const emit = (pending: OpenBatch): void => {
        open.delete(pending)
        byTopic.get(pending.topic)![pending.partition] = undefined
        subscriber.next({
          topic: pending.topic,
          partition: pending.partition,
          records: pending.records,
          sizeBytes: pending.sizeBytes,
          createdAt: pending.createdAt,
          codec: 'none',
          retry: undefined,
        })
      }
      const flushAll = (): void => {
        for (const pending of open) emit(pending)
      }

      const subscription = source.subscribe({
        next(record) {
          if (record.partition === undefined) {
            subscriber.error(withSources(new InvalidOptionError('record.partition', 'a partition (put partition() before batch())', undefined), [record.source], { topic: record.topic }))
            return
          }
          let slots = byTopic.get(record.topic)
          if (slots === undefined) byTopic.set(record.topic, (slots = []))
          const size = recordSizeBytes(record)
          let pending = slots[record.partition]
          if (pending !== undefined && pending.sizeBytes + size > maxBytes) {
            emit(pending)
            pending = undefined
          }
          if (pending === undefined) {
            pending = {
              topic: record.topic,
              partition: record.partition,
              records: [],
              sizeBytes: RECORD_BATCH_OVERHEAD_BYTES,
              createdAt: scheduler.now(),
            }
            open.add(pending)
            slots[record.partition] = pending
          }
          pending.records.push(record)
          pending.sizeBytes += size
          if (pending.records.length >= maxRecords || pending.sizeBytes >= maxBytes) {
            emit(pending)
          } else if (sweep === undefined) {
            // Batches open in time order, so a sweep already due covers this one's deadline or an earlier one.
            sweep = scheduler.schedule(runSweep, pending.createdAt + lingerMs - scheduler.now())
          }
        },
        error(error) {
          flushAll()
          subscriber.error(error)
        },
        complete() {
          flushAll()
          subscriber.complete()
        },
      })
      return () => {
        subscription.unsubscribe()
        sweep?.unsubscribe()
        open.clear()
        byTopic.clear()
      }
    })
}
