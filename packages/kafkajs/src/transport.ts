import kafkajs from 'kafkajs'
import type { Admin, KafkaConfig } from 'kafkajs'
import {
  KafkaConnectionError,
  UnknownTopicError,
  exponential,
  type PartitionCountOptions,
  type ProducerSession,
  type ProducerSessionOptions,
  type Transport,
} from '@topicflow/core'
import { deadlinePassed, DEFAULT_MAX_BLOCK_MS, isDeadlinePassed, integerOption, untilDeadline, withTimeout } from '@topicflow/core/internal'
import { registerCodecs } from './codecs.js'
import { createTopicsAndWait } from './admin.js'
import { fromKafkajsError } from './errors.js'
import { DirectSession } from './directSession.js'

const { Kafka, ConfigResourceTypes, logLevel, Partitioners } = kafkajs

/** kafkajs's client configuration; `clientId` defaults to `topicflow` and `logLevel` to NOTHING (topicflow reports every error itself). */
export interface KafkajsTransportOptions extends KafkaConfig {
  /**
   * A topic that does not exist is created as the broker would auto-create it (its `num.partitions` and
   * `default.replication.factor`), when the broker has `auto.create.topics.enable=true`: what Java's
   * producer and kafkajs's own producer get from their metadata requests. Default true.
   */
  readonly allowAutoTopicCreation?: boolean
  /** Largest produce request (Java's `max.request.size`): the sink fails a larger record before sending it. Default 1048576. */
  readonly maxRequestBytes?: number
}

/**
 * The `Transport` over kafkajs: producer sessions, cluster metadata and all four codecs (gzip built in;
 * snappy, lz4 and zstd registered from native packages). SSL, SASL, clientId and every other kafkajs
 * client option pass through unchanged.
 *
 * Retries belong to topicflow's `retry` operator: the producer is made with kafkajs retries off (one
 * re-attempt after a metadata refresh when idempotent, which kafkajs requires), so attempts do not
 * multiply.
 *
 * @example
 * import { kafkajsTransport } from '@topicflow/kafkajs'
 * const transport = kafkajsTransport({ brokers: ['127.0.0.1:9092'], clientId: 'orders-etl' })
 * console.log(await transport.partitionCount('orders', { timeoutMs: 10_000 }))
 * await transport.close()
 */
export function kafkajsTransport(options: KafkajsTransportOptions): Transport {
  return new KafkajsTransport(options)
}

class KafkajsTransport implements Transport {
  readonly brokers: string
  readonly maxRequestBytes: number
  readonly #kafka: InstanceType<typeof Kafka>
  readonly #autoCreate: boolean
  #admin: Promise<Admin> | undefined

  constructor(options: KafkajsTransportOptions) {
    registerCodecs()
    const { allowAutoTopicCreation = true, maxRequestBytes = 1024 * 1024, ...config } = options
    this.maxRequestBytes = integerOption('kafkajsTransport.maxRequestBytes', maxRequestBytes, 1024 * 1024, 1024)
    this.brokers = Array.isArray(config.brokers) ? config.brokers.join(',') : '(brokers from a function)'
    this.#autoCreate = allowAutoTopicCreation
    this.#kafka = new Kafka({ clientId: 'topicflow', logLevel: logLevel.NOTHING, ...config })
  }

  async partitionCount(topic: string, options: PartitionCountOptions = {}): Promise<number> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_MAX_BLOCK_MS
    const backoff = exponential(100, 1000)
    // The attempt after which the topic was created (as the broker would have): the next one looks at once.
    let createdAfter: number | undefined
    return untilDeadline({
      timeoutMs,
      backoff: (n) => (n === createdAfter ? 0 : backoff(n)),
      attempt: async (deadline, n) => {
        try {
          const admin = await withTimeout(this.#connectAdmin(), deadline - Date.now(), deadlinePassed)
          const metadata = await withTimeout(admin.fetchTopicMetadata({ topics: [topic] }), deadline - Date.now(), deadlinePassed)
          const count = metadata.topics[0]?.partitions.length ?? 0
          if (count > 0) return count
          throw new UnknownTopicError(topic, { retriable: true })
        } catch (error) {
          const cutShort = isDeadlinePassed(error)
          if (cutShort || error instanceof KafkaConnectionError) this.#admin = undefined
          // Passed on as it is: untilDeadline leaves a cut-short attempt out of what the attempts learned.
          if (cutShort) throw error
          const typed = error instanceof KafkaConnectionError ? error : fromKafkajsError(error, { topic, brokers: this.brokers })
          if (typed instanceof UnknownTopicError && this.#autoCreate && createdAfter === undefined) {
            createdAfter = n
            await withTimeout(this.#createAsBrokerWould(topic), deadline - Date.now(), deadlinePassed).catch(() => undefined)
          }
          // kafkajs's verdict decides whether to look again; its own error is kept for the message at the deadline.
          throw typed.retriable ? error : typed
        }
      },
      onDeadline: (learned) => {
        if (learned === undefined) return this.#unreachable(timeoutMs)
        if (learned instanceof KafkaConnectionError) return learned
        const typed = fromKafkajsError(learned, { topic, brokers: this.brokers })
        if (typed instanceof UnknownTopicError) return new UnknownTopicError(topic, { cause: learned, retriable: false, waitedMs: timeoutMs, creationAsked: this.#autoCreate })
        return typed
      },
    })
  }

  async openProducer(options: ProducerSessionOptions): Promise<ProducerSession> {
    const producer = this.#kafka.producer({
      idempotent: options.idempotent,
      retry: { retries: options.idempotent ? 1 : 0 },
      createPartitioner: Partitioners.DefaultPartitioner,
    })
    await withTimeout(producer.connect(), options.connectTimeoutMs, () => {
      void producer.disconnect().catch(() => undefined)
      return this.#unreachable(options.connectTimeoutMs)
    })
    return new DirectSession(producer, this.brokers)
  }

  async close(): Promise<void> {
    const admin = this.#admin
    this.#admin = undefined
    if (admin !== undefined) await admin.then((a) => a.disconnect()).catch(() => undefined)
  }

  /** Creates `topic` with the broker's defaults if the broker auto-creates topics; a race with another creator is fine. */
  async #createAsBrokerWould(topic: string): Promise<void> {
    const admin = await this.#connectAdmin()
    const { brokers } = await admin.describeCluster()
    const broker = brokers[0]
    if (broker === undefined) return
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.BROKER, name: String(broker.nodeId), configNames: ['auto.create.topics.enable', 'num.partitions', 'default.replication.factor'] }],
    })
    const config = new Map(described.resources[0]?.configEntries.map((e) => [e.configName, e.configValue]) ?? [])
    if (config.get('auto.create.topics.enable') !== 'true') return
    await createTopicsAndWait(admin, {
      topics: [{ topic, numPartitions: Number(config.get('num.partitions') ?? 1), replicationFactor: Math.min(Number(config.get('default.replication.factor') ?? 1), brokers.length) }],
    }).catch((error: unknown) => {
      if ((error as { type?: string }).type !== 'TOPIC_ALREADY_EXISTS') throw error
    })
  }

  #connectAdmin(): Promise<Admin> {
    if (this.#admin === undefined) {
      const admin = this.#kafka.admin()
      const connecting = admin.connect().then(() => admin)
      connecting.catch(() => {
        if (this.#admin === connecting) this.#admin = undefined
      })
      this.#admin = connecting
    }
    return this.#admin
  }

  #unreachable(timeoutMs: number): KafkaConnectionError {
    return new KafkaConnectionError(`Kafka at ${this.brokers} did not answer within ${timeoutMs} ms`, { retriable: true })
  }
}
