import { Observable, type OperatorFunction } from 'rxjs'
import { InvalidOptionError, SerializationError } from '../errors.js'
import { functionOption } from '../options.js'
import { NO_HEADERS, recordHeaders, type HeadersInput, type OutgoingRecord, type RecordHeaders } from '../records.js'
import type { Serializer } from '../serializers.js'
import { TurnClock } from '../turnClock.js'

/** Options of `serialize`. */
export interface SerializeOptions<T> {
  /**
   * Headers for every record, or computed from the event (Java's `ProducerRecord.headers()`): a list of
   * `[name, value]` pairs, written in its order with its repeats, or, for convenience, an object whose
   * array values repeat a name (in JavaScript's key order: integer-like names first, a name's values
   * together). Values are strings (UTF-8) or Buffers.
   */
  readonly headers?: HeadersInput | ((event: T) => HeadersInput)
  /**
   * The record's CreateTime (epoch ms) from the event. Default: the time the event is taken, from a clock
   * read once per 64 events of one synchronous burst at most (reading it per event cost a tenth of a
   * record's CPU); pass `() => Date.now()` for a reading per event.
   */
  readonly timestamp?: (event: T) => number
  /** An event that cannot be serialized: `'fail'` errors the stream (default), or a handler takes the error and the stream goes on. */
  readonly onError?: SerializationErrorPolicy
}

/**
 * What happens to an event that cannot be serialized: `'fail'` errors the stream with the
 * `SerializationError` (which carries the event); a function receives it and the stream goes on, so the
 * caller can count, log or dead-letter it (nothing is dropped silently).
 */
export type SerializationErrorPolicy = 'fail' | ((error: SerializationError) => void)

/** Checks a policy option and returns the function that applies it to one error. */
export function serializationErrorHandler(option: string, policy: SerializationErrorPolicy | undefined): ((error: SerializationError, fail: (error: unknown) => void) => void) {
  if (policy === undefined || policy === 'fail') return (error, fail) => fail(error)
  const handle = functionOption<(error: SerializationError) => void>(option, policy)
  return (error) => handle(error)
}

const LEGAL_TOPIC = /^[a-zA-Z0-9._-]{1,249}$/

/** Kafka's own rule for topic names (`Topic.validate`). */
export function isLegalTopicName(topic: unknown): topic is string {
  return typeof topic === 'string' && LEGAL_TOPIC.test(topic) && topic !== '.' && topic !== '..'
}

/**
 * Turns each event into an `OutgoingRecord` whose `value` is the serializer's bytes and whose `source` is
 * the event. The key is null until `key` sets it. An event that cannot be serialized (the value, the
 * headers or its topic) errors the stream with a `SerializationError` carrying the event; records
 * already made still go downstream first, so nothing before it is lost.
 *
 * @example
 * import { of } from 'rxjs'
 * import { serialize, json } from '@topicflow/core'
 * of({ id: 1 }).pipe(serialize('orders', json())).subscribe((r) => console.log(r.value?.toString()))
 * // {"id":1}
 * of({ id: 2 }).pipe(serialize('orders', json(), { headers: (o) => [['seq', String(o.id)], ['tag', 'a'], ['tag', 'b']] }))
 *   .subscribe((r) => console.log(r.headers.map(([name, value]) => `${name}:${value}`).join(',')))
 * // seq:2,tag:a,tag:b
 */
export function serialize<T>(
  topic: string | ((event: T) => string),
  serializer: Serializer<T>,
  options: SerializeOptions<T> = {},
): OperatorFunction<T, OutgoingRecord<T>> {
  if (typeof topic !== 'function' && !isLegalTopicName(topic)) {
    throw new InvalidOptionError('serialize.topic', 'a legal Kafka topic name ([a-zA-Z0-9._-], 1-249 chars)', topic)
  }
  functionOption('serialize.serializer', serializer)
  const { headers, timestamp } = options
  if (timestamp !== undefined) functionOption('serialize.timestamp', timestamp)
  const onError = serializationErrorHandler('serialize.onError', options.onError)
  const fixedHeaders = headers === undefined || typeof headers === 'function' ? NO_HEADERS : headersOption(headers)

  return (source) =>
    new Observable<OutgoingRecord<T>>((subscriber) => {
      const checkedTopics = new Set<string>()
      const clock = new TurnClock()
      const topicOf = (event: T): string => {
        if (typeof topic === 'string') return topic
        const name = topic(event)
        if (!checkedTopics.has(name)) {
          if (!isLegalTopicName(name)) throw new TypeError(`illegal topic name ${JSON.stringify(name)}`)
          checkedTopics.add(name)
        }
        return name
      }
      return source.subscribe({
        next(event) {
          let part: SerializationError['part'] = 'topic'
          let record: OutgoingRecord<T>
          try {
            const recordTopic = topicOf(event)
            part = 'headers'
            const eventHeaders = typeof headers === 'function' ? recordHeaders(headers(event)) : fixedHeaders
            const time = timestamp === undefined ? clock.now() : timestamp(event)
            part = 'value'
            const value = serializer(event)
            if (value !== null && !Buffer.isBuffer(value)) throw new TypeError('the serializer must return a Buffer or null')
            // Every field present from the start (partition too): \`key\` and \`partition\` copy the record with one
            // field changed, and a copy that adds a field instead takes V8's slow path (measured: 2.6x the
            // whole chain's CPU per record).
            record = { topic: recordTopic, key: null, value, headers: eventHeaders, partition: undefined, timestamp: time, source: event }
          } catch (error) {
            onError(new SerializationError(part, event, error), (e) => subscriber.error(e))
            return
          }
          subscriber.next(record)
        },
        error: (error) => subscriber.error(error),
        complete: () => subscriber.complete(),
      })
    })
}

/** Fixed headers, made into a list once; bad ones are a bad option. */
function headersOption(headers: HeadersInput): RecordHeaders {
  try {
    return recordHeaders(headers)
  } catch (error) {
    throw new InvalidOptionError('serialize.headers', `valid headers (${(error as Error).message})`, headers)
  }
}
