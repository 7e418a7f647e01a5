import type { TopicflowError } from './errors.js'

/** Header values as Kafka carries them: bytes, or a string written as UTF-8. */
export type HeaderValue = Buffer | string
/** A record's headers; a key Kafka carries more than once takes an array of values, in order. */
export type RecordHeaders = Readonly<Record<string, HeaderValue | readonly HeaderValue[]>>

/**
 * A record on its way to Kafka. `source` is the event it was made from: delivery reports, dead letters
 * and errors point back to it (reactor-kafka's correlation metadata).
 */
export interface OutgoingRecord<T> {
  readonly topic: string
  readonly key: Buffer | null
  readonly value: Buffer | null
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
  for (const name in record.headers) {
    const value = record.headers[name]
    if (Array.isArray(value)) for (const each of value as readonly HeaderValue[]) size += headerSizeBytes(name, each)
    else size += headerSizeBytes(name, value as HeaderValue | undefined)
  }
  return size
}

function headerSizeBytes(name: string, value: HeaderValue | undefined): number {
  return 10 + Buffer.byteLength(name) + (typeof value === 'string' ? Buffer.byteLength(value) : (value?.length ?? 0))
}

/** The overhead of a v2 record batch header, added once per batch. */
export const RECORD_BATCH_OVERHEAD_BYTES = 61
