import type { ConsumerSession, ConsumerSessionOptions, FetchedRecord, GroupGeneration, OffsetToCommit, TopicPartition } from '@topicflow/core'
import type { BrokerPool } from './brokerPool.js'
import type { ClusterMetadata } from './clusterMetadata.js'
import { Fetcher } from './fetcher.js'
import { GroupMembership, type MembershipListener } from './groupMembership.js'

/**
 * A consumer-group member of the wire transport: `GroupMembership` keeps it in the group and commits,
 * `Fetcher` reads its partitions. On an assignment the partitions start from the group's committed
 * offsets (or `auto.offset.reset`); on a revocation their fetching stops and what was fetched of them is
 * dropped before the caller's listener drains and commits them.
 */
export class WireConsumerSession implements ConsumerSession {
  readonly #membership: GroupMembership
  readonly #fetcher: Fetcher

  readonly #pools: readonly BrokerPool[]

  /**
   * `connections` makes a pool of this session's own: one for fetching, one for the coordinator (Java's
   * consumer keeps its coordinator connection apart too), since a broker answers a connection's requests in
   * order and a JoinGroup or a long-polling Fetch would hold up whatever queued behind it.
   */
  private constructor(connections: () => BrokerPool, metadata: ClusterMetadata, readonly options: ConsumerSessionOptions) {
    const fetching = connections()
    const coordinating = connections()
    this.#pools = [fetching, coordinating]
    this.#fetcher = new Fetcher(fetching, metadata, options)
    this.#membership = new GroupMembership(coordinating, metadata, options, this.#listener)
  }

  /** Joins the group; resolves once the first round has ended and its assignment was told to the listener. */
  static async open(connections: () => BrokerPool, metadata: ClusterMetadata, options: ConsumerSessionOptions): Promise<WireConsumerSession> {
    const session = new WireConsumerSession(connections, metadata, options)
    try {
      await session.#membership.join()
    } catch (error) {
      await session.close()
      throw error
    }
    return session
  }

  readonly #listener: MembershipListener = {
    assigned: async (partitions) => {
      const committed = await this.#membership.committed(partitions)
      const starts = committed.filter((c) => c.offset >= 0).map(({ topic, partition, offset }) => ({ topic, partition, offset }))
      const unset = committed.filter((c) => c.offset < 0)
      if (unset.length > 0) starts.push(...(await this.#fetcher.resetOffsets(unset, 'no committed offset')))
      this.options.listener.assigned(partitions)
      this.#fetcher.assign(starts)
    },
    revoked: async (partitions) => {
      this.#fetcher.revoke(partitions)
      await this.options.listener.revoked(partitions)
    },
    lost: (partitions) => {
      this.#fetcher.revoke(partitions)
      this.options.listener.lost(partitions)
    },
    failed: (error) => this.#fetcher.fail(error),
  }

  poll(): Promise<readonly FetchedRecord[]> {
    return this.#fetcher.poll()
  }

  commit(offsets: readonly OffsetToCommit[]): Promise<void> {
    return this.#membership.commit(offsets)
  }

  get assignment(): readonly TopicPartition[] {
    return this.#membership.assignment
  }

  get generation(): GroupGeneration | undefined {
    return this.#membership.generation
  }

  async close(): Promise<void> {
    this.#fetcher.close()
    await this.#membership.leave()
    await Promise.all(this.#pools.map((pool) => pool.close()))
  }
}
