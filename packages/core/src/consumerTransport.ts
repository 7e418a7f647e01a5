import type { RecordHeaders } from './records.js'

/**
 * What the Kafka source needs from a client: a consumer in a group that fetches the partitions the group
 * gave it and commits offsets. Core never imports a client; `@topicflow/wire` implements this.
 */

/** A topic and one of its partitions. */
export interface TopicPartition {
  readonly topic: string
  readonly partition: number
}

/** One record as fetched: bytes as the broker holds them. */
export interface FetchedRecord {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  /** The partition leader's epoch when the record was written (-1 when the broker gave none). */
  readonly leaderEpoch: number
  /** CreateTime, or LogAppendTime when the topic uses it (`timestampType` says which). */
  readonly timestamp: number
  readonly timestampType: 'CreateTime' | 'LogAppendTime'
  readonly key: Buffer | null
  readonly value: Buffer | null
  /** In the order they were written, repeats included; `NO_HEADERS` when there are none. */
  readonly headers: RecordHeaders
}

/** An offset to commit: the next record to read of a partition (Java's `OffsetAndMetadata`). */
export interface OffsetToCommit extends TopicPartition {
  /** The offset of the next record to consume: the last processed offset + 1. */
  readonly offset: number
  /** The leader epoch of the last processed record (KIP-320), or -1. */
  readonly leaderEpoch: number
}

/**
 * Told by the consumer session about the partitions the group gives and takes (Java's
 * `ConsumerRebalanceListener`). `revoked` is awaited before the member rejoins: what it commits there is
 * committed under the generation that owned the partitions, and nothing of them is handed out after it.
 */
export interface RebalanceListener {
  /** Partitions given to this member; fetching them starts from their committed offsets after this returns. */
  assigned(partitions: readonly TopicPartition[]): void
  /** Partitions taken away in an orderly rebalance: drain and commit them before resolving. */
  revoked(partitions: readonly TopicPartition[]): Promise<void>
  /** Partitions lost without a rebalance (the session expired or the member was fenced): nothing of them can be committed. */
  lost(partitions: readonly TopicPartition[]): void
}

/** Java's `auto.offset.reset`: where to start a partition that has no committed offset. */
export type AutoOffsetReset = 'earliest' | 'latest' | 'none'

/** Java's `isolation.level`. */
export type IsolationLevel = 'read_uncommitted' | 'read_committed'

/** Java's `partition.assignment.strategy` names, as the group protocol carries them. */
export type AssignorName = 'range' | 'cooperative-sticky'

/** How a consumer session joins its group and fetches; every field is Java's consumer config of the name given. */
export interface ConsumerSessionOptions {
  /** `group.id`. */
  readonly groupId: string
  /** Topics to subscribe to (Java's `subscribe(topics)`). */
  readonly topics: readonly string[]
  /** `group.instance.id`: a static member (KIP-345), whose restart within the session timeout causes no rebalance. */
  readonly groupInstanceId: string | undefined
  /** `session.timeout.ms`. */
  readonly sessionTimeoutMs: number
  /** `heartbeat.interval.ms`. */
  readonly heartbeatIntervalMs: number
  /** `max.poll.interval.ms`: the rebalance timeout sent with JoinGroup, and so the longest a revocation may take. */
  readonly maxPollIntervalMs: number
  /** `auto.offset.reset`. */
  readonly autoOffsetReset: AutoOffsetReset
  /** `fetch.min.bytes`. */
  readonly fetchMinBytes: number
  /** `fetch.max.bytes`. */
  readonly fetchMaxBytes: number
  /** `fetch.max.wait.ms`. */
  readonly fetchMaxWaitMs: number
  /** `max.partition.fetch.bytes`. */
  readonly maxPartitionFetchBytes: number
  /** `isolation.level`. */
  readonly isolationLevel: IsolationLevel
  /** `partition.assignment.strategy`, preferred first. */
  readonly assignors: readonly AssignorName[]
  /** `request.timeout.ms`: bound on each request but JoinGroup (which waits for the rebalance). */
  readonly requestTimeoutMs: number
  /** Told of every assignment, revocation and loss. */
  readonly listener: RebalanceListener
}

/** The group generation this member belongs to, as offsets commit under it (and transactions fence by it, KIP-447). */
export interface GroupGeneration {
  readonly groupId: string
  readonly generationId: number
  readonly memberId: string
  readonly groupInstanceId: string | undefined
}

/**
 * A member of a consumer group. It fetches its assigned partitions ahead of `poll` by at most one fetch
 * response per broker, so memory stays bounded while the caller does not poll.
 */
export interface ConsumerSession {
  /**
   * Records fetched and not yet taken, in offset order per partition, only of partitions assigned now;
   * waits up to `fetch.max.wait.ms` plus a round trip for some, resolves empty when none came. Rejects with
   * a `TopicflowError` when the session cannot go on (fenced for good, closed, an offset out of range with
   * `auto.offset.reset` none).
   */
  poll(): Promise<readonly FetchedRecord[]>
  /** Commits offsets under the current generation; rejects with a `CommitError` (retriable or not) naming the partitions. */
  commit(offsets: readonly OffsetToCommit[]): Promise<void>
  /** The partitions assigned now. */
  readonly assignment: readonly TopicPartition[]
  /** The current generation, undefined while joining. */
  readonly generation: GroupGeneration | undefined
  /** Leaves the group (a static member does not: its partitions wait for it until the session timeout). */
  close(): Promise<void>
}

/** A transport that can consume. */
export interface ConsumerTransport {
  readonly brokers: string
  /** Joins the group and resolves once joined for the first time (its first assignment told to the listener). */
  openConsumer(options: ConsumerSessionOptions): Promise<ConsumerSession>
}
