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
        timer: Subscription | undefined
      }
      const open = new Map<string, OpenBatch>()

      const emit = (id: string, pending: OpenBatch): void => {
        open.delete(id)
        pending.timer?.unsubscribe()
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
        for (const [id, pending] of open) emit(id, pending)
      }

      const subscription = source.subscribe({
        next(record) {
          if (record.partition === undefined) {
            subscriber.error(withSources(new InvalidOptionError('record.partition', 'a partition (put partition() before batch())', undefined), [record.source], { topic: record.topic }))
            return
          }
          const id = `${record.topic}\u0000${record.partition}`
          const size = recordSizeBytes(record)
          let pending = open.get(id)
          if (pending !== undefined && pending.sizeBytes + size > maxBytes) {
            emit(id, pending)
            pending = undefined
          }
          if (pending === undefined) {
            const created: OpenBatch = {
              topic: record.topic,
              partition: record.partition,
              records: [],
              sizeBytes: RECORD_BATCH_OVERHEAD_BYTES,
              createdAt: scheduler.now(),
              timer: undefined,
            }
            open.set(id, created)
            pending = created
          }
          pending.records.push(record)
          pending.sizeBytes += size
          if (pending.records.length >= maxRecords || pending.sizeBytes >= maxBytes) {
            emit(id, pending)
          } else if (pending.timer === undefined) {
            const lingering = pending
            lingering.timer = scheduler.schedule(() => {
              if (open.get(id) === lingering) emit(id, lingering)
            }, lingerMs)
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
        for (const pending of open.values()) pending.timer?.unsubscribe()
        open.clear()
      }
    })
}
