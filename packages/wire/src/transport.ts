import type { ConnectionOptions } from 'node:tls'
import {
  KafkaConnectionError,
  ProduceError,
  UnknownTopicError,
  exponential,
  type ConsumerSession,
  type ConsumerSessionOptions,
  type ConsumerTransport,
  type PartitionCountOptions,
  type ProducerSession,
  type ProducerSessionOptions,
  type Transport,
} from '@topicflow/core'
import { deadlinePassed, DEFAULT_MAX_BLOCK_MS, messageOf, untilDeadline, withTimeout } from '@topicflow/core/internal'
import { API, type BrokerConnection } from './connection.js'
import { BrokerPool, parseAddress, type BrokerPoolOptions } from './brokerPool.js'
import { ClusterMetadata } from './clusterMetadata.js'
import { kafkaErrorCode } from './kafkaErrors.js'
import { initProducerIdRequest, readInitProducerId } from './messages.js'
import type { BatchProducer } from './recordBatch.js'
import type { SaslOptions } from './sasl.js'
import { BatchBuffers } from './batchBuffers.js'
import { WireSession, type SessionTransport } from './wireSession.js'
import { WireConsumerSession } from './consumerSession.js'

/** Options of the wire transport. The names of those kafkajs also has are kafkajs's, so configs carry over. */
export interface WireTransportOptions {
  /** Bootstrap servers, `host:port`. */
  readonly brokers: readonly string[]
  /** Sent with every request (Java's `client.id`). Default `topicflow`. */
  readonly clientId?: string
  /** TLS: `true` for the system's CAs, or node:tls options (ca, cert, key, servername, …). Default off. */
  readonly ssl?: boolean | ConnectionOptions
  /** SASL PLAIN or SCRAM-SHA-256/512 credentials. Default none. */
  readonly sasl?: SaslOptions
  /** Bound on opening a connection, TLS and SASL included (Java's `socket.connection.setup.timeout.ms`). Default 10,000. */
  readonly connectionTimeout?: number
  /** Bound on a metadata or producer-id request (Java's `request.timeout.ms`). Default 30,000. */
  readonly requestTimeout?: number
  /** A topic that does not exist is created by the broker on first metadata request, if the broker allows it. Default true. */
  readonly allowAutoTopicCreation?: boolean
  /**
   * Largest produce request (Java's `max.request.size`, owned by the transport): batches for one broker
   * that are ready together go out in one request up to this size, and the sink fails a larger record
   * before sending it. Default 1 MiB.
   */
  readonly maxRequestBytes?: number
}

/**
 * topicflow's own Kafka transport. It encodes each batch (record batch v2) in one pass into one buffer,
 * computes CRC-32C with a slicing-by-8 table, compresses on libuv's thread pool, and sends the batches of
 * all partitions led by one broker that are ready at the same time in one produce request, as Java's
 * producer does. The idempotent producer keeps each partition's sequence numbers across retries of the
 * same request, so retries through a leader change land once.
 *
 * @example
 * import { wireTransport } from '@topicflow/wire'
 * const transport = wireTransport({ brokers: ['127.0.0.1:9092'], clientId: 'orders-etl' })
 * console.log(await transport.partitionCount('orders', { timeoutMs: 10_000 }))
 * await transport.close()
 */
export function wireTransport(options: WireTransportOptions): Transport & ConsumerTransport {
  return new WireTransport(options)
}

class WireTransport implements Transport, ConsumerTransport, SessionTransport {
  readonly brokers: string
  readonly #options: Required<Omit<WireTransportOptions, 'ssl' | 'sasl'>> & Pick<WireTransportOptions, 'sasl'> & { readonly tls: ConnectionOptions | undefined }
  readonly #pool: BrokerPool
  readonly #poolOptions: BrokerPoolOptions
  /** The consumers' own connection pools, closed with the transport if their sessions were not. */
  readonly #consumerPools = new Set<BrokerPool>()
  readonly #metadata: ClusterMetadata
  /** Record batch memory, reused across the sessions of this transport. */
  readonly batchBuffers = new BatchBuffers()

  constructor(options: WireTransportOptions) {
    if (options.brokers.length === 0) throw new TypeError('wireTransport: brokers must list at least one host:port')
    const bootstrap = options.brokers.map(parseAddress)
    this.brokers = options.brokers.join(',')
    this.#options = {
      brokers: options.brokers,
      clientId: options.clientId ?? 'topicflow',
      tls: options.ssl === true ? {} : options.ssl === false || options.ssl === undefined ? undefined : options.ssl,
      sasl: options.sasl,
      connectionTimeout: options.connectionTimeout ?? 10_000,
      requestTimeout: options.requestTimeout ?? 30_000,
      allowAutoTopicCreation: options.allowAutoTopicCreation ?? true,
      maxRequestBytes: options.maxRequestBytes ?? 1024 * 1024,
    }
    const { clientId, tls, sasl, connectionTimeout, requestTimeout, allowAutoTopicCreation } = this.#options
    this.#poolOptions = { bootstrap, clientId, tls, sasl, connectTimeoutMs: connectionTimeout, onBrokerLost: (address) => this.#metadata.brokerLost(address) }
    this.#pool = new BrokerPool(this.#poolOptions)
    this.#metadata = new ClusterMetadata(this.#pool, { requestTimeoutMs: requestTimeout, allowAutoTopicCreation })
  }

  async partitionCount(topic: string, options: PartitionCountOptions = {}): Promise<number> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_MAX_BLOCK_MS
    return untilDeadline({
      timeoutMs,
      backoff: exponential(50, 1000),
      attempt: async (deadline) => {
        const remaining = deadline - Date.now()
        const metadata = await withTimeout(this.#metadata.fetch([topic], remaining), remaining, deadlinePassed)
        const described = metadata.topics.find((t) => t.name === topic)
        if (described !== undefined && described.errorCode === 0 && described.partitions.length > 0) return described.partitions.length
        const code = kafkaErrorCode(described?.errorCode ?? 3)
        if (!code.retriable) throw new ProduceError(`Metadata for topic "${topic}" refused: ${code.name}`, code.name, { topic, retriable: false })
        throw new UnknownTopicError(topic, { retriable: true })
      },
      // Java's producer says the same after max.block.ms: the topic was not in metadata, or no broker answered.
      onDeadline: (learned) =>
        learned instanceof UnknownTopicError
          ? new UnknownTopicError(topic, { retriable: false, cause: learned, waitedMs: timeoutMs, creationAsked: this.#options.allowAutoTopicCreation })
          : this.#unreachable(timeoutMs, learned),
    })
  }

  async openProducer(options: ProducerSessionOptions): Promise<ProducerSession> {
    const session = new WireSession(this, options.idempotent)
    // Reach the cluster now (Java's max.block.ms), so an unreachable broker is reported before any record.
    await withTimeout(this.#pool.anyConnection(), options.connectTimeoutMs, () => this.#unreachable(options.connectTimeoutMs, undefined))
    return session
  }

  /** Joins a consumer group (see `WireConsumerSession`); the consumer shares this transport's connections. */
  openConsumer(options: ConsumerSessionOptions): Promise<ConsumerSession> {
    const connections = (): BrokerPool => {
      const pool = new BrokerPool(this.#poolOptions)
      this.#consumerPools.add(pool)
      return pool
    }
    return WireConsumerSession.open(connections, this.#metadata, options)
  }

  async close(): Promise<void> {
    await Promise.all([this.#pool, ...this.#consumerPools].map((pool) => pool.close()))
  }

  get maxRequestBytes(): number {
    return this.#options.maxRequestBytes
  }

  leaderOf(topic: string, partition: number): Promise<BrokerConnection> {
    return this.#metadata.leaderOf(topic, partition)
  }

  staleMetadata(topic: string): void {
    this.#metadata.staleMetadata(topic)
  }

  /** A new producer id; the broker's transient refusals (its coordinator still loading) are waited out within the request timeout. */
  newProducerId(): Promise<BatchProducer> {
    return untilDeadline({
      timeoutMs: this.#options.requestTimeout,
      backoff: exponential(50, 1000),
      // Only the broker's refusals are waited out here; a connection that fails is the session's to report.
      retriable: (error) => error instanceof ProduceError && error.retriable,
      attempt: async () => {
        const connection = await this.#pool.anyConnection()
        const answer = readInitProducerId(await connection.request(API.initProducerId, [initProducerIdRequest()], this.#options.requestTimeout))
        if (answer.errorCode === 0) return { producerId: answer.producerId, producerEpoch: answer.producerEpoch, baseSequence: 0 }
        const code = kafkaErrorCode(answer.errorCode)
        throw new ProduceError(`InitProducerId refused by ${connection.address}: ${code.name}`, code.name, { retriable: code.retriable })
      },
      onDeadline: (lastRefusal) => lastRefusal,
    })
  }

  #unreachable(timeoutMs: number, cause: unknown): KafkaConnectionError {
    const reason = cause === undefined ? '' : `: ${messageOf(cause)}`
    return new KafkaConnectionError(`Kafka at ${this.brokers} did not answer within ${timeoutMs} ms${reason}`, { retriable: true, cause })
  }
}
