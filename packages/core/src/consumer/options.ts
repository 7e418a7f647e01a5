import { asyncScheduler, type SchedulerLike } from 'rxjs'
import type { AssignorName, AutoOffsetReset, ConsumerSessionOptions, IsolationLevel } from '../consumerTransport.js'
import { InvalidOptionError } from '../errors.js'
import { integerOption, oneOfOption } from '../options.js'
import { isLegalTopicName } from '../operators/serialize.js'

/** Options of a `KafkaConsumer`. Each Kafka setting carries Java's consumer config name and default. */
export interface KafkaConsumerOptions {
  /** The consumer group (Java's `group.id`). Required. */
  readonly groupId: string
  /** Topics to read (Java's `subscribe(topics)`). Required, at least one. */
  readonly topics: readonly string[]
  /** A static member's id (Java's `group.instance.id`, KIP-345): its restart within the session timeout moves no partition. Default none. */
  readonly groupInstanceId?: string
  /** Java's `session.timeout.ms`. Default 45000. */
  readonly sessionTimeoutMs?: number
  /** Java's `heartbeat.interval.ms`. Default 3000. */
  readonly heartbeatIntervalMs?: number
  /** Java's `max.poll.interval.ms`: the rebalance timeout, and the longest a revoked partition's drain may take. Default 300000. */
  readonly maxPollIntervalMs?: number
  /** Java's `auto.offset.reset`: where a partition without a committed offset starts. Default `'latest'`. */
  readonly autoOffsetReset?: AutoOffsetReset
  /** Java's `fetch.min.bytes`. Default 1. */
  readonly fetchMinBytes?: number
  /** Java's `fetch.max.bytes`. Default 52428800. */
  readonly fetchMaxBytes?: number
  /** Java's `fetch.max.wait.ms`. Default 500. */
  readonly fetchMaxWaitMs?: number
  /** Java's `max.partition.fetch.bytes`. Default 1048576. */
  readonly maxPartitionFetchBytes?: number
  /** Java's `isolation.level`. Default `'read_uncommitted'`. */
  readonly isolationLevel?: IsolationLevel
  /** Java's `partition.assignment.strategy`, preferred first. Default `['range', 'cooperative-sticky']`, Java's. */
  readonly assignors?: readonly AssignorName[]
  /** Java's `request.timeout.ms`. Default 30000. */
  readonly requestTimeoutMs?: number
  /**
   * Longest time between offset commits while records are done (Java's `auto.commit.interval.ms`, Pekko's
   * `CommitterSettings.maxInterval`). Default 5000.
   */
  readonly commitIntervalMs?: number
  /** Commit as soon as this many consumed records are done since the last commit (Pekko's `maxBatch`). Default 10000. */
  readonly commitBatchRecords?: number
  /** Scheduler for the commit interval; tests pass a virtual one. Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike
}

/** The options with their defaults, checked: the session's settings (all but its listener) and the consumer's own. */
export interface ConsumerConfig extends Omit<ConsumerSessionOptions, 'listener'> {
  readonly commitIntervalMs: number
  readonly commitBatchRecords: number
  readonly scheduler: SchedulerLike
}

const ASSIGNOR_NAMES: readonly AssignorName[] = ['range', 'cooperative-sticky']

/** Checks every option (an `InvalidOptionError` names the first wrong one) and fills in the defaults. */
export function consumerConfig(options: KafkaConsumerOptions): ConsumerConfig {
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('KafkaConsumer.options', 'an object with groupId and topics', options)
  const { groupId, topics, groupInstanceId } = options
  if (typeof groupId !== 'string' || groupId.length === 0) throw new InvalidOptionError('KafkaConsumer.groupId', 'a non-empty string (Java: group.id)', groupId)
  if (!Array.isArray(topics) || topics.length === 0 || !topics.every(isLegalTopicName)) {
    throw new InvalidOptionError('KafkaConsumer.topics', 'a non-empty array of legal topic names', topics)
  }
  if (groupInstanceId !== undefined && (typeof groupInstanceId !== 'string' || groupInstanceId.length === 0)) {
    throw new InvalidOptionError('KafkaConsumer.groupInstanceId', 'a non-empty string (Java: group.instance.id)', groupInstanceId)
  }
  const assignors = options.assignors ?? ASSIGNOR_NAMES
  if (!Array.isArray(assignors) || assignors.length === 0 || !assignors.every((a) => ASSIGNOR_NAMES.includes(a))) {
    throw new InvalidOptionError('KafkaConsumer.assignors', `a non-empty array of ${ASSIGNOR_NAMES.map((a) => JSON.stringify(a)).join(', ')}`, assignors)
  }
  const sessionTimeoutMs = integerOption('KafkaConsumer.sessionTimeoutMs', options.sessionTimeoutMs, 45_000, 1)
  const heartbeatIntervalMs = integerOption('KafkaConsumer.heartbeatIntervalMs', options.heartbeatIntervalMs, 3_000, 1)
  // Java's ConsumerConfig refuses the same: a heartbeat that is not more frequent than the timeout loses the session.
  if (heartbeatIntervalMs >= sessionTimeoutMs) throw new InvalidOptionError('KafkaConsumer.heartbeatIntervalMs', `less than sessionTimeoutMs (${sessionTimeoutMs})`, heartbeatIntervalMs)
  return {
    groupId,
    topics: [...new Set(topics)],
    groupInstanceId,
    sessionTimeoutMs,
    heartbeatIntervalMs,
    maxPollIntervalMs: integerOption('KafkaConsumer.maxPollIntervalMs', options.maxPollIntervalMs, 300_000, 1),
    autoOffsetReset: oneOfOption('KafkaConsumer.autoOffsetReset', options.autoOffsetReset, 'latest', ['earliest', 'latest', 'none'] as const),
    fetchMinBytes: integerOption('KafkaConsumer.fetchMinBytes', options.fetchMinBytes, 1, 0),
    fetchMaxBytes: integerOption('KafkaConsumer.fetchMaxBytes', options.fetchMaxBytes, 52_428_800, 1),
    fetchMaxWaitMs: integerOption('KafkaConsumer.fetchMaxWaitMs', options.fetchMaxWaitMs, 500, 0),
    maxPartitionFetchBytes: integerOption('KafkaConsumer.maxPartitionFetchBytes', options.maxPartitionFetchBytes, 1_048_576, 1),
    isolationLevel: oneOfOption('KafkaConsumer.isolationLevel', options.isolationLevel, 'read_uncommitted', ['read_uncommitted', 'read_committed'] as const),
    assignors,
    requestTimeoutMs: integerOption('KafkaConsumer.requestTimeoutMs', options.requestTimeoutMs, 30_000, 1),
    commitIntervalMs: integerOption('KafkaConsumer.commitIntervalMs', options.commitIntervalMs, 5_000, 0),
    commitBatchRecords: integerOption('KafkaConsumer.commitBatchRecords', options.commitBatchRecords, 10_000, 1),
    scheduler: options.scheduler ?? asyncScheduler,
  }
}
