import { TopicflowError, exponential, type ConsumerSessionOptions, type FetchedRecord, type TopicPartition } from '@topicflow/core'
import type { BrokerPool } from './brokerPool.js'
import type { ClusterMetadata } from './clusterMetadata.js'
import { API } from './connection.js'
import { EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, fetchRequest, listOffsetsRequest, readFetch, readListOffsets, type FetchedPartition } from './consumerMessages.js'
import { OFFSET_OUT_OF_RANGE, STALE_METADATA, kafkaErrorCode } from './kafkaErrors.js'
import { decodeRecordBatches } from './recordBatchReader.js'

/** A partition's offset could not be found or was out of range with `auto.offset.reset` none, or a fetch was refused for good. */
export class FetchError extends TopicflowError {}

/** The fetch state of one assigned partition. A new assignment of the partition makes a new one. */
interface PartitionFetch extends TopicPartition {
  /** The offset the next fetch starts from. */
  offset: number
  /** Records of it are fetched and not yet polled: it is not fetched again until they are (bounded read-ahead). */
  buffered: boolean
  /** A fetch for it is in flight. */
  fetching: boolean
  /** After an error, it is not fetched before this time (Java's `retry.backoff.ms`). */
  retryAt: number
}

const retryBackoff = exponential(100, 1_000)
const key = (p: TopicPartition): string => `${p.topic}\u0000${p.partition}`

/**
 * Fetches the assigned partitions from their leaders: one Fetch in flight per broker, each naming every
 * partition of that broker that has nothing waiting to be polled, so at most one fetch response per
 * partition is held ahead of the caller (Java's fetcher does the same). Leader changes and broker restarts
 * are waited out through fresh metadata; an offset out of range is reset by `auto.offset.reset`.
 */
export class Fetcher {
  readonly #partitions = new Map<string, PartitionFetch>()
  /** Decoded records not yet polled, one entry per partition per fetch, in arrival order. */
  #ready: Array<{ readonly state: PartitionFetch; readonly records: FetchedRecord[] }> = []
  /** Brokers with a fetch in flight. */
  readonly #fetchingFrom = new Set<number>()
  /** The poll waiting for a fetch to end, if any. */
  #wake: (() => void) | undefined
  /** Set while fetches are being started; a second start request runs once more after it. */
  #starting = false
  #startAgain = false
  #retryTimer: NodeJS.Timeout | undefined
  #failure: TopicflowError | undefined
  #closed = false

  constructor(
    /** This consumer's own connections: a fetch waits up to fetch.max.wait.ms at the broker, which must not hold up a producer's requests (a broker answers one connection's requests in order). */
    readonly pool: BrokerPool,
    readonly metadata: ClusterMetadata,
    readonly options: ConsumerSessionOptions,
  ) {}

  /** Starts fetching partitions from the offsets given. */
  assign(positions: ReadonlyArray<TopicPartition & { readonly offset: number }>): void {
    for (const { topic, partition, offset } of positions) this.#partitions.set(key({ topic, partition }), { topic, partition, offset, buffered: false, fetching: false, retryAt: 0 })
    this.#start()
  }

  /** Stops fetching partitions and drops what was fetched of them and not polled. */
  revoke(partitions: readonly TopicPartition[]): void {
    for (const p of partitions) this.#partitions.delete(key(p))
    this.#ready = this.#ready.filter((chunk) => this.#partitions.get(key(chunk.state)) === chunk.state)
  }

  /** The session cannot go on: the next poll rejects with `error`. */
  fail(error: TopicflowError): void {
    this.#failure ??= error
    this.#wakePoll()
  }

  close(): void {
    this.#closed = true
    clearTimeout(this.#retryTimer)
    this.#partitions.clear()
    this.#ready = []
    this.#wakePoll()
  }

  /** Records fetched and not polled (one partition's, of one fetch), or none once a fetch ended without any. */
  async poll(): Promise<readonly FetchedRecord[]> {
    for (let waited = false; ; waited = true) {
      if (this.#failure !== undefined) throw this.#failure
      const chunk = this.#ready.shift()
      if (chunk !== undefined) {
        chunk.state.buffered = false
        this.#start()
        return chunk.records
      }
      if (waited || this.#closed) return []
      this.#start()
      // Woken by the end of any fetch; with nothing assigned, after fetch.max.wait.ms (no busy loop).
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.options.fetchMaxWaitMs + this.options.requestTimeoutMs)
        this.#wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
    }
  }

  #wakePoll(): void {
    const wake = this.#wake
    this.#wake = undefined
    wake?.()
  }

  /** Sends a fetch to every broker that has fetchable partitions and no fetch in flight. */
  #start(): void {
    if (this.#closed) return
    if (this.#starting) {
      this.#startAgain = true
      return
    }
    this.#starting = true
    void this.#startFetches().finally(() => {
      this.#starting = false
      if (this.#startAgain) {
        this.#startAgain = false
        this.#start()
      }
    })
  }

  async #startFetches(): Promise<void> {
    const now = Date.now()
    const byNode = new Map<number, PartitionFetch[]>()
    let nextRetry = Number.POSITIVE_INFINITY
    for (const state of [...this.#partitions.values()]) {
      if (state.fetching || state.buffered) continue
      if (state.retryAt > now) {
        nextRetry = Math.min(nextRetry, state.retryAt)
        continue
      }
      let node: number
      try {
        node = await this.metadata.leaderNode(state.topic, state.partition)
      } catch {
        state.retryAt = Date.now() + retryBackoff(1)
        nextRetry = Math.min(nextRetry, state.retryAt)
        continue
      }
      if (this.#partitions.get(key(state)) !== state || this.#fetchingFrom.has(node)) continue
      const list = byNode.get(node)
      if (list === undefined) byNode.set(node, [state])
      else list.push(state)
    }
    for (const [node, states] of byNode) void this.#fetchFrom(node, states)
    if (nextRetry !== Number.POSITIVE_INFINITY && this.#retryTimer === undefined) {
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = undefined
        this.#start()
      }, Math.max(1, nextRetry - Date.now()))
    }
  }

  async #fetchFrom(node: number, states: readonly PartitionFetch[]): Promise<void> {
    const { fetchMaxWaitMs, fetchMinBytes, fetchMaxBytes, maxPartitionFetchBytes, isolationLevel, requestTimeoutMs } = this.options
    this.#fetchingFrom.add(node)
    for (const state of states) state.fetching = true
    try {
      const address = this.metadata.pool.node(node)
      if (address === undefined) throw new TopicflowError(`broker ${node} is not in metadata`, { retriable: true })
      const connection = await this.pool.connectionTo(address)
      const body = fetchRequest({
        maxWaitMs: fetchMaxWaitMs,
        minBytes: fetchMinBytes,
        maxBytes: fetchMaxBytes,
        isolationLevel: isolationLevel === 'read_committed' ? 1 : 0,
        partitions: states.map(({ topic, partition, offset }) => ({ topic, partition, offset, maxBytes: maxPartitionFetchBytes })),
      })
      const response = readFetch(await connection.request(API.fetch, [body], requestTimeoutMs + fetchMaxWaitMs))
      if (response.errorCode !== 0) throw new TopicflowError(`Fetch from ${connection.address}: ${kafkaErrorCode(response.errorCode).name}`, { retriable: true })
      const sent = new Map(states.map((state) => [key(state), state]))
      for (const answer of response.partitions) {
        const state = sent.get(key(answer))
        if (state !== undefined) await this.#take(state, answer)
      }
    } catch (error) {
      if (error instanceof TopicflowError && !error.retriable) this.fail(error)
      for (const state of states) {
        state.retryAt = Date.now() + retryBackoff(1)
        this.metadata.staleMetadata(state.topic)
      }
    } finally {
      for (const state of states) state.fetching = false
      this.#fetchingFrom.delete(node)
      this.#wakePoll()
      this.#start()
    }
  }

  /** One partition's part of a fetch answer: its records decoded and queued, or its error handled. */
  async #take(state: PartitionFetch, answer: FetchedPartition): Promise<void> {
    if (this.#partitions.get(key(state)) !== state) return
    if (answer.errorCode === OFFSET_OUT_OF_RANGE) {
      const [reset] = await this.resetOffsets([state], `offset ${state.offset} is out of range`)
      if (reset !== undefined && this.#partitions.get(key(state)) === state) state.offset = reset.offset
      return
    }
    if (answer.errorCode !== 0) {
      const code = kafkaErrorCode(answer.errorCode)
      if (!code.retriable && !STALE_METADATA.has(code.code)) throw new FetchError(`Fetch of ${state.topic}-${state.partition} refused: ${code.name}`, { topic: state.topic, partition: state.partition, offset: state.offset })
      this.metadata.staleMetadata(state.topic)
      state.retryAt = Date.now() + retryBackoff(1)
      return
    }
    const decoded = await decodeRecordBatches(answer.records, {
      topic: state.topic,
      partition: state.partition,
      fetchOffset: state.offset,
      readCommitted: this.options.isolationLevel === 'read_committed',
      abortedTransactions: answer.abortedTransactions,
    })
    if (this.#partitions.get(key(state)) !== state) return
    if (decoded.nextOffset > state.offset) state.offset = decoded.nextOffset
    if (decoded.records.length > 0) {
      state.buffered = true
      this.#ready.push({ state, records: decoded.records })
    }
  }

  /**
   * Where partitions without a usable offset start: the log's start or end (`auto.offset.reset`), from their
   * leaders (ListOffsets); `none` refuses with a `FetchError`. Resolves with the offset of each.
   */
  async resetOffsets(partitions: readonly TopicPartition[], why: string): Promise<Array<TopicPartition & { offset: number }>> {
    const reset = this.options.autoOffsetReset
    if (reset === 'none') {
      const error = new FetchError(`${partitions.map((p) => `${p.topic}-${p.partition}`).join(', ')}: ${why} and auto.offset.reset is none`, { topic: partitions[0]?.topic, partition: partitions[0]?.partition })
      this.fail(error)
      throw error
    }
    const timestamp = reset === 'earliest' ? EARLIEST_TIMESTAMP : LATEST_TIMESTAMP
    const isolation = this.options.isolationLevel === 'read_committed' ? 1 : 0
    const found: Array<TopicPartition & { offset: number }> = []
    let remaining = [...partitions]
    for (let attempt = 1; remaining.length > 0; attempt++) {
      if (this.#closed) throw new FetchError('The consumer is closed')
      const byNode = new Map<number, TopicPartition[]>()
      for (const p of remaining) {
        try {
          const node = await this.metadata.leaderNode(p.topic, p.partition)
          byNode.set(node, [...(byNode.get(node) ?? []), p])
        } catch {
          // no leader known yet: asked again below
        }
      }
      for (const [node, list] of byNode) {
        try {
          const connection = await this.pool.connectionTo(this.metadata.pool.node(node)!)
          const answers = readListOffsets(await connection.request(API.listOffsets, [listOffsetsRequest(isolation, list.map((p) => ({ ...p, timestamp })))], this.options.requestTimeoutMs))
          for (const answer of answers) {
            if (answer.errorCode === 0) found.push({ topic: answer.topic, partition: answer.partition, offset: answer.offset })
          }
        } catch (error) {
          if (error instanceof TopicflowError && !error.retriable) throw error
        }
      }
      const answered = new Set(found.map(key))
      remaining = remaining.filter((p) => !answered.has(key(p)))
      if (remaining.length > 0) {
        for (const p of remaining) this.metadata.staleMetadata(p.topic)
        if (attempt > 50) throw new FetchError(`ListOffsets for ${remaining.map((p) => `${p.topic}-${p.partition}`).join(', ')} got no answer from their leaders`)
        await new Promise((resolve) => setTimeout(resolve, retryBackoff(attempt)))
      }
    }
    return found
  }
}
