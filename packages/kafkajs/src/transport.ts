import kafkajs from 'kafkajs'
import type { Admin, IHeaders, KafkaConfig, Message, Producer, RecordMetadata } from 'kafkajs'
import {
  KafkaConnectionError,
  UnknownTopicError,
  exponential,
  type Codec,
  type HeaderValue,
  type ProduceAck,
  type ProduceRequest,
  type PartitionCountOptions,
  type ProducerSession,
  type ProducerSessionOptions,
  type RecordHeaders,
  type Transport,
} from '@topicflow/core'
import { deadlinePassed, DEFAULT_MAX_BLOCK_MS, isDeadlinePassed, integerOption, untilDeadline, withTimeout } from '@topicflow/core/internal'
import { registerCodecs } from './codecs.js'
import { createTopicsAndWait } from './admin.js'
import { fromKafkajsError } from './errors.js'

const { Kafka, CompressionTypes, ConfigResourceTypes, logLevel, Partitioners } = kafkajs

const COMPRESSION: Record<Codec, number> = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
}

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

function toMessages(request: ProduceRequest): Message[] {
  return request.records.map((record) => ({
    key: record.key,
    value: record.value,
    headers: kafkajsHeaders(record.headers),
    partition: request.partition,
    timestamp: String(record.timestamp),
  }))
}

/**
 * A record's headers as kafkajs takes them: an object, written in `Object.keys` order with an array value's
 * entries in a row (kafkajs 2.2.4, protocol/recordBatch/record/v0). A plain object would list integer-like
 * names (`42`) first, so this one is a Proxy whose keys come in the order the names first appear; kafkajs's
 * encoder then writes every name where it first came. What it cannot write is a name repeated with others
 * between: that name's values go out together at its first place (`a, b, a` lands as `a, a, b`). That is
 * this transport's limit; the wire transport writes headers exactly as given.
 *
 * Keys set on the object later (`@opentelemetry/instrumentation-kafkajs` injects `traceparent` into it)
 * come after the record's own, in the order they are set. No headers: no object, and kafkajs (or that
 * instrumentation) makes its own.
 */
export function kafkajsHeaders(headers: RecordHeaders): IHeaders | undefined {
  if (headers.length === 0) return undefined
  const values: Record<string, HeaderValue[]> = Object.create(null) as Record<string, HeaderValue[]>
  const names: (string | symbol)[] = []
  for (const [name, value] of headers) {
    const known = values[name]
    if (known === undefined) {
      values[name] = [value]
      names.push(name)
    } else known.push(value)
  }
  return new Proxy(values, {
    ownKeys: () => names,
    defineProperty(target, name, descriptor) {
      if (!Object.hasOwn(target, name)) names.push(name)
      return Reflect.defineProperty(target, name, descriptor)
    },
    deleteProperty(target, name) {
      const at = names.indexOf(name)
      if (at >= 0) names.splice(at, 1)
      return Reflect.deleteProperty(target, name)
    },
  })
}

function toAck(metadata: RecordMetadata | undefined): ProduceAck {
  if (metadata === undefined) return { baseOffset: -1, logAppendTime: -1 }
  return { baseOffset: Number(metadata.baseOffset ?? -1), logAppendTime: Number(metadata.logAppendTime ?? -1) }
}

function sizeOf(request: ProduceRequest): number {
  return request.records.reduce((n, r) => n + (r.key?.length ?? 0) + (r.value?.length ?? 0), 0)
}

/**
 * One kafkajs `send` per topic-partition batch. Never several partitions in one call: a call that spans
 * brokers can fail on one and land on another, and re-sending the landed part would give it new sequence
 * numbers, which idempotence cannot recognise as duplicates (measured: 993 duplicates in 300,000 records
 * through two leader kills when batches were coalesced; none since).
 */
class DirectSession implements ProducerSession {
  constructor(
    readonly producer: Producer,
    readonly brokers: string,
  ) {}

  async send(request: ProduceRequest): Promise<ProduceAck> {
    try {
      const result = await this.producer.send({
        topic: request.topic,
        messages: toMessages(request),
        acks: request.acks,
        timeout: request.timeoutMs,
        compression: COMPRESSION[request.codec],
      })
      return toAck(result.find((m) => m.partition === request.partition))
    } catch (error) {
      throw fromKafkajsError(error, { topic: request.topic, partition: request.partition, sizeBytes: sizeOf(request), brokers: this.brokers })
    }
  }

  close(): Promise<void> {
    return this.producer.disconnect()
  }
}
