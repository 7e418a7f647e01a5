import type { FetchedRecord } from './consumerTransport.js'

/**
 * Errors follow kafkajs's shape: one base class with `retriable`, `name` taken from the class, an
 * optional `cause`, and the context that locates the failure (topic, partition, the record's source).
 */

/** Where a failure happened: the topic and partition, and the event(s) it concerns. */
export interface ErrorContext {
  /** The topic the failed record or batch was bound for. */
  readonly topic?: string
  /** The partition, when it was known. */
  readonly partition?: number
  /** The offset of the consumed record it concerns, on the read side. */
  readonly offset?: number
  /** The events (`source` of each record) the error concerns, so nothing fails anonymously. */
  readonly sources?: readonly unknown[]
  /** The underlying error, if any. */
  readonly cause?: unknown
  /** Whether trying the same operation again may succeed; `retry` reads this. */
  readonly retriable?: boolean
}

/** Base class of every error topicflow raises. */
export class TopicflowError extends Error {
  readonly retriable: boolean
  readonly topic: string | undefined
  readonly partition: number | undefined
  readonly offset: number | undefined
  readonly sources: readonly unknown[]

  constructor(message: string, context: ErrorContext = {}) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause })
    this.name = new.target.name
    this.retriable = context.retriable ?? false
    this.topic = context.topic
    this.partition = context.partition
    this.offset = context.offset
    this.sources = context.sources ?? []
  }
}

/** An option is missing, of the wrong type or out of range. Raised when the operator is created. */
export class InvalidOptionError extends TopicflowError {
  constructor(
    /** The option's name, e.g. `batch.lingerMs`. */
    readonly option: string,
    expected: string,
    readonly value: unknown,
  ) {
    super(`Invalid option ${option}: expected ${expected}, got ${describeValue(value)}`)
  }
}

/** An event could not be turned into bytes (value, key or headers). Carries the event. */
export class SerializationError extends TopicflowError {
  constructor(
    /** What failed: the value, the key, the headers or the topic of the record. */
    readonly part: 'value' | 'key' | 'headers' | 'topic',
    readonly event: unknown,
    cause: unknown,
  ) {
    super(`Cannot serialize the ${part} of event ${describeValue(event)}: ${messageOf(cause)}`, {
      cause,
      sources: [event],
    })
  }
}

/** A record is larger than the producer's `maxRequestBytes` or the broker's `max.message.bytes`. */
export class RecordTooLargeError extends TopicflowError {
  constructor(
    readonly sizeBytes: number,
    readonly limitBytes: number | undefined,
    context: ErrorContext,
  ) {
    const limit = limitBytes === undefined ? "the broker's max.message.bytes" : `${limitBytes} bytes`
    super(
      `Record of ${sizeBytes} bytes for ${context.topic ?? '?'} exceeds ${limit}; event ${describeValue(context.sources?.[0])}`,
      { ...context, retriable: false },
    )
  }
}

/** A push source produced faster than the sink could deliver and the buffer (`maxBufferedBytes`) is full. */
export class BufferExhaustedError extends TopicflowError {
  constructor(
    readonly maxBufferedBytes: number,
    context: ErrorContext,
  ) {
    super(
      `Producer buffer exhausted: more than ${maxBufferedBytes} bytes waiting for delivery (maxBufferedBytes); ` +
        'use a pull source (fromAsyncIterable/fromReadable), a larger buffer, or onBufferFull: "drop"',
      { ...context, retriable: false },
    )
  }
}

/** The broker could not be reached, or it did not answer in time. */
export class KafkaConnectionError extends TopicflowError {
  constructor(message: string, context: ErrorContext = {}) {
    super(message, { retriable: true, ...context })
  }
}

/**
 * A request could not be sent: the partition's leader is not known yet, or no connection to it could be
 * made (refused, reset, unreachable). Nothing reached a broker, so it spends no retry: the sink waits for
 * the broker, trying again after `reconnectBackoffMs`, until the batch's delivery deadline (Java's producer
 * keeps such records in its accumulator the same way; its `retries` counts requests that were sent).
 */
export class BrokerUnavailableError extends KafkaConnectionError {}

/** What an `UnknownTopicError` says about the wait that ended it. */
export interface UnknownTopicContext extends ErrorContext {
  /**
   * How long metadata was asked for before giving up (the producer's `maxBlockMs`, Java's `max.block.ms`).
   * Unset for one answer that lacked the topic, which is retried.
   */
  readonly waitedMs?: number
  /** Whether those metadata requests asked the broker to create the topic (the transport's `allowAutoTopicCreation`). Default true. */
  readonly creationAsked?: boolean
}

/** The topic does not exist (and was not created) within the metadata wait. */
export class UnknownTopicError extends TopicflowError {
  constructor(topic: string, context: UnknownTopicContext = {}) {
    const { waitedMs, creationAsked = true, ...rest } = context
    // A topic still absent after a wait whose requests asked for it to be created: the broker does not create topics.
    const why = creationAsked
      ? 'the broker did not create it (its auto.create.topics.enable is off): create the topic first'
      : 'allowAutoTopicCreation is off, so the broker was not asked to create it: create the topic first'
    super(`Topic "${topic}" not present in metadata${waitedMs === undefined ? '' : ` after ${waitedMs} ms (max.block.ms); ${why}`}`, { retriable: true, ...rest, topic })
  }
}

/** The broker refused a produce request. `type` is Kafka's error code name, e.g. NOT_LEADER_OR_FOLLOWER. */
export class ProduceError extends TopicflowError {
  constructor(
    message: string,
    readonly type: string,
    context: ErrorContext,
  ) {
    super(message, context)
  }
}

/** A record was not acknowledged within `deliveryTimeoutMs` (Java's `delivery.timeout.ms`). */
export class DeliveryTimeoutError extends TopicflowError {
  constructor(
    readonly deliveryTimeoutMs: number,
    readonly attempts: number,
    context: ErrorContext,
  ) {
    super(
      `Delivery to ${context.topic}-${context.partition} timed out after ${deliveryTimeoutMs} ms (${attempts} attempt(s))` +
        (context.cause === undefined ? '' : `: ${messageOf(context.cause)}`),
      { ...context, retriable: false },
    )
  }
}

/**
 * The sink stopped on a failure (`onError: 'fail'`). `failed` holds the sources of the records that
 * failed, `unsent` the sources that were accepted but not sent because the sink stopped: together with
 * the delivery reports already emitted they account for every event.
 */
export class DeliveryFailedError extends TopicflowError {
  constructor(
    readonly failure: TopicflowError,
    readonly failed: readonly unknown[],
    readonly unsent: readonly unknown[],
  ) {
    super(
      `Delivery failed: ${failure.message} (${failed.length} record(s) failed, ${unsent.length} not sent)`,
      { cause: failure, topic: failure.topic, partition: failure.partition, sources: [...failed, ...unsent] },
    )
  }
}

/** A consumed record's key or value could not be read by its deserializer. Carries the record as fetched. */
export class DeserializationError extends TopicflowError {
  constructor(
    readonly part: 'key' | 'value',
    /** The record as fetched: its bytes, headers, topic, partition and offset. */
    readonly record: FetchedRecord,
    cause: unknown,
  ) {
    super(`Cannot deserialize the ${part} of ${record.topic}-${record.partition} at offset ${record.offset}: ${messageOf(cause)}`, {
      cause,
      topic: record.topic,
      partition: record.partition,
      offset: record.offset,
    })
  }
}

/** An offset commit was refused or got no answer (Java's `CommitFailedException` and the retriable errors before it). */
export class CommitError extends TopicflowError {
  constructor(
    message: string,
    /** Kafka's error code name, e.g. REBALANCE_IN_PROGRESS, or the connection failure's class. */
    readonly type: string,
    context: ErrorContext,
  ) {
    super(message, context)
  }
}

/** A consumer-group request (join, sync, heartbeat, leave, coordinator lookup) was refused, or the member was fenced. */
export class GroupError extends TopicflowError {
  constructor(
    message: string,
    /** Kafka's error code name, e.g. FENCED_INSTANCE_ID, GROUP_AUTHORIZATION_FAILED. */
    readonly type: string,
    context: ErrorContext = {},
  ) {
    super(message, context)
  }
}

/** The sink or sender was closed and takes no more records. */
export class ProducerClosedError extends TopicflowError {}

/** A short, safe description of a value for error messages. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value)
  if (typeof value === 'bigint') return `${value}n`
  if (typeof value !== 'object' || value === null) return String(value)
  if (Buffer.isBuffer(value)) return `<Buffer ${value.length} bytes>`
  try {
    // With a replacer V8 takes its general path, which stops at a cycle at once. Its fast path (the default
    // from Node 24) only meets a cycle after ~25 ms of output; describing events must not cost that.
    const json = JSON.stringify(value, (_key, field: unknown) => field)
    if (json !== undefined) return json.length > 120 ? `${json.slice(0, 120)}…` : json
  } catch {
    // circular or otherwise unserializable: fall through to the constructor's name
  }
  return `[${value.constructor?.name ?? 'object'}]`
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/**
 * Converts anything thrown into a `TopicflowError` and adds the given sources to it, so that an error
 * raised far from the records (a metadata lookup, a connection) still names the events it stopped.
 */
export function withSources(error: unknown, sources: readonly unknown[], context: ErrorContext = {}): TopicflowError {
  const typed = error instanceof TopicflowError ? error : new TopicflowError(messageOf(error), { ...context, cause: error })
  if (sources.length > 0) (typed as { sources: readonly unknown[] }).sources = [...typed.sources, ...sources]
  return typed
}
