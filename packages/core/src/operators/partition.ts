import { asyncScheduler, Observable, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs'
import { InvalidOptionError, withSources } from '../errors.js'
import { functionOption, integerOption } from '../options.js'
import { murmur2Partitioner, type Partitioner } from '../partitioners.js'
import type { OutgoingRecord } from '../records.js'
import type { Transport } from '../transport.js'

/**
 * Where partition counts come from: a `KafkaSink` (which then pauses its pull sources while records wait
 * for a topic's first metadata), a `Transport`, or anything with the same method.
 */
export type PartitionMetadata = Pick<Transport, 'partitionCount'>

/** Options of `partition`. */
export interface PartitionOptions {
  /** Picks the partition. Default: `murmur2Partitioner()` (Java's default: murmur2 of the key, sticky for null keys). */
  readonly partitioner?: Partitioner
  /** Partition counts older than this are refreshed in the background (Java's `metadata.max.age.ms`). Default 300000. */
  readonly metadataMaxAgeMs?: number
  /** Scheduler of the metadata's expiry (a timer per topic); tests pass a virtual one. Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike
}

/**
 * Sets each record's partition from the topic's partition count (cluster metadata, cached and refreshed)
 * and the partitioner. Records that already carry a partition keep it if it exists. Records wait, in
 * order, while a topic's first metadata is fetched; if it cannot be had within the sink's `maxBlockMs`
 * (Java's `max.block.ms`; 60 s when given a bare transport) the stream errors with `UnknownTopicError` or `KafkaConnectionError` carrying the waiting events. A partitioner
 * that throws ends the stream with its error, naming that record's event and those waiting behind it
 * (`batch` downstream flushes what it holds first, so the sink settles those).
 *
 * @example
 * import { kafkajsTransport } from '@topicflow/kafkajs'
 * const transport = kafkajsTransport({ brokers: ['127.0.0.1:9092'] })
 * records$.pipe(partition(transport))   // murmur2 of the key, like Java
 */
export function partition<T>(metadata: PartitionMetadata, options: PartitionOptions = {}): OperatorFunction<OutgoingRecord<T>, OutgoingRecord<T>> {
  if (typeof metadata?.partitionCount !== 'function') {
    throw new InvalidOptionError('partition.metadata', 'a Transport (an object with partitionCount)', metadata)
  }
  const partitioner = options.partitioner === undefined ? murmur2Partitioner() : functionOption<Partitioner>('partition.partitioner', options.partitioner)
  const metadataMaxAgeMs = integerOption('partition.metadataMaxAgeMs', options.metadataMaxAgeMs, 300_000, 0)
  if ((options as { maxBlockMs?: unknown }).maxBlockMs !== undefined) {
    throw new InvalidOptionError('partition.maxBlockMs', "no value: max.block.ms belongs to the sink (partition(sink) waits its maxBlockMs)", (options as { maxBlockMs?: unknown }).maxBlockMs)
  }
  const scheduler = options.scheduler ?? asyncScheduler

  return (source) =>
    new Observable<OutgoingRecord<T>>((subscriber) => {
      // A count turns stale on a timer, not by reading the clock per record: Date.now() per record cost
      // ~4% of the chain's CPU on Node 26 (measured with --cpu-prof).
      const counts = new Map<string, { count: number; stale: boolean; expiry: Subscription }>()
      const fetching = new Set<string>()
      // Records behind a topic whose metadata is pending; later records queue behind them to keep order.
      let waiting: OutgoingRecord<T>[] = []
      let upstreamDone = false
      let upstreamError: { error: unknown } | undefined
      let closed = false

      const assign = (record: OutgoingRecord<T>, count: number): void => {
        let chosen = record.partition
        if (chosen === undefined) {
          try {
            chosen = partitioner(record, count)
          } catch (error) {
            throw withSources(error, [record.source], { topic: record.topic })
          }
        } else if (!Number.isInteger(chosen) || chosen < 0 || chosen >= count) {
          throw withSources(new InvalidOptionError('record.partition', `an integer from 0 to ${count - 1} (topic ${record.topic})`, chosen), [record.source])
        }
        subscriber.next(chosen === record.partition ? record : { ...record, partition: chosen })
      }

      const drain = (): void => {
        let i = 0
        try {
          for (; i < waiting.length; i++) {
            const record = waiting[i]!
            const known = counts.get(record.topic)
            if (known === undefined) break
            assign(record, known.count)
          }
        } catch (error) {
          // The stream ends here: the records still waiting behind this one are named with it.
          subscriber.error(withSources(error, waiting.slice(i + 1).map((r) => r.source)))
          return
        } finally {
          waiting = i === waiting.length ? [] : waiting.slice(i)
        }
        if (waiting.length > 0) return
        if (upstreamError !== undefined) subscriber.error(upstreamError.error)
        else if (upstreamDone) subscriber.complete()
      }

      const fetch = (topic: string): void => {
        if (fetching.has(topic)) return
        fetching.add(topic)
        // Only a first lookup holds records; a refresh goes on in the background without pausing sources.
        const lookup = metadata.partitionCount(topic, { refresh: counts.has(topic) })
        lookup.then(
          (count) => {
            fetching.delete(topic)
            if (closed) return
            counts.get(topic)?.expiry.unsubscribe()
            const known = { count, stale: false, expiry: scheduler.schedule(() => void (known.stale = true), metadataMaxAgeMs) }
            counts.set(topic, known)
            drain()
          },
          (error: unknown) => {
            fetching.delete(topic)
            if (closed) return
            // A failed refresh keeps the count we have; a failed first lookup stops the stream.
            if (counts.has(topic)) return
            // Every waiting record ends with the stream, those of other topics queued behind included.
            subscriber.error(withSources(error, waiting.map((r) => r.source), { topic }))
          },
        )
      }

      const subscription = source.subscribe({
        next(record) {
          const known = counts.get(record.topic)
          if (known?.stale === true) fetch(record.topic)
          if (known !== undefined && waiting.length === 0) {
            try {
              assign(record, known.count)
            } catch (error) {
              subscriber.error(error)
            }
            return
          }
          waiting.push(record)
          if (known === undefined) fetch(record.topic)
        },
        error(error) {
          upstreamError = { error }
          if (waiting.length === 0) subscriber.error(error)
        },
        complete() {
          upstreamDone = true
          if (waiting.length === 0) subscriber.complete()
        },
      })
      return () => {
        closed = true
        waiting = []
        for (const known of counts.values()) known.expiry.unsubscribe()
        subscription.unsubscribe()
      }
    })
}
