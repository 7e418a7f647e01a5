import { Observable, type OperatorFunction } from 'rxjs'
import { InvalidOptionError, SerializationError } from '../errors.js'
import { functionOption } from '../options.js'
import { Consumed, type ConsumedRecord } from '../consumer/consumedRecord.js'
import { NO_HEADERS, recordHeaders, type HeadersInput, type OutgoingRecord } from '../records.js'
import type { Serializer } from '../serializers.js'
import { isLegalTopicName } from './serialize.js'

/** Several outputs of one consumed record, as `serializeFrom`'s project returns them (made by `many`): a class, so that no output value is mistaken for it. */
export class ManyOutputs<E> {
  constructor(readonly outputs: readonly E[]) {}
}

/** Wraps the outputs of one consumed record when there are several (or none, `many([])`). */
export function many<E>(outputs: readonly E[]): ManyOutputs<E> {
  return new ManyOutputs(outputs)
}

/** Options of `serializeFrom`. */
export interface SerializeFromOptions<V, K, E> {
  /** The output's key (a string, bytes, or null/undefined for none). Default: the consumed record's key bytes, as read. */
  readonly key?: (output: E, input: ConsumedRecord<V, K>) => string | Uint8Array | null | undefined
  /** The output's headers. Default none. */
  readonly headers?: HeadersInput | ((output: E, input: ConsumedRecord<V, K>) => HeadersInput)
  /** The output's CreateTime. Default: the consumed record's timestamp, as Kafka Streams forwards it. */
  readonly timestamp?: (output: E, input: ConsumedRecord<V, K>) => number
  /**
   * A record whose output cannot be made or serialized: `'fail'` errors the stream (default); a function
   * takes the `SerializationError` (its event is the consumed record) and the stream goes on. If the
   * function returns a promise (a dead letter being written), the consumed record's offset waits for it.
   */
  readonly onError?: 'fail' | ((error: SerializationError) => void | Promise<unknown>)
}

/**
 * The records made from each consumed record of `fromKafka`: `project` returns its output (or `undefined`
 * for none, or `many([...])` for several), each serialized into a record for `topic` whose `source` is the
 * consumed record. They are counted against it, so `commitOffsets` commits its offset only once all of them
 * are delivered or dead-lettered. Key and timestamp default to the consumed record's.
 *
 * @example
 * fromKafka(consumer, { value: json<Order>(), sink })
 *   .pipe(
 *     serializeFrom('orders-enriched', json(), (order) => ({ ...order.value, total: order.value.qty * order.value.price })),
 *     partition(sink), batch(), toKafka(sink), commitOffsets(consumer),
 *   )
 */
export function serializeFrom<V, K, E>(
  topic: string,
  serializer: Serializer<E>,
  project: (input: ConsumedRecord<V, K>) => E | ManyOutputs<E> | undefined,
  options: SerializeFromOptions<V, K, E> = {},
): OperatorFunction<ConsumedRecord<V, K>, OutgoingRecord<ConsumedRecord<V, K>>> {
  if (!isLegalTopicName(topic)) throw new InvalidOptionError('serializeFrom.topic', 'a legal Kafka topic name', topic)
  functionOption('serializeFrom.serializer', serializer)
  functionOption('serializeFrom.project', project)
  const keyOf = options.key === undefined ? undefined : functionOption<NonNullable<typeof options.key>>('serializeFrom.key', options.key)
  const timestampOf = options.timestamp === undefined ? undefined : functionOption<NonNullable<typeof options.timestamp>>('serializeFrom.timestamp', options.timestamp)
  const headersOption = options.headers
  const fixedHeaders = headersOption === undefined ? NO_HEADERS : typeof headersOption === 'function' ? undefined : recordHeaders(headersOption)
  const onError = options.onError ?? 'fail'
  if (onError !== 'fail' && typeof onError !== 'function') throw new InvalidOptionError('serializeFrom.onError', '"fail" or a function', onError)

  return (source) =>
    new Observable<OutgoingRecord<ConsumedRecord<V, K>>>((subscriber) => {
      const fail = (error: SerializationError, input: Consumed<V, K>): void => {
        if (onError === 'fail') return subscriber.error(error)
        // The handler's work is one more output of the input: its offset waits for it.
        input.outputs++
        Promise.resolve()
          .then(() => onError(error))
          .then(
            () => input.ledger.owner.settle(input),
            (handlerError: unknown) => subscriber.error(handlerError),
          )
      }
      const emit = (output: E, input: Consumed<V, K>): boolean => {
        let record: OutgoingRecord<ConsumedRecord<V, K>>
        try {
          const key = keyOf === undefined ? input.raw.key : keyBytes(keyOf(output, input))
          const headers = fixedHeaders ?? recordHeaders((headersOption as (output: E, input: ConsumedRecord<V, K>) => HeadersInput)(output, input))
          record = { topic, key, value: serializer(output), headers, timestamp: timestampOf === undefined ? input.timestamp : timestampOf(output, input), source: input }
        } catch (cause) {
          fail(new SerializationError('value', input, cause), input)
          return !subscriber.closed
        }
        input.outputs++
        subscriber.next(record)
        return true
      }
      return source.subscribe({
        next(input) {
          if (!(input instanceof Consumed)) {
            subscriber.error(new InvalidOptionError('serializeFrom input', 'records from fromKafka (ConsumedRecord)', input))
            return
          }
          let outputs: E | ManyOutputs<E> | undefined
          try {
            outputs = project(input)
          } catch (cause) {
            fail(new SerializationError('value', input, cause), input)
            return
          }
          if (outputs === undefined) return
          if (outputs instanceof ManyOutputs) {
            for (const output of outputs.outputs as readonly E[]) if (!emit(output, input)) return
          } else emit(outputs, input)
        },
        error: (error) => subscriber.error(error),
        complete: () => subscriber.complete(),
      })
    })
}

function keyBytes(key: string | Uint8Array | null | undefined): Buffer | null {
  if (key === null || key === undefined) return null
  if (typeof key === 'string') return Buffer.from(key, 'utf8')
  if (Buffer.isBuffer(key)) return key
  if (key instanceof Uint8Array) return Buffer.from(key.buffer, key.byteOffset, key.byteLength)
  throw new TypeError(`a key must be a string, bytes, null or undefined, got ${typeof key}`)
}
