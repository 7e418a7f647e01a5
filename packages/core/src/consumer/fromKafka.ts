import { Observable } from 'rxjs'
import type { FetchedRecord } from '../consumerTransport.js'
import { DeserializationError, InvalidOptionError } from '../errors.js'
import { functionOption } from '../options.js'
import { deserializerOf, type DeserializerInput } from '../serializers.js'
import type { PullSourceHandle } from '../sink/budget.js'
import { Consumed, type ConsumedRecord } from './consumedRecord.js'
import { KafkaConsumer } from './kafkaConsumer.js'
import type { PartitionLedger } from './partitionLedger.js'

/** Options of `fromKafka`. */
export interface FromKafkaOptions<V, K> {
  /** Reads each value: a deserializer, or a serde such as `json<Order>()`. Default: the bytes as fetched (`Buffer | null`). */
  readonly value?: DeserializerInput<V>
  /** Reads each key, the same way. Default: the bytes as fetched (`Buffer | null`). */
  readonly key?: DeserializerInput<K>
  /**
   * The sink the records end in (anything with `attachPullSource`, a `KafkaSink`): records are fetched and
   * emitted only while it has room, so memory stays flat however far behind the group is. Default none:
   * records are emitted as fast as they are fetched.
   */
  readonly sink?: { attachPullSource(): PullSourceHandle }
  /**
   * A record whose key or value cannot be read: `'fail'` errors the stream with the `DeserializationError`
   * (default); a function takes it and the stream goes on. The record's offset waits for the promise the
   * function returns, if any (a dead letter being written, `deadLetterQueue(…).deserializationError`), so it
   * is committed only once its dead letter is acknowledged; a rejected promise errors the stream.
   */
  readonly onError?: 'fail' | ((error: DeserializationError) => void | Promise<unknown>)
}

// Emitting in a tight loop would starve timers (linger, heartbeats) and sockets (acks): give them a turn this often.
const RECORDS_PER_TURN = 256

/**
 * An Observable of the records `consumer` reads from its group's partitions, in offset order per
 * partition, each a `ConsumedRecord` with its key and value deserialized. It joins the group on subscribe,
 * fetches only while `sink` has room, skips records of partitions revoked since they were fetched, and
 * completes when the consumer closes or the sink asks its pull sources to stop (graceful shutdown). Records
 * made from a consumed record by `serializeFrom` carry it as their `source`, and `commitOffsets(consumer)`
 * after the sink commits its offset once they are delivered.
 *
 * @example
 * const consumer = new KafkaConsumer(transport, { groupId: 'enrich', topics: ['orders'], autoOffsetReset: 'earliest' })
 * const sink = new KafkaSink(transport)
 * fromKafka(consumer, { value: json<Order>(), sink })
 *   .pipe(serializeFrom('orders-enriched', json(), (order) => ({ ...order.value, seen: true })), partition(sink), batch(), toKafka(sink), commitOffsets(consumer))
 *   .subscribe({ complete: () => console.log(consumer.stats) })
 */
export function fromKafka<V = Buffer | null, K = Buffer | null>(consumer: KafkaConsumer, options: FromKafkaOptions<V, K> = {}): Observable<ConsumedRecord<V, K>> {
  if (!(consumer instanceof KafkaConsumer)) throw new InvalidOptionError('fromKafka.consumer', 'a KafkaConsumer', consumer)
  const readValue = options.value === undefined ? undefined : deserializerOf(functionOption<DeserializerInput<V>>('fromKafka.value', options.value))
  const readKey = options.key === undefined ? undefined : deserializerOf(functionOption<DeserializerInput<K>>('fromKafka.key', options.key))
  const onError = options.onError ?? 'fail'
  if (onError !== 'fail' && typeof onError !== 'function') throw new InvalidOptionError('fromKafka.onError', '"fail" or a function', onError)
  if (options.sink !== undefined && typeof options.sink?.attachPullSource !== 'function') throw new InvalidOptionError('fromKafka.sink', 'a KafkaSink', options.sink)

  return new Observable<ConsumedRecord<V, K>>((subscriber) => {
    const attached = options.sink?.attachPullSource()
    let stopped = false
    const shouldStop = (): boolean => stopped || consumer.closing || attached?.stopRequested === true

    /**
     * Reads one record's key and value: synchronously unless a deserializer returned a promise. A record that
     * cannot be read goes to the error policy and yields undefined.
     */
    const read = (fetched: FetchedRecord, ledger: PartitionLedger): Consumed<V, K> | undefined | Promise<Consumed<V, K> | undefined> => {
      let part: 'key' | 'value' = 'key'
      try {
        const key = readKey === undefined ? (fetched.key as K) : readKey(fetched.key)
        part = 'value'
        const value = readValue === undefined ? (fetched.value as V) : readValue(fetched.value)
        if (!isPromise(key) && !isPromise(value)) return new Consumed(fetched, key, value, ledger)
        return (async () => {
          part = 'key'
          const awaitedKey = await key
          part = 'value'
          return new Consumed(fetched, awaitedKey, await value, ledger)
        })().catch((cause: unknown) => unreadable(part, fetched, ledger, cause))
      } catch (cause) {
        return unreadable(part, fetched, ledger, cause)
      }
    }

    /** The error policy for a record that cannot be read; the record is tracked, not emitted, and its offset waits for the handler. */
    const unreadable = (part: 'key' | 'value', fetched: FetchedRecord, ledger: PartitionLedger, cause: unknown): undefined => {
      const error = new DeserializationError(part, fetched, cause)
      if (onError === 'fail') throw error
      const unread = new Consumed<V, K>(fetched, undefined as K, undefined as V, ledger)
      ledger.track(unread)
      unread.outputs = 1
      consumer.seal(unread)
      Promise.resolve()
        .then(() => onError(error))
        .then(
          () => consumer.settle(unread),
          (handlerError: unknown) => {
            if (!stopped) subscriber.error(handlerError)
          },
        )
      return undefined
    }

    const pull = async (): Promise<void> => {
      try {
        let emitted = 0
        while (!shouldStop()) {
          if (attached !== undefined && !attached.hasRoom()) {
            await attached.whenRoom()
            continue
          }
          const records = await consumer.poll()
          let ledger: PartitionLedger | undefined
          for (const fetched of records) {
            if (shouldStop()) break
            // Records come grouped by partition: look the ledger up when the partition changes, and again
            // after every pause (a rebalance may have revoked it meanwhile).
            if (ledger === undefined || ledger.partition !== fetched.partition || ledger.topic !== fetched.topic || ledger.retired) {
              ledger = consumer.ledgerFor(fetched.topic, fetched.partition)
            }
            if (ledger === undefined) continue
            let input = read(fetched, ledger)
            if (isPromise(input)) {
              input = await input
              if (ledger.retired || shouldStop()) continue
            }
            if (input === undefined) continue
            ledger.track(input)
            subscriber.next(input)
            consumer.seal(input)
            if (++emitted % RECORDS_PER_TURN === 0) {
              await new Promise<void>((resolve) => setImmediate(resolve))
              if (attached !== undefined && !attached.hasRoom()) await attached.whenRoom()
              ledger = undefined
            }
          }
        }
        if (!stopped) subscriber.complete()
      } catch (error) {
        if (!stopped) subscriber.error(error)
      } finally {
        attached?.detach()
      }
    }
    void pull()
    return () => {
      stopped = true
      attached?.detach()
    }
  })
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as Partial<Promise<T>> | null)?.then === 'function'
}
