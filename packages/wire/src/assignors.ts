import type { AssignorName, TopicPartition } from '@topicflow/core'

/** One member as the leader sees it in JoinGroup's answer, its subscription decoded. */
export interface GroupMember {
  readonly memberId: string
  readonly groupInstanceId: string | null
  readonly topics: readonly string[]
  readonly ownedPartitions: readonly TopicPartition[]
  readonly generation: number
}

export interface Assignor {
  readonly name: AssignorName
  readonly cooperative: boolean
  userData(generation: number): Buffer | null
  generationOf(userData: Buffer | null): number
  assign(members: readonly GroupMember[], partitionsPerTopic: ReadonlyMap<string, number>): Map<string, TopicPartition[]>
}

function sortedMembers(members: readonly GroupMember[]): GroupMember[] {
  return [...members].sort((a, b) => {
    if (a.groupInstanceId !== null && b.groupInstanceId !== null && a.groupInstanceId !== b.groupInstanceId) return a.groupInstanceId < b.groupInstanceId ? -1 : 1
    if (a.groupInstanceId !== null && b.groupInstanceId === null) return -1
    if (a.groupInstanceId === null && b.groupInstanceId !== null) return 1
    return a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0
  })
}

export const rangeAssignor: Assignor = {
  name: 'range',
  cooperative: false,
  userData: () => null,
  generationOf: () => -1,
  assign(members, partitionsPerTopic) {
    const result = new Map<string, TopicPartition[]>(members.map((m) => [m.memberId, []]))
    for (const [topic, count] of [...partitionsPerTopic].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const subscribed = sortedMembers(members.filter((m) => m.topics.includes(topic)))
      if (subscribed.length === 0) continue
      const each = Math.floor(count / subscribed.length)
      const extra = count % subscribed.length
      let next = 0
      subscribed.forEach((member, i) => {
        const take = each + (i < extra ? 1 : 0)
        for (let p = 0; p < take; p++) result.get(member.memberId)!.push({ topic, partition: next++ })
      })
    }
    return result
  },
}

const partitionKey = (p: TopicPartition): string => `${p.topic}\u0000${p.partition}`
const byTopicThenPartition = (a: TopicPartition, b: TopicPartition): number => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition)

/**
 * Who validly owns each partition now: a member that still subscribes to its topic and claims it; when two
 * claim one, the higher generation keeps it, and on a tie neither does (Java's AbstractStickyAssignor).
 */
function currentOwners(members: readonly GroupMember[], exists: ReadonlySet<string>): Map<string, string> {
  const claims = new Map<string, { memberId: string; generation: number; tied: boolean }>()
  for (const member of members) {
    for (const owned of member.ownedPartitions) {
      const id = partitionKey(owned)
      if (!exists.has(id) || !member.topics.includes(owned.topic)) continue
      const claim = claims.get(id)
      if (claim === undefined || member.generation > claim.generation) claims.set(id, { memberId: member.memberId, generation: member.generation, tied: false })
      else if (member.generation === claim.generation) claim.tied = true
    }
  }
  const owners = new Map<string, string>()
  for (const [id, claim] of claims) if (!claim.tied) owners.set(id, claim.memberId)
  return owners
}

/**
 * Sticky and balanced: members keep what they validly own up to their share, the rest goes to the least
 * loaded subscribed member, then partitions move from the most to the least loaded member that can take
 * them until no move narrows the gap. Cooperative (KIP-429): a partition that would pass from its owner to
 * another member is left out of this round, so the owner revokes it first and the follow-up round hands it on.
 */
function stickyAssign(members: readonly GroupMember[], partitionsPerTopic: ReadonlyMap<string, number>): Map<string, TopicPartition[]> {
  const sorted = [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0))
  const subscribed = new Set(sorted.flatMap((m) => m.topics))
  const all: TopicPartition[] = []
  for (const [topic, count] of [...partitionsPerTopic].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (subscribed.has(topic)) for (let partition = 0; partition < count; partition++) all.push({ topic, partition })
  }
  const owners = currentOwners(sorted, new Set(all.map(partitionKey)))
  const assigned = new Map<string, TopicPartition[]>(sorted.map((m) => [m.memberId, []]))
  const memberOf = new Map(sorted.map((m) => [m.memberId, m]))
  // Shares if every member could take every partition: floor for all, one more for (total % members) of them.
  const floor = Math.floor(all.length / Math.max(1, sorted.length))
  let extraShares = all.length - floor * sorted.length
  const keptBy = new Map<string, TopicPartition[]>()
  for (const p of all) {
    const owner = owners.get(partitionKey(p))
    if (owner !== undefined) keptBy.set(owner, [...(keptBy.get(owner) ?? []), p])
  }
  const unassigned: TopicPartition[] = []
  for (const member of [...sorted].sort((a, b) => (keptBy.get(b.memberId)?.length ?? 0) - (keptBy.get(a.memberId)?.length ?? 0))) {
    const kept = keptBy.get(member.memberId) ?? []
    let share = floor
    if (kept.length > floor && extraShares > 0) {
      share = floor + 1
      extraShares--
    }
    assigned.get(member.memberId)!.push(...kept.slice(0, share))
    unassigned.push(...kept.slice(share))
  }
  const taken = new Set([...assigned.values()].flat().map(partitionKey))
  for (const p of all) if (!taken.has(partitionKey(p)) && !unassigned.some((u) => partitionKey(u) === partitionKey(p))) unassigned.push(p)
  unassigned.sort(byTopicThenPartition)
  const eligible = (p: TopicPartition): GroupMember[] => sorted.filter((m) => m.topics.includes(p.topic))
  const load = (m: GroupMember): number => assigned.get(m.memberId)!.length
  for (const p of unassigned) {
    const candidates = eligible(p)
    if (candidates.length === 0) continue
    const least = candidates.reduce((best, m) => (load(m) < load(best) ? m : best))
    assigned.get(least.memberId)!.push(p)
  }
  // Different subscriptions can leave a member far behind another that shares a topic with it: move one at a time.
  for (let moved = true; moved; ) {
    moved = false
    for (const giver of [...sorted].sort((a, b) => load(b) - load(a))) {
      const givable = [...assigned.get(giver.memberId)!].sort(byTopicThenPartition).reverse()
      for (const p of givable) {
        const taker = eligible(p).filter((m) => load(m) + 1 < load(giver)).sort((a, b) => load(a) - load(b))[0]
        if (taker === undefined) continue
        const list = assigned.get(giver.memberId)!
        list.splice(list.findIndex((q) => partitionKey(q) === partitionKey(p)), 1)
        assigned.get(taker.memberId)!.push(p)
        moved = true
        break
      }
      if (moved) break
    }
  }
  // Cooperative: nothing passes directly from one owner to another within a round.
  for (const [memberId, list] of assigned) {
    const staying = list.filter((p) => {
      const owner = owners.get(partitionKey(p))
      return owner === undefined || owner === memberId || !memberOf.has(owner)
    })
    assigned.set(memberId, staying.sort(byTopicThenPartition))
  }
  return assigned
}

export const cooperativeStickyAssignor: Assignor = {
  name: 'cooperative-sticky',
  cooperative: true,
  // The generation the owned partitions were assigned in, as Java's CooperativeStickyAssignor sends it.
  userData: (generation) => {
    const data = Buffer.alloc(4)
    data.writeInt32BE(generation)
    return data
  },
  generationOf: (userData) => (userData === null || userData.length < 4 ? -1 : userData.readInt32BE(0)),
  assign: stickyAssign,
}

export const ASSIGNORS: Readonly<Record<AssignorName, Assignor>> = { range: rangeAssignor, 'cooperative-sticky': cooperativeStickyAssignor }
