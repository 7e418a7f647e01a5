import { describeValue, type TopicflowError } from './errors.js'

/** Header values as Kafka carries them: bytes, or a string written as UTF-8. */
export type HeaderValue = Buffer | string

/** One header: its name and value (Java's `Header`: `key()` and `value()`). */
export type RecordHeader = readonly [name: string, value: HeaderValue]

/**
 * A record's headers as Kafka carries them: an ordered list of name/value pairs in which a name may come
 * more than once (Java's `Headers`, `kafka-console-producer`'s `h1:v1,h2:v2`). Transports write them in
 * this order, repeats included.
 *
 * A list and not an object: an object cannot hold them faithfully, since JavaScript lists integer-like
 * keys (`42`) first and cannot put another name between two values of one name. A list of plain tuples
 * and not a class: records are plain data that operators copy with a spread, the wire encoder walks it
 * by index with nothing to call, and `new Map(headers)` or `Object.fromEntries(headers)` read it as they
 * would any entries. Read-only, as records are: operators that add headers make a new list. A record
 * without headers shares `NO_HEADERS`.
 *
 * @example
 * import { lastHeader, type RecordHeaders } from '@topicflow/core'
 * const headers: RecordHeaders = [['seq', '1'], ['42', 'y'], ['dup', 'x'], ['dup', Buffer.from('z')]]
 * lastHeader(headers, 'dup')?.toString()   // 'z'
 */
export type RecordHeaders = readonly RecordHeader[]

/**
 * Headers written as an object, a convenience where records are made (`serialize`'s `headers`): an array
 * value repeats the name, in order. Turned into `RecordHeaders` once, in the object's key order, which
 * JavaScript fixes: integer-like names first, and the values of one name together. Give `RecordHeaders`
 * where that order matters.
 */
export type HeadersObject = Readonly<Record<string, HeaderValue | readonly HeaderValue[]>>

/** Headers as the places that make records take them: the list itself, or an object for convenience. */
export type HeadersInput = RecordHeaders | HeadersObject

/** The headers of every record without any: one frozen empty list, so that no headers cost nothing. */
export const NO_HEADERS: RecordHeaders = Object.freeze([])

/**
 * Checks headers and returns them as `RecordHeaders`: a list as it is (no copy), an object as its entries
 * with array values spread in place, no headers as `NO_HEADERS`. Throws a `TypeError` naming the header
 * whose name is not a string or whose value is neither a string nor a Buffer.
 *
 * @example
 * import { recordHeaders } from '@topicflow/core'
 * recordHeaders({ origin: 'web', tag: ['a', 'b'] })   // [['origin', 'web'], ['tag', 'a'], ['tag', 'b']]
 */
export function recordHeaders(input: HeadersInput): RecordHeaders {
  if (Array.isArray(input)) {
    const list = input as RecordHeaders
    for (const header of list) {
      if (!Array.isArray(header) || header.length !== 2 || typeof header[0] !== 'string') {
        throw new TypeError(`each header must be a [name, value] pair with a string name, got ${describeValue(header)}`)
      }
      checkHeaderValue(header[0], header[1])
    }
    return list.length === 0 ? NO_HEADERS : list
  }
  if (typeof input !== 'object' || input === null) throw new TypeError(`headers must be a list of [name, value] pairs or an object, got ${describeValue(input)}`)
  const list: RecordHeader[] = []
  for (const name in input) {
    const value = (input as HeadersObject)[name]
    if (Array.isArray(value)) {
      for (const each of value as readonly HeaderValue[]) list.push([name, checkHeaderValue(name, each)])
    } else list.push([name, checkHeaderValue(name, value as HeaderValue)])
  }
  return list.length === 0 ? NO_HEADERS : list
}

function checkHeaderValue(name: string, value: unknown): HeaderValue {
  if (typeof value === 'string' || Buffer.isBuffer(value)) return value
  throw new TypeError(`header ${JSON.stringify(name)} must be a string or a Buffer (or, in an object, an array of them), got ${describeValue(value)}`)
}

/**
 * The value of the last header named `name`, or `undefined` (Java's `Headers.lastHeader`): the one that
 * counts when a name repeats, as when a dead letter's error headers follow the original ones.
 */
export function lastHeader(headers: RecordHeaders, name: string): HeaderValue | undefined {
  for (let i = headers.length - 1; i >= 0; i--) {
    const header = headers[i]!
    if (header[0] === name) return header[1]
  }
  return undefined
}

/**
 * A record on its way to Kafka. `source` is the event it was made from: delivery reports, dead letters
 * and errors point back to it (reactor-kafka's correlation metadata).
 */
export interface OutgoingRecord<T> {
  readonly topic: string
  readonly key: Buffer | null
  readonly value: Buffer | null
  /** In Kafka's order, repeats included; `NO_HEADERS` when there are none. */
  readonly headers: RecordHeaders
  /** Set by `partition` (or by the caller); the sink requires it. */
  readonly partition?: number
  /** CreateTime in epoch milliseconds; set by `serialize` when the event is taken. */
  readonly timestamp: number
  /** The event this record was made from. */
  readonly source: T
}

/** The compression codecs Kafka supports for a record batch. */
export type Codec = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd'
export const CODECS: readonly Codec[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd']

/** How a batch is retried; set by the `retry` operator, read by the sink. */
export interface RetryPolicy {
  /** Total attempts, the first included. */
  readonly attempts: number
  /** Milliseconds to wait before attempt `n + 1` (n counts from 1). */
  readonly backoffMs: (attempt: number) => number
  /** Time from the batch's creation until it is failed with `DeliveryTimeoutError`. */
  readonly deliveryTimeoutMs: number
  /** Whether an error may be retried. */
  readonly isRetriable: (error: TopicflowError) => boolean
}

/** Records of one topic-partition, in order, with the codec and retry policy chosen for them. */
export interface RecordBatch<T> {
  readonly topic: string
  readonly partition: number
  readonly records: readonly OutgoingRecord<T>[]
  /** Estimated size on the wire, uncompressed (see `recordSizeBytes`). */
  readonly sizeBytes: number
  /** When the batch was opened (epoch ms): delivery deadlines count from here, as Java's do. */
  readonly createdAt: number
  readonly codec: Codec
  readonly retry: RetryPolicy | undefined
  /**
   * Set by an operator that could not prepare the batch (a codec function that threw, say): the sink
   * settles its records as failed with this error instead of sending them, so none is lost with the stream.
   */
  readonly failure?: TopicflowError
}

/** A record the broker acknowledged. `offset` is -1 with `acks: 0`, which gets no answer. */
export interface Delivered<T> {
  readonly status: 'delivered'
  readonly topic: string
  readonly partition: number
  readonly offset: number
  /** The broker's LogAppendTime if the topic uses it, else the record's CreateTime. */
  readonly timestamp: number
  readonly source: T
}

/** A record that was not delivered, with the error that ended it. */
export interface Failed<T> {
  readonly status: 'failed'
  readonly topic: string
  readonly partition: number | undefined
  readonly error: TopicflowError
  readonly source: T
  /** The record as it was to be sent (key, value and headers bytes), for a dead-letter topic. */
  readonly record?: OutgoingRecord<T>
}

/** A record that failed and was written to a dead-letter topic instead (see `deadLetterQueue`). */
export interface DeadLettered<T> {
  readonly status: 'dead-lettered'
  readonly topic: string
  readonly partition: number | undefined
  /** Why it could not be delivered. */
  readonly error: TopicflowError
  readonly source: T
  /** Where the dead letter landed. */
  readonly deadLetter: { readonly topic: string; readonly partition: number; readonly offset: number }
}

/** The outcome of one record: the sink emits exactly one per record it accepted. */
export type DeliveryReport<T> = Delivered<T> | Failed<T> | DeadLettered<T>

/**
 * Bytes a record takes in a v2 record batch, before compression: key, value, header keys and values,
 * plus the worst-case varint framing (Java's `DefaultRecord` estimate).
 */
export function recordSizeBytes(record: Pick<OutgoingRecord<unknown>, 'key' | 'value' | 'headers'>): number {
  let size = 21 + (record.key?.length ?? 0) + (record.value?.length ?? 0)
  const headers = record.headers
  for (let i = 0; i < headers.length; i++) {
    const header = headers[i]!
    const value = header[1]
    size += 10 + Buffer.byteLength(header[0]) + (typeof value === 'string' ? Buffer.byteLength(value) : value.length)
  }
  return size
}

/** The overhead of a v2 record batch header, added once per batch. */
export const RECORD_BATCH_OVERHEAD_BYTES = 61
