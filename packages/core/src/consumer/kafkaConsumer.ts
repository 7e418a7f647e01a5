import type { Subscription } from 'rxjs'
import type { ConsumerSession, ConsumerTransport, FetchedRecord, GroupGeneration, OffsetToCommit, RebalanceListener, TopicPartition } from '../consumerTransport.js'
import { InvalidOptionError, TopicflowError, messageOf } from '../errors.js'
import { integerOption } from '../options.js'
import type { Consumed } from './consumedRecord.js'
import { consumerConfig, type ConsumerConfig, type KafkaConsumerOptions } from './options.js'
import { PartitionLedger } from './partitionLedger.js'

/** Where a consumer is in its life. Transitions happen in `KafkaConsumer` only, through `#enter`. */
export enum ConsumerState {
  /** Made; nothing opened yet. */
  Created = 'created',
  /** Joining the group for the first time. */
  Joining = 'joining',
  /** A member of the group, reading. */
  Running = 'running',
  /** Closing: the source reads no more; what was read drains, is committed, and the member leaves. */
  Closing = 'closing',
  /** Left the group. */
  Closed = 'closed',
}

/** Counts a consumer keeps. */
export interface ConsumerStats {
  /** Records emitted by its sources. */
  consumed: number
  /** Of those, the ones whose offsets are committed (done, and passed by a commit that succeeded). */
  committed: number
  /** Offset commit requests that succeeded. */
  commits: number
  /** Rebalances that took partitions from this member (revoked or lost). */
  revocations: number
}

/**
 * A consumer-group member for topicflow's read side: it joins `groupId` through a `ConsumerTransport`,
 * hands fetched records to `fromKafka`, and commits each partition's offset only up to the records that
 * are done: everything made from them (by `serializeFrom`) delivered or dead-lettered, as the reports that
 * `commitOffsets` sees say. Commits go out every `commitIntervalMs` or `commitBatchRecords` done records,
 * one at a time; on a rebalance, the revoked partitions are drained (their records finish) and committed
 * before the member rejoins, and nothing of them is committed after; on `close()`, everything read drains,
 * is committed, and the member leaves the group. Guarantee: at least once.
 *
 * @example
 * const consumer = new KafkaConsumer(transport, { groupId: 'enrich', topics: ['orders'], autoOffsetReset: 'earliest' })
 * const sink = new KafkaSink(transport)
 * fromKafka(consumer, { value: json<Order>(), sink })
 *   .pipe(serializeFrom('orders-enriched', json(), (order) => enrich(order.value)), partition(sink), batch(), toKafka(sink), commitOffsets(consumer))
 *   .subscribe()
 */
export class KafkaConsumer {
  readonly config: ConsumerConfig
  readonly stats: ConsumerStats = { consumed: 0, committed: 0, commits: 0, revocations: 0 }
  #state = ConsumerState.Created
  /** The group session, once opening started. */
  #session: Promise<ConsumerSession> | undefined
  /** The ledger of each partition assigned now, by `topic\0partition`. */
  readonly #ledgers = new Map<string, PartitionLedger>()
  /** Records done since the last commit was taken: `commitBatchRecords` of them start one early. */
  #doneSinceCommit = 0
  /** The commit under way, if any: one at a time, so that commits are never reordered. */
  #committing: Promise<void> | undefined
  /** The interval timer, running while the consumer runs. */
  #commitTimer: Subscription | undefined
  /** Woken whenever a ledger's watermark moves (drains wait on it). */
  #progress: Array<() => void> = []
  /** Woken once the consumer starts closing (a source waiting on a poll stops). */
  readonly #closeRequested: Promise<void>
  #requestClose!: () => void
  /** The close under way, if any. */
  #closed: Promise<void> | undefined
  /** The first commit failure that cannot be retried, for `commitOffsets` to surface. */
  #failure: TopicflowError | undefined

  constructor(
    readonly transport: ConsumerTransport,
    options: KafkaConsumerOptions,
  ) {
    if (typeof transport?.openConsumer !== 'function') throw new InvalidOptionError('KafkaConsumer.transport', 'a transport that can consume (openConsumer)', transport)
    this.config = consumerConfig(options)
    this.#closeRequested = new Promise<void>((resolve) => (this.#requestClose = resolve))
  }

  get state(): ConsumerState {
    return this.#state
  }

  /** True once `close()` was called: sources read no more and complete. */
  get closing(): boolean {
    return this.#state === ConsumerState.Closing || this.#state === ConsumerState.Closed
  }

  /** The partitions assigned now. */
  get assignment(): readonly TopicPartition[] {
    return [...this.#ledgers.values()].filter((ledger) => !ledger.retired).map(({ topic, partition }) => ({ topic, partition }))
  }

  /** The group generation now (for transactions that commit offsets, KIP-447), undefined until joined. */
  async generation(): Promise<GroupGeneration | undefined> {
    return this.#session === undefined ? undefined : (await this.#session).generation
  }

  /** A commit failure that cannot be retried, once one happened. */
  get failure(): TopicflowError | undefined {
    return this.#failure
  }

  /** Joins the group (once; later calls share the first). */
  open(): Promise<ConsumerSession> {
    if (this.#session === undefined) {
      if (this.closing) return Promise.reject(new TopicflowError(`The consumer of group "${this.config.groupId}" is closed`))
      this.#enter(ConsumerState.Joining)
      this.#session = this.transport.openConsumer({ ...this.config, listener: this.#listener }).then((session) => {
        if (this.#state === ConsumerState.Joining) this.#enter(ConsumerState.Running)
        return session
      })
    }
    return this.#session
  }

  /** The next fetched records, or none once closing (the source then completes). */
  async poll(): Promise<readonly FetchedRecord[]> {
    if (this.closing) return []
    const session = await this.open()
    const polled = await Promise.race([session.poll(), this.#closeRequested.then(() => [] as const)])
    return this.closing ? [] : polled
  }

  /** The ledger a fetched record belongs to now, undefined when its partition was revoked since it was fetched. */
  ledgerFor(topic: string, partition: number): PartitionLedger | undefined {
    const ledger = this.#ledgers.get(`${topic}\u0000${partition}`)
    return ledger === undefined || ledger.retired ? undefined : ledger
  }

  /** A record's emission returned: nothing more will be made from it. */
  seal(record: Consumed<unknown, unknown>): void {
    this.stats.consumed++
    record.sealed = true
    if (record.outputs === 0) this.#maybeDone(record)
  }

  /** One record made from `record` has ended (delivered, dead-lettered, or its handler's promise settled). */
  settle(record: Consumed<unknown, unknown>): void {
    record.settled++
    if (record.settled === record.outputs) this.#maybeDone(record)
  }

  #maybeDone(record: Consumed<unknown, unknown>): void {
    if (!record.done || !record.ledger.advance()) return
    this.#doneSinceCommit++
    if (this.#progress.length > 0) {
      const waiting = this.#progress
      this.#progress = []
      for (const wake of waiting) wake()
    }
    if (this.#doneSinceCommit >= this.config.commitBatchRecords && !record.ledger.retired) void this.commit()
  }

  /**
   * Commits every assigned partition's watermark that moved since the last commit, after the commit under
   * way (if any). A retriable failure gives the offsets back for the next commit; another is kept in
   * `failure` (and `commitOffsets` errors its stream with it).
   */
  commit(): Promise<void> {
    return this.#enqueueCommit(() => [...this.#ledgers.values()])
  }

  /** Runs a commit of the ledgers `pick` gives once the commit before it has ended. */
  #enqueueCommit(pick: () => readonly PartitionLedger[]): Promise<void> {
    const previous = this.#committing ?? Promise.resolve()
    const next = previous.then(() => this.#commitLedgers(pick()))
    this.#committing = next
    void next.finally(() => {
      if (this.#committing === next) this.#committing = undefined
    })
    return next
  }

  async #commitLedgers(ledgers: readonly PartitionLedger[]): Promise<void> {
    this.#doneSinceCommit = 0
    const taken: Array<{ ledger: PartitionLedger; offset: OffsetToCommit; records: number }> = []
    for (const ledger of ledgers) {
      const records = ledger.passedSinceTake
      const offset = ledger.takeCommit()
      if (offset !== undefined) taken.push({ ledger, offset, records })
    }
    if (taken.length === 0) return
    const session = await this.open()
    try {
      await session.commit(taken.map((t) => t.offset))
      this.stats.commits++
      for (const t of taken) this.stats.committed += t.records
    } catch (error) {
      for (const t of taken) t.ledger.untake(t.offset, t.records)
      if (error instanceof TopicflowError && error.retriable) return
      this.#failure ??= error instanceof TopicflowError ? error : new TopicflowError(`Offset commit failed: ${messageOf(error)}`, { cause: error })
    }
  }

  /**
   * Stops reading, waits up to `timeoutMs` for everything read to be done, commits it and leaves the group.
   * Called by `commitOffsets` when its stream ends; a second call waits for the first.
   */
  close(options: { readonly timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = integerOption('KafkaConsumer.close.timeoutMs', options.timeoutMs, 30_000, 0)
    if (this.#closed === undefined) {
      const opened = this.#session
      this.#enter(ConsumerState.Closing)
      this.#closed = (async () => {
        if (opened !== undefined) {
          const session = await opened.catch(() => undefined)
          if (session !== undefined) {
            await this.#drained([...this.#ledgers.values()], timeoutMs)
            await this.commit()
            await session.close().catch(() => undefined)
          }
        }
        this.#enter(ConsumerState.Closed)
      })()
    }
    return this.#closed
  }

  /** The rebalance callbacks the session calls. */
  readonly #listener: RebalanceListener = {
    assigned: (partitions) => {
      for (const { topic, partition } of partitions) this.#ledgers.set(`${topic}\u0000${partition}`, new PartitionLedger(topic, partition, this))
    },
    revoked: async (partitions) => {
      const ledgers = this.#retire(partitions)
      // Drain within the rebalance timeout, leaving time to commit and rejoin; what is not done by then is read again by the next owner.
      await this.#drained(ledgers, Math.max(0, this.config.maxPollIntervalMs - this.config.requestTimeoutMs))
      await this.#enqueueCommit(() => ledgers)
    },
    lost: (partitions) => {
      this.#retire(partitions)
    },
  }

  /** Takes partitions out of the assignment: their records are emitted no more, and only the revocation commits them. */
  #retire(partitions: readonly TopicPartition[]): PartitionLedger[] {
    const retired: PartitionLedger[] = []
    for (const { topic, partition } of partitions) {
      const id = `${topic}\u0000${partition}`
      const ledger = this.#ledgers.get(id)
      if (ledger === undefined) continue
      ledger.retired = true
      this.#ledgers.delete(id)
      retired.push(ledger)
    }
    if (retired.length > 0) this.stats.revocations++
    return retired
  }

  /** Resolves once every record of `ledgers` is done, or after `timeoutMs`. */
  async #drained(ledgers: readonly PartitionLedger[], timeoutMs: number): Promise<void> {
    let timedOut = false
    const timer = this.config.scheduler.schedule(() => {
      timedOut = true
      for (const wake of this.#progress.splice(0)) wake()
    }, timeoutMs)
    try {
      while (!timedOut && ledgers.some((ledger) => ledger.inFlight > 0)) await new Promise<void>((resolve) => this.#progress.push(resolve))
    } finally {
      timer.unsubscribe()
    }
  }

  #enter(state: ConsumerState): void {
    this.#state = state
    switch (state) {
      case ConsumerState.Running:
        if (this.config.commitIntervalMs > 0) this.#scheduleCommit()
        break
      case ConsumerState.Closing:
        this.#requestClose()
        break
      case ConsumerState.Closed:
        this.#commitTimer?.unsubscribe()
        break
    }
  }

  #scheduleCommit(): void {
    this.#commitTimer = this.config.scheduler.schedule(() => {
      if (this.closing) return
      void this.commit().finally(() => {
        if (!this.closing) this.#scheduleCommit()
      })
    }, this.config.commitIntervalMs)
  }
}
