import type { AssignorName, TopicPartition } from '@topicflow/core'

/** One member as the leader sees it in JoinGroup's answer, its subscription decoded. */
export interface GroupMember {
  readonly memberId: string
  readonly groupInstanceId: string | null
  readonly topics: readonly string[]
  /** Partitions it owns now (subscription v1+), for sticky and cooperative assignment. */
  readonly ownedPartitions: readonly TopicPartition[]
  /** The generation it owned them in (subscription v2+, or decoded from CooperativeStickyAssignor's user data), -1 when unknown. */
  readonly generation: number
}

/**
 * A partition assignment strategy of Kafka's classic consumer protocol, run by the group leader over every
 * member's subscription. Each one keeps the semantics of the Java assignor of the same name, so that a group
 * can mix topicflow and Java consumers whichever of them leads.
 */
export interface Assignor {
  readonly name: AssignorName
  /** Whether members keep partitions across a rebalance and give up only those that move (COOPERATIVE in Java's RebalanceProtocol). */
  readonly cooperative: boolean
  /** The subscription user data this strategy sends (CooperativeStickyAssignor sends the generation as an int32; range sends none). */
  userData(generation: number): Buffer | null
  /** The generation a member's subscription user data carries (what `userData` encodes), -1 when it carries none. */
  generationOf(userData: Buffer | null): number
  /** The assignment, member id → its partitions (sorted by topic then partition); every member of `members` gets an entry. */
  assign(members: readonly GroupMember[], partitionsPerTopic: ReadonlyMap<string, number>): Map<string, TopicPartition[]>
}

/** Java's AbstractStickyAssignor.DEFAULT_GENERATION: the member owned nothing in a known generation. */
const NO_GENERATION = -1

/** Java's String.compareTo order: both compare UTF-16 code units, as JavaScript's relational operators do. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function compareTopicPartitions(a: TopicPartition, b: TopicPartition): number {
  return compareStrings(a.topic, b.topic) || a.partition - b.partition
}

/** A value this module put under `key` itself: its absence is a bug here, not bad input. */
function entry<K, V>(map: ReadonlyMap<K, V>, key: K): V {
  const value = map.get(key)
  if (value === undefined) throw new Error(`assignors: internal error, nothing under ${String(key)}`)
  return value
}

/**
 * Topic → its partitions, for the topics that get assigned: subscribed by some member and known to the
 * metadata with at least one partition (Java's AbstractPartitionAssignor builds its partitionsPerTopic so).
 * Each partition is one object, so the sticky assignor's sets and maps key on identity; topics iterate sorted.
 */
type Partitions = ReadonlyMap<string, readonly TopicPartition[]>

function assignablePartitions(members: readonly GroupMember[], partitionsPerTopic: ReadonlyMap<string, number>): Partitions {
  const subscribed = [...new Set(members.flatMap((member) => member.topics))].sort(compareStrings)
  const partitions = new Map<string, TopicPartition[]>()
  for (const topic of subscribed) {
    const count = partitionsPerTopic.get(topic) ?? 0
    if (count > 0) partitions.set(topic, Array.from({ length: count }, (_, partition) => ({ topic, partition })))
  }
  return partitions
}

/** The member's owned partitions as this round's objects: each once, those of topics not assigned (or past a topic's end) dropped. */
function ownedOf(member: GroupMember, partitions: Partitions): TopicPartition[] {
  const owned = new Set<TopicPartition>()
  for (const { topic, partition } of member.ownedPartitions) {
    const known = partitions.get(topic)?.[partition]
    if (known !== undefined) owned.add(known)
  }
  return [...owned]
}

function subscribes(member: GroupMember, topic: string): boolean {
  return member.topics.includes(topic)
}

// ---------------------------------------------------------------------------------------------------------------
// Range

/**
 * Java's MemberInfo.compareTo: static members (a group instance id) first, by instance id, so their ranges
 * survive a restart that hands them new member ids; then dynamic members by member id. The member id also
 * breaks a tie between equal instance ids, which the coordinator never lets happen, to stay deterministic.
 */
function compareRangeOrder(a: GroupMember, b: GroupMember): number {
  if (a.groupInstanceId !== null && b.groupInstanceId !== null) return compareStrings(a.groupInstanceId, b.groupInstanceId) || compareStrings(a.memberId, b.memberId)
  if (a.groupInstanceId !== null) return -1
  if (b.groupInstanceId !== null) return 1
  return compareStrings(a.memberId, b.memberId)
}

/** Java's RangeAssignor (without rack awareness): per topic, contiguous ranges, the first `count % n` members one partition more. */
function assignRanges(members: readonly GroupMember[], partitionsPerTopic: ReadonlyMap<string, number>): Map<string, TopicPartition[]> {
  const assignment = new Map(members.map((member): [string, TopicPartition[]] => [member.memberId, []]))
  // Topics iterate sorted and ranges ascend, so each member's list comes out sorted.
  for (const [topic, partitions] of assignablePartitions(members, partitionsPerTopic)) {
    const subscribers = members.filter((member) => subscribes(member, topic)).sort(compareRangeOrder)
    const each = Math.floor(partitions.length / subscribers.length)
    const extra = partitions.length % subscribers.length
    let next = 0
    subscribers.forEach((member, index) => {
      const size = each + (index < extra ? 1 : 0)
      entry(assignment, member.memberId).push(...partitions.slice(next, next + size))
      next += size
    })
  }
  return assignment
}

// ---------------------------------------------------------------------------------------------------------------
// Cooperative sticky: Java's AbstractStickyAssignor (both its builders) and CooperativeStickyAssignor's adjustment.

/** Member id → the owned partitions its claim holds to once claims are settled, in the order it listed them. */
type Kept = ReadonlyMap<string, readonly TopicPartition[]>

/**
 * Two members claim one partition when one of them missed a rebalance: the claim of the higher generation is
 * the current one. Two claims of the same generation cannot both be right, so, as Java does, neither member
 * keeps the partition (and the cooperative rule then holds it back a round, wherever it goes).
 */
function resolveClaims(members: readonly GroupMember[], partitions: Partitions): Kept {
  const claimants = new Map<TopicPartition, GroupMember[]>()
  for (const member of members) for (const partition of ownedOf(member, partitions)) claimants.set(partition, [...(claimants.get(partition) ?? []), member])
  const winner = new Map<TopicPartition, GroupMember>()
  for (const [partition, claiming] of claimants) {
    const newest = Math.max(...claiming.map((member) => member.generation))
    const [only, ...others] = claiming.filter((member) => member.generation === newest)
    if (only !== undefined && others.length === 0) winner.set(partition, only)
  }
  return new Map(members.map((member): [string, TopicPartition[]] => [member.memberId, ownedOf(member, partitions).filter((partition) => winner.get(partition) === member)]))
}

/** Whether every member subscribes to the same topics: Java's condition for its constrained (quota) builder. */
function sameSubscriptions(members: readonly GroupMember[]): boolean {
  const [first, ...rest] = members.map((member) => new Set(member.topics))
  return first === undefined || rest.every((topics) => topics.size === first.size && [...topics].every((topic) => first.has(topic)))
}

/** Java's ConstrainedAssignmentBuilder quotas: `total / n` partitions each, rounded down, `total % n` members one more. */
interface Quotas {
  readonly min: number
  readonly max: number
  /** How many members get `max` when it differs from `min`. */
  readonly membersOverMin: number
}

function quotasOf(total: number, members: number): Quotas {
  return { min: Math.floor(total / members), max: Math.ceil(total / members), membersOverMin: total % members }
}

/** The first step of the constrained builder: each member keeps its owned partitions up to its quota. */
interface KeptWithinQuota {
  readonly assignment: Map<string, TopicPartition[]>
  /** Members still under the minimum quota, sorted by member id. */
  readonly underMin: string[]
  /** Members at the minimum quota that may still take the one partition more, sorted by member id. */
  readonly atMin: string[]
}

/**
 * Java's ConstrainedAssignmentBuilder.assignOwnedPartitions: a member keeps all it owns when that is under the
 * minimum, `max` while fewer than `membersOverMin` members have been given the extra one, `min` otherwise; lowest
 * partition numbers first. Members are taken in member id order (Java takes them in hash order).
 */
function keepWithinQuota(members: readonly GroupMember[], kept: Kept, quotas: Quotas): KeptWithinQuota {
  const assignment = new Map<string, TopicPartition[]>()
  const underMin: string[] = []
  let atMin: string[] = []
  let overMin = 0
  for (const { memberId } of members) {
    const owned = [...entry(kept, memberId)].sort((a, b) => a.partition - b.partition || compareStrings(a.topic, b.topic))
    let keep: number
    if (owned.length < quotas.min) {
      keep = owned.length
      underMin.push(memberId)
    } else if (owned.length >= quotas.max && overMin < quotas.membersOverMin) {
      keep = quotas.max
      overMin++
      // Every extra partition is spoken for: members at the minimum stay there.
      if (overMin === quotas.membersOverMin) atMin = []
    } else {
      keep = quotas.min
      if (overMin < quotas.membersOverMin) atMin.push(memberId)
    }
    // What it owns past `keep` is free for the round-robin, and held back a round if it goes to another member.
    assignment.set(memberId, owned.slice(0, keep))
  }
  return { assignment, underMin: underMin.sort(compareStrings), atMin: atMin.sort(compareStrings) }
}

/**
 * Java's ConstrainedAssignmentBuilder.assignRoundRobin: the free partitions dealt in turn to the members under the
 * minimum quota (a member leaves the turn on reaching it), then, once none is under, one each to members at it.
 * Returns who gets each partition.
 */
function dealRoundRobin(free: readonly TopicPartition[], kept: KeptWithinQuota, quotas: Quotas): Map<TopicPartition, string> {
  const underMin = [...kept.underMin]
  const atMin = [...kept.atMin]
  const counts = new Map([...kept.assignment].map(([memberId, partitions]) => [memberId, partitions.length]))
  const dealt = new Map<TopicPartition, string>()
  let turn = 0
  for (const partition of free) {
    turn = underMin.length > 0 ? turn % underMin.length : 0
    const fromUnderMin = underMin[turn]
    const memberId = fromUnderMin ?? atMin.shift()
    if (memberId === undefined) throw new Error('assignors: internal error, quotas filled with partitions left over')
    dealt.set(partition, memberId)
    const count = entry(counts, memberId) + 1
    counts.set(memberId, count)
    if (fromUnderMin === undefined) continue
    if (count < quotas.min) turn++
    else {
      // At the minimum: it may take one more once every member is there, if extra partitions remain.
      underMin.splice(turn, 1)
      atMin.push(memberId)
    }
  }
  return dealt
}

/**
 * Java's ConstrainedAssignmentBuilder (the same subscriptions everywhere, no racks): owned partitions kept
 * within quota, the rest dealt round-robin.
 */
function assignWithQuotas(members: readonly GroupMember[], partitions: Partitions, kept: Kept): Map<string, TopicPartition[]> {
  const all = [...partitions.values()].flat()
  const quotas = quotasOf(all.length, members.length)
  const withinQuota = keepWithinQuota(members, kept, quotas)
  const keptPartitions = new Set([...withinQuota.assignment.values()].flat())
  for (const [partition, memberId] of dealRoundRobin(all.filter((p) => !keptPartitions.has(p)), withinQuota, quotas)) entry(withinQuota.assignment, memberId).push(partition)
  return withinQuota.assignment
}

/** One member's state in the general builder. */
interface Consumer {
  readonly id: string
  /** Its subscribed topics that get assigned. */
  readonly topics: ReadonlySet<string>
  /** How many partitions its topics have: holding that many, it cannot take more. */
  readonly capacity: number
  partitions: TopicPartition[]
  /** Out of the balancing: it holds all it can and nobody else can take any of it. */
  fixed: boolean
}

/**
 * Java's PartitionMovements, the part that steers moves: where each partition moved this round came from, so
 * that a partition going back to the member it left is preferred to a second one leaving the member.
 */
class PartitionMovements {
  readonly #moved = new Map<TopicPartition, { readonly from: Consumer; readonly to: Consumer }>()

  /**
   * Java's getTheActualPartitionToBeMoved: to move a partition of a topic from `owner` to `to`, a partition of
   * that topic that moved from `to` to `owner` goes back instead. Java also substitutes, for a partition that
   * already moved, one that moved to where it first was; that one is held by another member, so the owner stays
   * as loaded and two passes can undo each other forever. Taking the substitute from the owner only, every move
   * goes from a member to one with two or more fewer partitions, so the balancing always ends.
   */
  choose(partition: TopicPartition, owner: Consumer, to: Consumer): TopicPartition {
    for (const [moved, move] of this.#moved) if (moved.topic === partition.topic && move.from === to && move.to === owner) return moved
    return partition
  }

  /** A move, recorded from where the partition was when the round began: moving back there erases it. */
  record(partition: TopicPartition, from: Consumer, to: Consumer): void {
    const origin = this.#moved.get(partition)?.from ?? from
    this.#moved.delete(partition)
    if (origin !== to) this.#moved.set(partition, { from: origin, to })
  }
}

/** Java's getBalanceScore: the sum of the differences in partition counts over all pairs of members; 0 is perfectly balanced. */
function balanceScore(counts: readonly number[]): number {
  let score = 0
  counts.forEach((count, i) => {
    for (const other of counts.slice(i + 1)) score += Math.abs(count - other)
  })
  return score
}

/**
 * Java's prepopulateCurrentAssignments: for each partition, the member of the highest generation older than the
 * group's newest that claimed it. The balancing gives a partition back to that member first when it is short.
 */
function previousOwners(members: readonly GroupMember[], partitions: Partitions, consumers: ReadonlyMap<string, Consumer>): Map<TopicPartition, Consumer> {
  const newest = Math.max(NO_GENERATION, ...members.map((member) => member.generation))
  const previous = new Map<TopicPartition, { readonly consumer: Consumer; readonly generation: number }>()
  for (const member of members) {
    if (member.generation >= newest) continue
    for (const partition of ownedOf(member, partitions)) {
      const earlier = previous.get(partition)
      if (earlier === undefined || member.generation > earlier.generation) previous.set(partition, { consumer: entry(consumers, member.memberId), generation: member.generation })
    }
  }
  return new Map([...previous].map(([partition, { consumer }]) => [partition, consumer]))
}

/**
 * Java's GeneralAssignmentBuilder (members subscribe to different topics, no racks): kept ownership, free
 * partitions to the least loaded subscriber, then partitions moved one by one from a member to a subscriber
 * with two or more fewer until no such move is left; the moves are undone when they did not improve the balance.
 */
class GeneralAssignment {
  readonly #partitions: Partitions
  readonly #consumers: readonly Consumer[]
  readonly #subscribers = new Map<string, Consumer[]>()
  readonly #owner = new Map<TopicPartition, Consumer>()
  readonly #previous: ReadonlyMap<TopicPartition, Consumer>
  readonly #movements = new PartitionMovements()
  /** Some member owns a partition of a topic it no longer subscribes to. */
  #revocationRequired = false

  constructor(members: readonly GroupMember[], partitions: Partitions, kept: Kept) {
    this.#partitions = partitions
    for (const topic of partitions.keys()) this.#subscribers.set(topic, [])
    this.#consumers = members.map((member) => this.#consumerOf(member, entry(kept, member.memberId)))
    this.#previous = previousOwners(members, partitions, new Map(this.#consumers.map((consumer) => [consumer.id, consumer])))
  }

  #consumerOf(member: GroupMember, owned: readonly TopicPartition[]): Consumer {
    const topics = new Set(member.topics.filter((topic) => this.#partitions.has(topic)))
    const capacity = [...topics].reduce((sum, topic) => sum + entry(this.#partitions, topic).length, 0)
    const kept = owned.filter((partition) => topics.has(partition.topic))
    if (kept.length < owned.length) this.#revocationRequired = true
    const consumer: Consumer = { id: member.memberId, topics, capacity, partitions: kept, fixed: false }
    for (const topic of topics) entry(this.#subscribers, topic).push(consumer)
    for (const partition of kept) this.#owner.set(partition, consumer)
    return consumer
  }

  build(): Map<string, TopicPartition[]> {
    // Topics with the fewest subscribers first: their partitions have the fewest places to go.
    const ordered = [...this.#partitions.keys()]
      .sort((a, b) => entry(this.#subscribers, a).length - entry(this.#subscribers, b).length || compareStrings(a, b))
      .flatMap((topic) => entry(this.#partitions, topic))
    const unassigned = ordered.filter((partition) => !this.#owner.has(partition))
    const initializing = this.#consumers.every((consumer) => consumer.partitions.length === 0)
    for (const partition of unassigned) this.#move(partition, this.#leastLoaded(partition.topic))
    this.#balance(ordered, unassigned, initializing)
    return new Map(this.#consumers.map((consumer) => [consumer.id, consumer.partitions]))
  }

  #balance(ordered: readonly TopicPartition[], unassigned: readonly TopicPartition[], initializing: boolean): void {
    const reassignable = (partition: TopicPartition): boolean => this.#isReassignable(partition.topic)
    for (const consumer of this.#consumers) consumer.fixed = !this.#canParticipate(consumer)
    const before = new Map(this.#active().map((consumer) => [consumer, [...consumer.partitions]]))
    // Balance with the partitions that were free first: moving those revokes nothing.
    if (!this.#revocationRequired) this.#reassign(unassigned.filter(reassignable))
    const moved = this.#reassign(ordered.filter(reassignable))
    if (!initializing && moved && balanceScore(this.#active().map((c) => c.partitions.length)) >= balanceScore([...before.values()].map((p) => p.length))) {
      for (const [consumer, partitions] of before) {
        consumer.partitions = partitions
        for (const partition of partitions) this.#owner.set(partition, consumer)
      }
    }
  }

  /** A topic with two or more subscribers: its partitions can move. */
  #isReassignable(topic: string): boolean {
    return entry(this.#subscribers, topic).length >= 2
  }

  /** Java's canConsumerParticipateInReassignment: it can take more, or holds something another member could take. */
  #canParticipate(consumer: Consumer): boolean {
    return consumer.partitions.length < consumer.capacity || consumer.partitions.some((partition) => this.#isReassignable(partition.topic))
  }

  #active(): Consumer[] {
    return this.#consumers.filter((consumer) => !consumer.fixed)
  }

  /** The subscriber of `topic` with the fewest partitions (then the lowest member id). */
  #leastLoaded(topic: string): Consumer {
    const [least] = entry(this.#subscribers, topic)
      .filter((consumer) => !consumer.fixed)
      .sort((a, b) => a.partitions.length - b.partitions.length || compareStrings(a.id, b.id))
    if (least === undefined) throw new Error(`assignors: internal error, no subscriber of ${topic}`)
    return least
  }

  /** Java's performReassignments: passes over `partitions` until one moves nothing; true when something moved. */
  #reassign(partitions: readonly TopicPartition[]): boolean {
    let moved = false
    let modified: boolean
    do {
      modified = false
      for (const partition of partitions) {
        if (this.#isBalanced()) break
        const target = this.#betterOwner(partition)
        if (target === undefined) continue
        this.#move(partition, target)
        moved = modified = true
      }
    } while (modified)
    return moved
  }

  /**
   * Where `partition` should go: back to its previous owner when that one has two or more fewer partitions than
   * the current owner, else to the least loaded subscriber when some subscriber has two or more fewer. Java sends
   * it back without checking that the previous owner still subscribes to the topic; this does check.
   */
  #betterOwner(partition: TopicPartition): Consumer | undefined {
    const owner = entry(this.#owner, partition)
    const previous = this.#previous.get(partition)
    if (previous !== undefined && previous.topics.has(partition.topic) && owner.partitions.length > previous.partitions.length + 1) return previous
    const subscribers = entry(this.#subscribers, partition.topic)
    return subscribers.some((other) => owner.partitions.length > other.partitions.length + 1) ? this.#leastLoaded(partition.topic) : undefined
  }

  /** Gives `partition` to `to` (from its owner, if it has one), or a partition of the topic that moved the other way. */
  #move(partition: TopicPartition, to: Consumer): void {
    const owner = this.#owner.get(partition)
    if (owner === undefined) {
      to.partitions.push(partition)
      this.#owner.set(partition, to)
      return
    }
    const chosen = this.#movements.choose(partition, owner, to)
    const from = entry(this.#owner, chosen)
    this.#movements.record(chosen, from, to)
    from.partitions = from.partitions.filter((p) => p !== chosen)
    to.partitions.push(chosen)
    this.#owner.set(chosen, to)
  }

  /** Java's isBalanced: counts differ by at most one, or no member short of its capacity could take a partition from one holding two or more more. */
  #isBalanced(): boolean {
    const active = this.#active()
    const counts = active.map((consumer) => consumer.partitions.length)
    if (Math.min(...counts) >= Math.max(...counts) - 1) return true
    return !active.some((consumer) => consumer.partitions.length < consumer.capacity && this.#couldTakeMore(consumer))
  }

  #couldTakeMore(consumer: Consumer): boolean {
    for (const topic of consumer.topics) {
      for (const partition of entry(this.#partitions, topic)) {
        const owner = entry(this.#owner, partition)
        if (owner !== consumer && consumer.partitions.length + 1 < owner.partitions.length) return true
      }
    }
    return false
  }
}

/**
 * Java's CooperativeStickyAssignor.adjustAssignment: a partition assigned to a member that does not hold it
 * while another member claims it and is not assigned it is left out, so that no partition is consumed by two
 * members at once: the claimant revokes it on seeing it missing, rejoins, and the follow-up rebalance gives it
 * on. "Holds" is by the settled claims and "claims" by the subscriptions as sent: a partition contested in one
 * generation, or claimed by an older generation than its holder's, never goes straight to a claimant either.
 * This is Java's rule for its constrained builder (partitionsTransferringOwnership); for the general one Java
 * compares with the subscriptions only, which lets a stale claimant take a partition from its current holder.
 */
function withholdMoving(members: readonly GroupMember[], partitions: Partitions, kept: Kept, assignment: ReadonlyMap<string, readonly TopicPartition[]>): Map<string, TopicPartition[]> {
  const revoked = new Set<TopicPartition>()
  for (const member of members) {
    const assigned = new Set(entry(assignment, member.memberId))
    for (const partition of ownedOf(member, partitions)) if (!assigned.has(partition)) revoked.add(partition)
  }
  return new Map(
    members.map((member): [string, TopicPartition[]] => {
      const holds = new Set(entry(kept, member.memberId))
      return [member.memberId, entry(assignment, member.memberId).filter((partition) => holds.has(partition) || !revoked.has(partition))]
    }),
  )
}

/** Java's CooperativeStickyAssignor.assignPartitions: the sticky assignment, then what moves between members held back a round. */
function assignCooperativeSticky(members: readonly GroupMember[], partitionsPerTopic: ReadonlyMap<string, number>): Map<string, TopicPartition[]> {
  if (members.length === 0) return new Map()
  // Member id order stands in for Java's hash order wherever the order of members decides.
  const sorted = [...members].sort((a, b) => compareStrings(a.memberId, b.memberId))
  const partitions = assignablePartitions(sorted, partitionsPerTopic)
  const kept = resolveClaims(sorted, partitions)
  const sticky = sameSubscriptions(sorted) ? assignWithQuotas(sorted, partitions, kept) : new GeneralAssignment(sorted, partitions, kept).build()
  const assignment = withholdMoving(sorted, partitions, kept, sticky)
  return new Map(members.map((member): [string, TopicPartition[]] => [member.memberId, entry(assignment, member.memberId).sort(compareTopicPartitions)]))
}

/** Java's RangeAssignor (`range`, EAGER): per topic, its partitions split in contiguous ranges over its subscribers. */
export const rangeAssignor: Assignor = {
  name: 'range',
  cooperative: false,
  userData: () => null,
  generationOf: () => NO_GENERATION,
  assign: assignRanges,
}

/** Java's CooperativeStickyAssignor (`cooperative-sticky`, COOPERATIVE): balanced, sticky, and never moves a partition directly from one member to another. */
export const cooperativeStickyAssignor: Assignor = {
  name: 'cooperative-sticky',
  cooperative: true,
  // Java's COOPERATIVE_STICKY_ASSIGNOR_USER_DATA_V0: one int32 field, the generation.
  userData(generation) {
    const data = Buffer.alloc(4)
    data.writeInt32BE(generation)
    return data
  },
  // Java reads a missing user data as no generation and an unreadable one as DEFAULT_GENERATION: -1 both.
  generationOf: (userData) => (userData !== null && userData.length >= 4 ? userData.readInt32BE(0) : NO_GENERATION),
  assign: assignCooperativeSticky,
}

/** Every strategy by its protocol name, as members list them in JoinGroup. */
export const ASSIGNORS: Readonly<Record<AssignorName, Assignor>> = {
  range: rangeAssignor,
  'cooperative-sticky': cooperativeStickyAssignor,
}
