import type { Codec, RecordHeaders } from './records.js'

/** `acks` as the broker takes it: 0 (no answer), 1 (the leader wrote it), -1 (all in-sync replicas). */
export type AcksLevel = 0 | 1 | -1

/** One record as the transport writes it. */
export interface WireRecord {
  readonly key: Buffer | null
  readonly value: Buffer | null
  /** Written in this order, repeats included (a transport that cannot says so in its docs). */
  readonly headers: RecordHeaders
  readonly timestamp: number
}

/** A produce request for one topic-partition. */
export interface ProduceRequest {
  readonly topic: string
  readonly partition: number
  readonly records: readonly WireRecord[]
  readonly codec: Codec
  readonly acks: AcksLevel
  /** How long the broker may wait for replicas (the request's `timeout`), and the client for the answer. */
  readonly timeoutMs: number
}

/** What the broker answered for a produce request. */
export interface ProduceAck {
  /** Offset of the first record; -1 when `acks` is 0. */
  readonly baseOffset: number
  /** The broker's LogAppendTime, or -1 when the topic uses CreateTime. */
  readonly logAppendTime: number
}

/** Java's `max.block.ms` default: how long `partitionCount` waits when the caller gives no bound. */
export const DEFAULT_MAX_BLOCK_MS = 60_000

/** How `partitionCount` is asked. */
export interface PartitionCountOptions {
  /** Longest wait for the answer: the sink's `maxBlockMs` (Java's `max.block.ms`). Default 60000, Java's. */
  readonly timeoutMs?: number
  /** A refresh of a count already known: no record waits for it (a sink does not pause its sources). */
  readonly refresh?: boolean
}

/** Options for a producer session, fixed for its life. */
export interface ProducerSessionOptions {
  /** Idempotent producer: the broker drops duplicates that retries create (needs acks -1). */
  readonly idempotent: boolean
  /** Bound on connecting (Java's `max.block.ms`). */
  readonly connectTimeoutMs: number
}

/**
 * A connected producer. At most one request per topic-partition is in flight at a time, and a retry of a
 * request that got no definite answer passes the same `ProduceRequest` object again (the sink sees to
 * both): an idempotent transport can keep that batch's sequence numbers for it.
 */
export interface ProducerSession {
  /** Sends one request; rejects with a `TopicflowError` (retriable or not) that names topic and partition. */
  send(request: ProduceRequest): Promise<ProduceAck>
  close(): Promise<void>
}

/**
 * What the operators need from a Kafka client. Core never imports one: `@topicflow/kafkajs` implements
 * this over kafkajs, and another client can implement it without touching the operators.
 */
export interface Transport {
  /** The bootstrap servers, for messages. */
  readonly brokers: string
  /**
   * Largest produce request, in bytes (Java's `max.request.size`; the transport owns it): the sink fails
   * a record larger than this before sending it and merges queued batches up to it.
   */
  readonly maxRequestBytes: number
  /** Number of partitions of `topic`, from cluster metadata; rejects with `UnknownTopicError` or `KafkaConnectionError`. */
  partitionCount(topic: string, options: PartitionCountOptions): Promise<number>
  /** Opens a producer session. */
  openProducer(options: ProducerSessionOptions): Promise<ProducerSession>
  /** Releases metadata connections. Sessions are closed by their owners. */
  close(): Promise<void>
}
