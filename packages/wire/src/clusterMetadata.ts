import { ProduceError, UnknownTopicError } from '@topicflow/core'
import { API, type BrokerConnection } from './connection.js'
import { kafkaErrorCode } from './kafkaErrors.js'
import { metadataRequest, readMetadata, type MetadataResponse } from './messages.js'
import { addressKey, type BrokerAddress, type BrokerPool } from './brokerPool.js'

/**
 * What the cluster's metadata said of each topic's partition leaders, asked again when missing or stale:
 * one metadata request at a time per topic, and the topics led through a broker whose connection closed
 * forgotten (`brokerLost`), as Java's `Metadata` requests an update on a disconnect.
 */
export class ClusterMetadata {
  /** Leader node id of each partition, by topic; a topic is dropped when its leaders may be stale. */
  readonly #leaders = new Map<string, Int32Array>()
  readonly #refreshing = new Map<string, Promise<void>>()

  constructor(
    readonly pool: BrokerPool,
    readonly options: { readonly requestTimeoutMs: number; readonly allowAutoTopicCreation: boolean },
  ) {}

  /** The leader's node id of `topic`-`partition`, from metadata asked again when missing or dropped as stale. */
  async leaderNode(topic: string, partition: number): Promise<number> {
    let leaders = this.#leaders.get(topic)
    if (leaders === undefined) {
      await this.#refresh(topic)
      leaders = this.#leaders.get(topic)
    }
    const leader = leaders?.[partition] ?? -1
    if (leader < 0 || this.pool.node(leader) === undefined) {
      this.staleMetadata(topic)
      if (leaders !== undefined && partition >= leaders.length) throw new UnknownTopicError(`${topic} partition ${partition}`, { topic, partition, retriable: true })
      throw new ProduceError(`No leader for ${topic}-${partition} in metadata (LEADER_NOT_AVAILABLE)`, 'LEADER_NOT_AVAILABLE', { topic, partition, retriable: true })
    }
    return leader
  }

  /** The connection to the leader of `topic`-`partition`. */
  async leaderOf(topic: string, partition: number): Promise<BrokerConnection> {
    const node = await this.leaderNode(topic, partition)
    return this.pool.connectionTo(this.pool.node(node)!)
  }

  /** Forgets the topic's leaders, so that the next request asks for metadata again. */
  staleMetadata(topic: string): void {
    this.#leaders.delete(topic)
  }

  /** A broker's connection closed: whoever led partitions through it may not any more. */
  brokerLost(address: BrokerAddress): void {
    const lost = addressKey(address)
    for (const [topic, leaders] of this.#leaders) {
      if (leaders.some((node) => {
        const known = this.pool.node(node)
        return known !== undefined && addressKey(known) === lost
      })) this.#leaders.delete(topic)
    }
  }

  /** Asks for the metadata of `topics` (the brokers and leaders it names are learned), within `timeoutMs`. */
  async fetch(topics: readonly string[], timeoutMs: number): Promise<MetadataResponse> {
    const connection = await this.pool.anyConnection()
    const metadata = readMetadata(await connection.request(API.metadata, [metadataRequest(topics, this.options.allowAutoTopicCreation)], Math.max(1, timeoutMs)))
    this.pool.learn(metadata.brokers)
    for (const topic of metadata.topics) {
      if (topic.errorCode !== 0 || topic.partitions.length === 0) continue
      const leaders = new Int32Array(topic.partitions.length).fill(-1)
      for (const p of topic.partitions) if (p.partition < leaders.length) leaders[p.partition] = p.errorCode === 0 ? p.leader : -1
      this.#leaders.set(topic.name, leaders)
    }
    return metadata
  }

  /** One metadata request at a time per topic; callers during a refresh wait for it. */
  #refresh(topic: string): Promise<void> {
    let refreshing = this.#refreshing.get(topic)
    if (refreshing === undefined) {
      refreshing = this.fetch([topic], this.options.requestTimeoutMs)
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
}
