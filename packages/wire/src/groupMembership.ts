import { CommitError, GroupError, KafkaConnectionError, TopicflowError, exponential, type ConsumerSessionOptions, type GroupGeneration, type OffsetToCommit, type TopicPartition } from '@topicflow/core'
import { messageOf, sleep } from '@topicflow/core/internal'
import { ASSIGNORS, type Assignor, type GroupMember } from './assignors.js'
import type { BrokerPool } from './brokerPool.js'
import type { ClusterMetadata } from './clusterMetadata.js'
import type { Reader } from './protocol.js'
import { API, CONSUMER_APIS, type Api, type BrokerConnection } from './connection.js'
import {
  decodeAssignment,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
  findCoordinatorRequest,
  heartbeatRequest,
  joinGroupRequest,
  leaveGroupRequest,
  offsetCommitRequest,
  offsetFetchRequest,
  readHeartbeat,
  readFindCoordinator,
  readJoinGroup,
  readLeaveGroup,
  readOffsetCommit,
  readOffsetFetch,
  readSyncGroup,
  syncGroupRequest,
  type CommittedOffset,
  type MemberIdentity,
} from './consumerMessages.js'
import {
  COORDINATOR_LOADING,
  COORDINATOR_MOVED,
  FENCED_INSTANCE_ID,
  ILLEGAL_GENERATION,
  MEMBER_ID_REQUIRED,
  REBALANCE_IN_PROGRESS,
  UNKNOWN_MEMBER_ID,
  kafkaErrorCode,
} from './kafkaErrors.js'

/** Where a member is in the classic group protocol. Transitions happen in `#enter` only. */
export enum MemberState {
  /** Not in the group: before the first join, or after losing its membership. */
  Unjoined = 'unjoined',
  /** A JoinGroup/SyncGroup round is under way (revocations first, for an eager protocol). */
  Joining = 'joining',
  /** Assigned and heartbeating. */
  Stable = 'stable',
  /** Left (or, a static member, stopped); nothing more is sent. */
  Left = 'left',
}

/** What the membership tells its session: the partitions that come and go, in the order the protocol fixes. */
export interface MembershipListener {
  /** Partitions gained in a generation: called before the round ends, so fetching starts from their committed offsets. */
  assigned(partitions: readonly TopicPartition[]): Promise<void>
  /** Partitions given up in an orderly rebalance, before the member rejoins (eager) or after the round (cooperative). */
  revoked(partitions: readonly TopicPartition[]): Promise<void>
  /** Partitions lost without a rebalance: the member's generation ended (session expired, fenced). */
  lost(partitions: readonly TopicPartition[]): void
  /** The member cannot go on (fenced for good, refused by the group): every later poll fails with it. */
  failed(error: TopicflowError): void
}

const backoff = exponential(100, 2_000)

/**
 * One member of a consumer group under the classic protocol (KIP-429 cooperative rebalancing included):
 * it finds the coordinator, joins (with the member id the broker hands out, KIP-394, or as a static member,
 * KIP-345), leads the assignment when chosen, heartbeats, rejoins when the group rebalances, and commits
 * and fetches offsets under its generation. Every request goes to the coordinator; a coordinator that
 * moves or restarts is looked up again.
 */
export class GroupMembership {
  #state = MemberState.Unjoined
  /** The coordinator's connection, looked up again after NOT_COORDINATOR or a closed connection. */
  #coordinator: Promise<BrokerConnection> | undefined
  /** Given by the broker on the first join (MEMBER_ID_REQUIRED) and kept across rejoins. */
  #memberId = ''
  #generationId = -1
  /** Partitions owned in the current generation. */
  #owned: TopicPartition[] = []
  /** The strategy the group chose in the last round (decides eager or cooperative revocation). */
  #protocol: Assignor
  /** A round in progress (joins are never run twice at once). */
  #round: Promise<void> | undefined
  /** Set by a heartbeat that saw REBALANCE_IN_PROGRESS, or by a cooperative round that revoked partitions. */
  #rejoinNeeded = false
  #heartbeats: NodeJS.Timeout | undefined
  readonly #assignors: readonly Assignor[]

  constructor(
    /** The member's own connections, for the coordinator: JoinGroup waits there for the whole group, and nothing else may queue behind it. */
    readonly pool: BrokerPool,
    readonly metadata: ClusterMetadata,
    readonly options: ConsumerSessionOptions,
    readonly listener: MembershipListener,
  ) {
    this.#assignors = options.assignors.map((name) => ASSIGNORS[name])
    this.#protocol = this.#assignors[0]!
  }

  get state(): MemberState {
    return this.#state
  }

  get assignment(): readonly TopicPartition[] {
    return this.#owned
  }

  get generation(): GroupGeneration | undefined {
    if (this.#state !== MemberState.Stable) return undefined
    return { groupId: this.options.groupId, generationId: this.#generationId, memberId: this.#memberId, groupInstanceId: this.options.groupInstanceId }
  }

  get #identity(): MemberIdentity {
    return { groupId: this.options.groupId, memberId: this.#memberId, groupInstanceId: this.options.groupInstanceId ?? null }
  }

  /** Joins (or rejoins) the group: resolves once a round ended with this member stable. */
  join(): Promise<void> {
    if (this.#round === undefined) {
      this.#round = this.#joinRounds().finally(() => (this.#round = undefined))
    }
    return this.#round
  }

  async #joinRounds(): Promise<void> {
    this.#enter(MemberState.Joining)
    for (let attempt = 1; this.#state === MemberState.Joining; ) {
      this.#rejoinNeeded = false
      try {
        // Eager protocols give up everything before rejoining; cooperative ones keep what they own.
        if (!this.#protocol.cooperative && this.#owned.length > 0) {
          const revoked = this.#owned
          this.#owned = []
          await this.listener.revoked(revoked)
        }
        if (await this.#joinOnce()) attempt = 1
        if (!this.#rejoinNeeded) this.#enter(MemberState.Stable)
      } catch (error) {
        // leave() may have run while this round waited.
        if ((this.#state as MemberState) === MemberState.Left) return
        if (error instanceof TopicflowError && !error.retriable) {
          this.listener.failed(error)
          this.#enter(MemberState.Left)
          throw error
        }
        await sleep(backoff(attempt++))
      }
    }
  }

  /** One JoinGroup and SyncGroup; true when the member came out of it with a generation. */
  async #joinOnce(): Promise<boolean> {
    const { groupId, sessionTimeoutMs, maxPollIntervalMs, topics } = this.options
    const coordinator = await this.#coordinatorConnection()
    const protocols = this.#assignors.map((assignor) => ({
      name: assignor.name,
      metadata: encodeSubscription({ topics, userData: assignor.userData(this.#generationId), ownedPartitions: this.#owned }),
    }))
    // JoinGroup waits for the whole group to join: up to the rebalance timeout, plus the usual bound.
    const join = readJoinGroup(
      await coordinator.request(API.joinGroup, [joinGroupRequest({ ...this.#identity, sessionTimeoutMs, rebalanceTimeoutMs: maxPollIntervalMs, protocols })], maxPollIntervalMs + this.options.requestTimeoutMs),
    )
    if (join.errorCode === MEMBER_ID_REQUIRED) {
      this.#memberId = join.memberId
      this.#rejoinNeeded = true
      return false
    }
    if (join.errorCode !== 0) return this.#groupRefusal('JoinGroup', join.errorCode)
    this.#memberId = join.memberId
    this.#generationId = join.generationId
    this.#protocol = this.#assignors.find((assignor) => assignor.name === join.protocolName) ?? this.#protocol
    const assignments = join.leader === join.memberId ? await this.#lead(join.members) : []
    const sync = readSyncGroup(await coordinator.request(API.syncGroup, [syncGroupRequest(this.#identity, this.#generationId, assignments)], this.options.requestTimeoutMs))
    if (sync.errorCode !== 0) return this.#groupRefusal('SyncGroup', sync.errorCode)
    await this.#takeAssignment(decodeAssignment(sync.assignment))
    return true
  }

  /** The leader's work: every member's subscription read, the strategy run over the topics' partition counts. */
  async #lead(joined: ReadonlyArray<{ memberId: string; groupInstanceId: string | null; metadata: Buffer }>): Promise<Array<{ memberId: string; assignment: Buffer }>> {
    const members: GroupMember[] = joined.map(({ memberId, groupInstanceId, metadata }) => {
      const subscription = decodeSubscription(metadata)
      return { memberId, groupInstanceId, topics: subscription.topics, ownedPartitions: subscription.ownedPartitions, generation: this.#protocol.generationOf(subscription.userData) }
    })
    const topics = [...new Set(members.flatMap((m) => m.topics))]
    const described = await this.metadata.fetch(topics, this.options.requestTimeoutMs)
    const partitionsPerTopic = new Map<string, number>()
    for (const topic of described.topics) if (topic.errorCode === 0 && topic.partitions.length > 0) partitionsPerTopic.set(topic.name, topic.partitions.length)
    const assignment = this.#protocol.assign(members, partitionsPerTopic)
    return members.map(({ memberId }) => ({ memberId, assignment: encodeAssignment(assignment.get(memberId) ?? []) }))
  }

  /** The new generation's partitions: what was owned and is not any more is revoked, what is new is assigned. */
  async #takeAssignment(assigned: readonly TopicPartition[]): Promise<void> {
    const key = (p: TopicPartition): string => `${p.topic}\u0000${p.partition}`
    const now = new Set(assigned.map(key))
    const before = new Set(this.#owned.map(key))
    const revoked = this.#owned.filter((p) => !now.has(key(p)))
    const added = assigned.filter((p) => !before.has(key(p)))
    if (revoked.length > 0) {
      this.#owned = this.#owned.filter((p) => now.has(key(p)))
      await this.listener.revoked(revoked)
      // KIP-429: partitions given up go to their new owner in a follow-up round.
      this.#rejoinNeeded = true
    }
    this.#owned = [...this.#owned, ...added]
    if (added.length > 0) await this.listener.assigned(added)
  }

  /** A JoinGroup or SyncGroup error: decides between trying again (false) and failing (throws). */
  #groupRefusal(request: string, errorCode: number): false {
    const code = kafkaErrorCode(errorCode)
    if (COORDINATOR_MOVED.has(errorCode)) this.#coordinator = undefined
    if (errorCode === UNKNOWN_MEMBER_ID || errorCode === ILLEGAL_GENERATION) this.#loseMembership(errorCode === UNKNOWN_MEMBER_ID)
    if (COORDINATOR_MOVED.has(errorCode) || errorCode === COORDINATOR_LOADING || errorCode === UNKNOWN_MEMBER_ID || errorCode === ILLEGAL_GENERATION || errorCode === REBALANCE_IN_PROGRESS) {
      throw new GroupError(`${request} for group "${this.options.groupId}": ${code.name}`, code.name, { retriable: true })
    }
    throw new GroupError(
      `${request} for group "${this.options.groupId}" refused: ${code.name}${errorCode === FENCED_INSTANCE_ID ? ` (another member runs with group.instance.id "${this.options.groupInstanceId}")` : ''}`,
      code.name,
      { retriable: false },
    )
  }

  /** The generation ended under this member: its partitions are lost, and it joins afresh. */
  #loseMembership(forgetMemberId: boolean): void {
    if (forgetMemberId && this.options.groupInstanceId === undefined) this.#memberId = ''
    this.#generationId = -1
    const lost = this.#owned
    this.#owned = []
    if (lost.length > 0) this.listener.lost(lost)
  }

  async #coordinatorConnection(): Promise<BrokerConnection> {
    if (this.#coordinator === undefined) {
      const finding = this.#findCoordinator()
      this.#coordinator = finding
      finding.then(
        (connection) => connection.onClose(() => {
          if (this.#coordinator === finding) this.#coordinator = undefined
        }),
        () => {
          if (this.#coordinator === finding) this.#coordinator = undefined
        },
      )
    }
    return this.#coordinator
  }

  async #findCoordinator(): Promise<BrokerConnection> {
    const any = await this.metadata.pool.anyConnection()
    requireConsumerApis(any)
    const answer = readFindCoordinator(await any.request(API.findCoordinator, [findCoordinatorRequest(this.options.groupId, 0)], this.options.requestTimeoutMs))
    if (answer.errorCode !== 0) {
      const code = kafkaErrorCode(answer.errorCode)
      throw new GroupError(`No coordinator for group "${this.options.groupId}": ${code.name}${answer.errorMessage ? ` (${answer.errorMessage})` : ''}`, code.name, { retriable: code.retriable })
    }
    const connection = await this.pool.connectionTo({ host: answer.host, port: answer.port })
    requireConsumerApis(connection)
    return connection
  }

  /** A request to the coordinator; a connection failure forgets it, so that the next request looks it up again. */
  async #toCoordinator(api: Api, body: Buffer): Promise<Reader> {
    const coordinator = await this.#coordinatorConnection()
    try {
      return await coordinator.request(api, [body], this.options.requestTimeoutMs)
    } catch (error) {
      this.#coordinator = undefined
      throw error
    }
  }

  #enter(state: MemberState): void {
    this.#state = state
    if (state === MemberState.Stable) this.#scheduleHeartbeat()
    else if (this.#heartbeats !== undefined && state === MemberState.Left) {
      clearTimeout(this.#heartbeats)
      this.#heartbeats = undefined
    }
  }

  /**
   * Heartbeats every `heartbeat.interval.ms` while the member is stable or revoking (a long drain keeps its
   * session alive): REBALANCE_IN_PROGRESS starts a round; an ended generation loses the partitions and
   * rejoins; a coordinator that cannot be reached is looked up again.
   */
  #scheduleHeartbeat(): void {
    if (this.#heartbeats !== undefined) return
    this.#heartbeats = setTimeout(() => {
      this.#heartbeats = undefined
      if (this.#state === MemberState.Left) return
      void this.#heartbeat().finally(() => {
        if (this.#state !== MemberState.Left) this.#scheduleHeartbeat()
      })
    }, this.options.heartbeatIntervalMs)
    this.#heartbeats.unref?.()
  }

  async #heartbeat(): Promise<void> {
    if (this.#generationId < 0 || (this.#state !== MemberState.Stable && this.#round === undefined)) return
    let errorCode: number
    try {
      errorCode = readHeartbeat(await this.#toCoordinator(API.heartbeat, heartbeatRequest(this.#identity, this.#generationId))).errorCode
    } catch {
      return
    }
    if (errorCode === 0 || this.#state !== MemberState.Stable) return
    if (COORDINATOR_MOVED.has(errorCode)) {
      this.#coordinator = undefined
      return
    }
    if (errorCode === UNKNOWN_MEMBER_ID || errorCode === ILLEGAL_GENERATION) this.#loseMembership(errorCode === UNKNOWN_MEMBER_ID)
    if (errorCode === FENCED_INSTANCE_ID) {
      this.listener.failed(new GroupError(`Heartbeat for group "${this.options.groupId}": FENCED_INSTANCE_ID (another member runs with group.instance.id "${this.options.groupInstanceId}")`, 'FENCED_INSTANCE_ID'))
      this.#enter(MemberState.Left)
      return
    }
    // REBALANCE_IN_PROGRESS, or a generation that ended: join a new round.
    void this.join().catch(() => undefined)
  }

  /** Commits offsets under the current generation (Java's `commitSync`): one request to the coordinator. */
  async commit(offsets: readonly OffsetToCommit[]): Promise<void> {
    const partitions = offsets.map(({ topic, partition }) => `${topic}-${partition}`).join(', ')
    let results: ReturnType<typeof readOffsetCommit>
    try {
      results = readOffsetCommit(await this.#toCoordinator(API.offsetCommit, offsetCommitRequest(this.#identity, this.#generationId, offsets)))
    } catch (error) {
      throw new CommitError(`Offset commit of ${partitions} for group "${this.options.groupId}" failed: ${messageOf(error)}`, 'NETWORK_EXCEPTION', { cause: error, retriable: true })
    }
    const failed = results.find((r) => r.errorCode !== 0)
    if (failed === undefined) return
    const code = kafkaErrorCode(failed.errorCode)
    if (COORDINATOR_MOVED.has(failed.errorCode)) this.#coordinator = undefined
    // A commit refused because the group is rebalancing or the generation ended is not fatal: the offsets
    // are given back, and a revocation commits them (or their partitions went to another member).
    const retriable = code.retriable || [REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID].includes(failed.errorCode)
    throw new CommitError(`Offset commit of ${failed.topic}-${failed.partition} for group "${this.options.groupId}" refused: ${code.name}`, code.name, { topic: failed.topic, partition: failed.partition, retriable })
  }

  /** The group's committed offsets of `partitions` (-1 where none), waiting out a coordinator that loads or moves. */
  async committed(partitions: readonly TopicPartition[]): Promise<readonly CommittedOffset[]> {
    for (let attempt = 1; ; attempt++) {
      let errorCode: number
      try {
        const answer = readOffsetFetch(await this.#toCoordinator(API.offsetFetch, offsetFetchRequest(this.options.groupId, partitions)))
        errorCode = answer.errorCode !== 0 ? answer.errorCode : (answer.offsets.find((o) => o.errorCode !== 0)?.errorCode ?? 0)
        if (errorCode === 0) return answer.offsets
      } catch (error) {
        if (error instanceof TopicflowError && !error.retriable) throw error
        errorCode = -1
      }
      const code = kafkaErrorCode(errorCode)
      if (errorCode !== -1 && !code.retriable) throw new GroupError(`Fetching the committed offsets of group "${this.options.groupId}" refused: ${code.name}`, code.name)
      if (COORDINATOR_MOVED.has(errorCode)) this.#coordinator = undefined
      if (this.#state === MemberState.Left) throw new GroupError(`The member of group "${this.options.groupId}" left`, 'LEFT')
      await sleep(backoff(attempt))
    }
  }

  /** Leaves the group (LeaveGroup), unless static: a static member's partitions wait for it until its session times out (KIP-345). */
  async leave(): Promise<void> {
    const wasMember = this.#generationId >= 0 || this.#memberId !== ''
    this.#enter(MemberState.Left)
    if (!wasMember || this.options.groupInstanceId !== undefined) return
    try {
      readLeaveGroup(await this.#toCoordinator(API.leaveGroup, leaveGroupRequest(this.#identity)))
    } catch {
      // Leaving is a courtesy: without it the coordinator ends the session after session.timeout.ms.
    }
  }
}

/** Refuses a broker that does not speak the consumer's versions, naming the Kafka release that does. */
function requireConsumerApis(connection: BrokerConnection): void {
  const missing = CONSUMER_APIS.filter((api) => !connection.speaks(api))
  if (missing.length === 0) return
  throw new KafkaConnectionError(
    `The broker at ${connection.address} does not speak ${missing.map((api) => `${api.name} v${api.version}`).join(', ')}; topicflow's consumer needs Kafka 2.4 or later`,
    { retriable: false },
  )
}
