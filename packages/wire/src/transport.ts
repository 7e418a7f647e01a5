import type { ConnectionOptions } from 'node:tls'
import {
  KafkaConnectionError,
  ProduceError,
  TopicflowError,
  UnknownTopicError,
  exponential,
  type PartitionCountOptions,
  type ProducerSession,
  type ProducerSessionOptions,
  type Transport,
} from '@topicflow/core'
import { deadlinePassed, DEFAULT_MAX_BLOCK_MS, messageOf, untilDeadline, withTimeout } from '@topicflow/core/internal'
import { API, BrokerConnection } from './connection.js'
import { kafkaErrorCode } from './kafkaErrors.js'
import { initProducerIdRequest, metadataRequest, readInitProducerId, readMetadata, type MetadataResponse } from './messages.js'
import type { BatchProducer } from './recordBatch.js'
import type { SaslOptions } from './sasl.js'
import { BatchBuffers } from './batchBuffers.js'
import { WireSession, type SessionTransport } from './wireSession.js'

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
export function wireTransport(options: WireTransportOptions): Transport {
  return new WireTransport(options)
}

interface Address {
  readonly host: string
  readonly port: number
}

class WireTransport implements Transport, SessionTransport {
  readonly brokers: string
  readonly #options: Required<Omit<WireTransportOptions, 'ssl' | 'sasl'>> & Pick<WireTransportOptions, 'sasl'> & { readonly tls: ConnectionOptions | undefined }
  readonly #bootstrap: readonly Address[]
  readonly #connections = new Map<string, Promise<BrokerConnection>>()
  readonly #nodes = new Map<number, Address>()
  /** Leader node id of each partition, by topic; a topic is dropped when its leaders may be stale. */
  readonly #leaders = new Map<string, Int32Array>()
  readonly #refreshing = new Map<string, Promise<void>>()
  /** Record batch memory, reused across the sessions of this transport. */
  readonly batchBuffers = new BatchBuffers()
  #closed = false

  constructor(options: WireTransportOptions) {
    if (options.brokers.length === 0) throw new TypeError('wireTransport: brokers must list at least one host:port')
    this.#bootstrap = options.brokers.map(parseAddress)
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
  }

  async partitionCount(topic: string, options: PartitionCountOptions = {}): Promise<number> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_MAX_BLOCK_MS
    return untilDeadline({
      timeoutMs,
      backoff: exponential(50, 1000),
      attempt: async (deadline) => {
        const remaining = deadline - Date.now()
        const metadata = await withTimeout(this.#fetchMetadata([topic], remaining), remaining, deadlinePassed)
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
    await withTimeout(this.anyConnection(), options.connectTimeoutMs, () => this.#unreachable(options.connectTimeoutMs, undefined))
    return session
  }

  async close(): Promise<void> {
    this.#closed = true
    const connections = [...this.#connections.values()]
    this.#connections.clear()
    await Promise.all(connections.map((c) => c.then((connection) => connection.close()).catch(() => undefined)))
  }

  get maxRequestBytes(): number {
    return this.#options.maxRequestBytes
  }

  /** The leader of `topic`-`partition`, from metadata asked again when missing or dropped as stale. */
  async leaderOf(topic: string, partition: number): Promise<BrokerConnection> {
    let leaders = this.#leaders.get(topic)
    if (leaders === undefined) {
      await this.#refresh(topic)
      leaders = this.#leaders.get(topic)
    }
    const leader = leaders?.[partition] ?? -1
    const address = this.#nodes.get(leader)
    if (leader < 0 || address === undefined) {
      this.staleMetadata(topic)
      if (leaders !== undefined && partition >= leaders.length) throw new UnknownTopicError(`${topic} partition ${partition}`, { topic, partition, retriable: true })
      throw new ProduceError(`No leader for ${topic}-${partition} in metadata (LEADER_NOT_AVAILABLE)`, 'LEADER_NOT_AVAILABLE', { topic, partition, retriable: true })
    }
    return this.connectionTo(address)
  }

  staleMetadata(topic: string): void {
    this.#leaders.delete(topic)
  }

  /** A live connection if there is one, else the first bootstrap or known broker that answers. */
  async anyConnection(): Promise<BrokerConnection> {
    let lastError: unknown
    const candidates = [...this.#bootstrap, ...this.#nodes.values()]
    for (const address of candidates) {
      const open = this.#connections.get(key(address))
      if (open !== undefined) {
        try {
          return await open
        } catch (error) {
          lastError = error
        }
      }
    }
    for (const address of candidates) {
      try {
        return await this.connectionTo(address)
      } catch (error) {
        if (error instanceof TopicflowError && !error.retriable) throw error
        lastError = error
      }
    }
    throw lastError instanceof Error ? lastError : new KafkaConnectionError(`Cannot reach Kafka at ${this.brokers}`)
  }

  connectionTo(address: Address): Promise<BrokerConnection> {
    if (this.#closed) return Promise.reject(new KafkaConnectionError('The transport is closed', { retriable: false }))
    const id = key(address)
    const existing = this.#connections.get(id)
    if (existing !== undefined) return existing
    const opening = BrokerConnection.open({
      host: address.host,
      port: address.port,
      clientId: this.#options.clientId,
      tls: this.#options.tls,
      sasl: this.#options.sasl,
      connectTimeoutMs: this.#options.connectionTimeout,
    })
    this.#connections.set(id, opening)
    opening.then(
      (connection) =>
        connection.onClose(() => {
          if (this.#connections.get(id) === opening) this.#connections.delete(id)
          // Whoever led partitions through this broker may not any more.
          for (const [topic, leaders] of this.#leaders) {
            if (leaders.some((node) => this.#nodes.get(node) !== undefined && key(this.#nodes.get(node)!) === id)) this.#leaders.delete(topic)
          }
        }),
      () => {
        if (this.#connections.get(id) === opening) this.#connections.delete(id)
      },
    )
    return opening
  }

  /** One metadata request at a time per topic; callers during a refresh wait for it. */
  #refresh(topic: string): Promise<void> {
    let refreshing = this.#refreshing.get(topic)
    if (refreshing === undefined) {
      refreshing = this.#fetchMetadata([topic], this.#options.requestTimeout)
        .then((metadata) => {
          const described = metadata.topics.find((t) => t.name === topic)
          if (described === undefined || described.errorCode !== 0) {
            const code = kafkaErrorCode(described?.errorCode ?? 3)
            if (code.code === 3) throw new UnknownTopicError(topic, { retriable: true })
            throw new ProduceError(`Metadata for topic "${topic}": ${code.name}`, code.name, { topic, retriable: code.retriable })
          }
        })
        .finally(() => this.#refreshing.delete(topic))
      this.#refreshing.set(topic, refreshing)
    }
    return refreshing
  }

  async #fetchMetadata(topics: readonly string[], timeoutMs: number): Promise<MetadataResponse> {
    const connection = await this.anyConnection()
    const metadata = readMetadata(await connection.request(API.metadata, [metadataRequest(topics, this.#options.allowAutoTopicCreation)], Math.max(1, timeoutMs)))
    for (const broker of metadata.brokers) this.#nodes.set(broker.nodeId, { host: broker.host, port: broker.port })
    for (const topic of metadata.topics) {
      if (topic.errorCode !== 0 || topic.partitions.length === 0) continue
      const leaders = new Int32Array(topic.partitions.length).fill(-1)
      for (const p of topic.partitions) if (p.partition < leaders.length) leaders[p.partition] = p.errorCode === 0 ? p.leader : -1
      this.#leaders.set(topic.name, leaders)
    }
    return metadata
  }

  /** A new producer id; the broker's transient refusals (its coordinator still loading) are waited out within the request timeout. */
  newProducerId(): Promise<BatchProducer> {
    return untilDeadline({
      timeoutMs: this.#options.requestTimeout,
      backoff: exponential(50, 1000),
      // Only the broker's refusals are waited out here; a connection that fails is the session's to report.
      retriable: (error) => error instanceof ProduceError && error.retriable,
      attempt: async () => {
        const connection = await this.anyConnection()
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

function parseAddress(server: string): Address {
  const colon = server.lastIndexOf(':')
  const port = Number(server.slice(colon + 1))
  if (colon <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) throw new TypeError(`wireTransport: broker ${JSON.stringify(server)} is not host:port`)
  return { host: server.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port }
}

function key(address: Address): string {
  return `${address.host}:${address.port}`
}
