import type { OffsetToCommit, TopicPartition } from '@topicflow/core'
import { Reader, Writer } from './protocol.js'

/**
 * The bodies of the consumer's requests and the answers it reads, at the non-flexible versions `API`
 * names (Kafka's message definitions: clients/src/main/resources/common/message/*.json), and the consumer
 * protocol's subscription and assignment, which JoinGroup and SyncGroup carry as opaque bytes.
 */

/** Flat `{ topic, ... }` entries grouped by topic, topics in the order they first appear: the wire nests partitions in topics. */
function byTopic<E extends { readonly topic: string }>(entries: readonly E[]): Array<[string, E[]]> {
  const grouped = new Map<string, E[]>()
  for (const entry of entries) {
    const list = grouped.get(entry.topic)
    if (list === undefined) grouped.set(entry.topic, [entry])
    else list.push(entry)
  }
  return [...grouped]
}

/** What a null `bytes` field reads as where callers want a buffer either way. */
const EMPTY = Buffer.alloc(0)

// ---- Fetch v11 ----

/** One partition to fetch. */
export interface FetchPartition extends TopicPartition {
  /** The offset to fetch from. */
  readonly offset: number
  /**
   * The partition's leader epoch as the consumer last learned it (KIP-320): a broker that knows another
   * epoch refuses the fetch (FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH) rather than serve from stale
   * leadership. Without one (-1) the broker skips the check.
   */
  readonly currentLeaderEpoch?: number
  /** At most this many bytes of this partition (`max.partition.fetch.bytes`). */
  readonly maxBytes: number
}

export interface FetchRequestOptions {
  /** How long the broker may wait for `minBytes` (`fetch.max.wait.ms`). */
  readonly maxWaitMs: number
  /** `fetch.min.bytes`. */
  readonly minBytes: number
  /** At most this many bytes over all partitions (`fetch.max.bytes`). */
  readonly maxBytes: number
  /** 0 read_uncommitted, 1 read_committed (only decided transactions, up to the last stable offset). */
  readonly isolationLevel: 0 | 1
  readonly partitions: readonly FetchPartition[]
}

/**
 * Fetch v11 without fetch sessions (KIP-227): session id 0 and epoch -1 ask for a full fetch, so every
 * request names all its partitions and no session state on the broker has to be kept in step.
 */
export function fetchRequest(options: FetchRequestOptions): Buffer {
  return new Writer(128)
    .int32(-1) // replica_id: a consumer, not a follower
    .int32(options.maxWaitMs)
    .int32(options.minBytes)
    .int32(options.maxBytes)
    .int8(options.isolationLevel)
    .int32(0) // session_id
    .int32(-1) // session_epoch
    .array(byTopic(options.partitions), ([topic, partitions], t) => {
      // log_start_offset -1: only followers report one.
      t.string(topic).array(partitions, (p, pw) => pw.int32(p.partition).int32(p.currentLeaderEpoch ?? -1).int64(BigInt(p.offset)).int64(-1n).int32(p.maxBytes))
    })
    .int32(0) // forgotten_topics_data: nothing to forget outside a session
    .string('') // rack_id: none given, so the leader serves every fetch (no follower fetching, KIP-392)
    .toBuffer()
}

export interface AbortedTransaction {
  readonly producerId: bigint
  /** The offset of the aborted transaction's first record. */
  readonly firstOffset: number
}

export interface FetchedPartition extends TopicPartition {
  readonly errorCode: number
  /** The offset after the last record every in-sync replica has: where read_uncommitted reading ends. */
  readonly highWatermark: number
  /** The offset below which every transaction is decided: where read_committed reading ends (-1 when unknown). */
  readonly lastStableOffset: number
  /** The partition's earliest offset. */
  readonly logStartOffset: number
  /** Under read_committed, the transactions aborted within `records`, whose records are to be skipped (none otherwise). */
  readonly abortedTransactions: readonly AbortedTransaction[]
  /** The replica to fetch from instead of the leader (KIP-392), or -1 for the leader. */
  readonly preferredReadReplica: number
  /**
   * The record batches as the broker sent them: a view into the response, not a copy (empty when there are
   * none). The last batch may be cut short by the byte limits.
   */
  readonly records: Buffer
}

export interface FetchResponse {
  /** The request's own error (session errors; 0 without sessions), apart from each partition's. */
  readonly errorCode: number
  readonly partitions: readonly FetchedPartition[]
}

export function readFetch(body: Reader): FetchResponse {
  body.int32() // throttle_time_ms
  const errorCode = body.int16()
  body.int32() // session_id: 0, since no session was asked for
  const partitions = body
    .array((r) => {
      const topic = r.string() ?? ''
      return r.array((p): FetchedPartition => {
        const partition = p.int32()
        const partitionError = p.int16()
        const highWatermark = p.int64()
        const lastStableOffset = p.int64()
        const logStartOffset = p.int64()
        // A null array (-1, read_uncommitted) reads as none.
        const abortedTransactions = p.array((a) => ({ producerId: a.int64Big(), firstOffset: a.int64() }))
        const preferredReadReplica = p.int32()
        const records = p.bytes() ?? EMPTY
        return { topic, partition, errorCode: partitionError, highWatermark, lastStableOffset, logStartOffset, abortedTransactions, preferredReadReplica, records }
      })
    })
    .flat()
  return { errorCode, partitions }
}

// ---- ListOffsets v5 ----

/** The timestamps that ask ListOffsets for a partition's earliest offset and for its latest (the end read_uncommitted or read_committed reads to). */
export const EARLIEST_TIMESTAMP = -2
export const LATEST_TIMESTAMP = -1

export interface ListOffsetsPartition extends TopicPartition {
  /** As in `FetchPartition`. */
  readonly currentLeaderEpoch?: number
  /** The first offset whose record's timestamp is at or after this is asked for; or `EARLIEST_TIMESTAMP`, `LATEST_TIMESTAMP`. */
  readonly timestamp: number
}

/** ListOffsets v5; `isolationLevel` (0 read_uncommitted, 1 read_committed) decides what `LATEST_TIMESTAMP` answers. */
export function listOffsetsRequest(isolationLevel: 0 | 1, partitions: readonly ListOffsetsPartition[]): Buffer {
  return new Writer(64)
    .int32(-1) // replica_id: a consumer
    .int8(isolationLevel)
    .array(byTopic(partitions), ([topic, list], t) => {
      t.string(topic).array(list, (p, pw) => pw.int32(p.partition).int32(p.currentLeaderEpoch ?? -1).int64(BigInt(p.timestamp)))
    })
    .toBuffer()
}

export interface ListedOffset extends TopicPartition {
  readonly errorCode: number
  /** The timestamp of the record at `offset` (-1 for the earliest and latest queries). */
  readonly timestamp: number
  /** -1 when no record is at or after the timestamp asked. */
  readonly offset: number
  /** The leader epoch of the record at `offset`, or -1. */
  readonly leaderEpoch: number
}

export function readListOffsets(body: Reader): ListedOffset[] {
  body.int32() // throttle_time_ms
  return body
    .array((r) => {
      const topic = r.string() ?? ''
      return r.array((p): ListedOffset => {
        const partition = p.int32()
        const errorCode = p.int16()
        const timestamp = p.int64()
        const offset = p.int64()
        return { topic, partition, errorCode, timestamp, offset, leaderEpoch: p.int32() }
      })
    })
    .flat()
}

// ---- FindCoordinator v2 ----

/** FindCoordinator v2: the coordinator of a group (`keyType` 0) or of a transactional id (1). */
export function findCoordinatorRequest(key: string, keyType: 0 | 1): Buffer {
  return new Writer(64).string(key).int8(keyType).toBuffer()
}

export interface CoordinatorResponse {
  readonly errorCode: number
  readonly errorMessage: string | null
  readonly nodeId: number
  readonly host: string
  readonly port: number
}

export function readFindCoordinator(body: Reader): CoordinatorResponse {
  body.int32() // throttle_time_ms
  const errorCode = body.int16()
  const errorMessage = body.string()
  const nodeId = body.int32()
  const host = body.string() ?? ''
  return { errorCode, errorMessage, nodeId, host, port: body.int32() }
}

// ---- JoinGroup v5, SyncGroup v3, Heartbeat v3, LeaveGroup v3 ----

/** Who a member is, in each of its group's requests. */
export interface MemberIdentity {
  readonly groupId: string
  /** The id the coordinator gave the member; '' before it has one. */
  readonly memberId: string
  /** `group.instance.id` of a static member (KIP-345), or null for a dynamic one. */
  readonly groupInstanceId: string | null
}

/** One assignment strategy a member offers, with its subscription encoded for that strategy. */
export interface GroupProtocol {
  /** The assignor's name, e.g. 'range', 'cooperative-sticky'. */
  readonly name: string
  /** The member's subscription (`encodeSubscription`). */
  readonly metadata: Buffer
}

export interface JoinGroupOptions extends MemberIdentity {
  /** The coordinator considers the member dead after this long without a heartbeat. */
  readonly sessionTimeoutMs: number
  /** How long the coordinator waits for every member to rejoin in a rebalance (`max.poll.interval.ms`). */
  readonly rebalanceTimeoutMs: number
  /** Preferred first. */
  readonly protocols: readonly GroupProtocol[]
}

/** JoinGroup v5 as a consumer: protocol type 'consumer', whose members all speak the consumer protocol. */
export function joinGroupRequest(options: JoinGroupOptions): Buffer {
  return new Writer(128)
    .string(options.groupId)
    .int32(options.sessionTimeoutMs)
    .int32(options.rebalanceTimeoutMs)
    .string(options.memberId)
    .string(options.groupInstanceId)
    .string('consumer')
    .array(options.protocols, (p, w) => w.string(p.name).bytes(p.metadata))
    .toBuffer()
}

export interface JoinedMember {
  readonly memberId: string
  readonly groupInstanceId: string | null
  /** The member's subscription for the chosen strategy (`decodeSubscription`). */
  readonly metadata: Buffer
}

export interface JoinGroupResponse {
  readonly errorCode: number
  readonly generationId: number
  /** The strategy the coordinator chose: one every member offered. */
  readonly protocolName: string
  /** The leader's member id: the member that computes the assignment. */
  readonly leader: string
  /** This member's id (also given with MEMBER_ID_REQUIRED, to join again with). */
  readonly memberId: string
  /** Every member with its subscription, sent to the leader only (empty for the others). */
  readonly members: readonly JoinedMember[]
}

export function readJoinGroup(body: Reader): JoinGroupResponse {
  body.int32() // throttle_time_ms
  const errorCode = body.int16()
  const generationId = body.int32()
  const protocolName = body.string() ?? ''
  const leader = body.string() ?? ''
  const memberId = body.string() ?? ''
  const members = body.array((r): JoinedMember => {
    const member = r.string() ?? ''
    const groupInstanceId = r.string()
    return { memberId: member, groupInstanceId, metadata: r.bytes() ?? EMPTY }
  })
  return { errorCode, generationId, protocolName, leader, memberId, members }
}

/** What the leader gives one member. */
export interface MemberAssignment {
  readonly memberId: string
  /** `encodeAssignment`. */
  readonly assignment: Buffer
}

/** SyncGroup v3: the leader sends every member's assignment, the others none. */
export function syncGroupRequest(member: MemberIdentity, generationId: number, assignments: readonly MemberAssignment[]): Buffer {
  return new Writer(128)
    .string(member.groupId)
    .int32(generationId)
    .string(member.memberId)
    .string(member.groupInstanceId)
    .array(assignments, (a, w) => w.string(a.memberId).bytes(a.assignment))
    .toBuffer()
}

export interface SyncGroupResponse {
  readonly errorCode: number
  /** This member's assignment (`decodeAssignment`). */
  readonly assignment: Buffer
}

export function readSyncGroup(body: Reader): SyncGroupResponse {
  body.int32() // throttle_time_ms
  const errorCode = body.int16()
  return { errorCode, assignment: body.bytes() ?? EMPTY }
}

export function heartbeatRequest(member: MemberIdentity, generationId: number): Buffer {
  return new Writer(64).string(member.groupId).int32(generationId).string(member.memberId).string(member.groupInstanceId).toBuffer()
}

export interface HeartbeatResponse {
  /** REBALANCE_IN_PROGRESS is how the coordinator tells a member to rejoin. */
  readonly errorCode: number
}

export function readHeartbeat(body: Reader): HeartbeatResponse {
  body.int32() // throttle_time_ms
  return { errorCode: body.int16() }
}

/** LeaveGroup v3 takes a batch of members (for admin tools); a consumer leaves as itself alone. */
export function leaveGroupRequest(member: MemberIdentity): Buffer {
  return new Writer(64)
    .string(member.groupId)
    .array([member], (m, w) => w.string(m.memberId).string(m.groupInstanceId))
    .toBuffer()
}

export interface LeftMember {
  readonly memberId: string
  readonly groupInstanceId: string | null
  readonly errorCode: number
}

export interface LeaveGroupResponse {
  /** The request's own error; each member's is in `members`. */
  readonly errorCode: number
  readonly members: readonly LeftMember[]
}

export function readLeaveGroup(body: Reader): LeaveGroupResponse {
  body.int32() // throttle_time_ms
  const errorCode = body.int16()
  const members = body.array((r): LeftMember => {
    const memberId = r.string() ?? ''
    const groupInstanceId = r.string()
    return { memberId, groupInstanceId, errorCode: r.int16() }
  })
  return { errorCode, members }
}

// ---- OffsetCommit v7, OffsetFetch v5 ----

/** OffsetCommit v7 under `generationId`: a coordinator refuses a commit from a generation that ended. */
export function offsetCommitRequest(member: MemberIdentity, generationId: number, offsets: readonly OffsetToCommit[]): Buffer {
  return new Writer(128)
    .string(member.groupId)
    .int32(generationId)
    .string(member.memberId)
    .string(member.groupInstanceId)
    .array(byTopic(offsets), ([topic, list], t) => {
      // committed_metadata null: none (the broker stores it as '').
      t.string(topic).array(list, (p, pw) => pw.int32(p.partition).int64(BigInt(p.offset)).int32(p.leaderEpoch).string(null))
    })
    .toBuffer()
}

export interface CommitResult extends TopicPartition {
  readonly errorCode: number
}

export function readOffsetCommit(body: Reader): CommitResult[] {
  body.int32() // throttle_time_ms
  return body
    .array((r) => {
      const topic = r.string() ?? ''
      return r.array((p): CommitResult => ({ topic, partition: p.int32(), errorCode: p.int16() }))
    })
    .flat()
}

/** OffsetFetch v5: the group's committed offsets of `partitions`, or of every partition it committed when null. */
export function offsetFetchRequest(groupId: string, partitions: readonly TopicPartition[] | null): Buffer {
  return new Writer(64)
    .string(groupId)
    .array(partitions === null ? null : byTopic(partitions), ([topic, list], t) => {
      t.string(topic).array(list, (p, pw) => pw.int32(p.partition))
    })
    .toBuffer()
}

export interface CommittedOffset extends TopicPartition {
  /** The next offset to consume; -1 when the group committed nothing for the partition. */
  readonly offset: number
  /** The leader epoch committed with it, or -1. */
  readonly leaderEpoch: number
  readonly metadata: string | null
  readonly errorCode: number
}

export interface OffsetFetchResponse {
  /** The request's own error (the coordinator's: COORDINATOR_LOAD_IN_PROGRESS, NOT_COORDINATOR, ...); each partition's is on it. */
  readonly errorCode: number
  readonly offsets: readonly CommittedOffset[]
}

export function readOffsetFetch(body: Reader): OffsetFetchResponse {
  body.int32() // throttle_time_ms
  const offsets = body
    .array((r) => {
      const topic = r.string() ?? ''
      return r.array((p): CommittedOffset => {
        const partition = p.int32()
        const offset = p.int64()
        const leaderEpoch = p.int32()
        const metadata = p.string()
        return { topic, partition, offset, leaderEpoch, metadata, errorCode: p.int16() }
      })
    })
    .flat()
  // The request's error code comes after the topics.
  const errorCode = body.int16()
  return { errorCode, offsets }
}

// ---- The consumer protocol's subscription and assignment ----

export interface Subscription {
  readonly topics: readonly string[]
  /** The assignor's own data (the cooperative-sticky assignor's generation, for one), or null. */
  readonly userData: Buffer | null
  /** The partitions the member holds now, which cooperative rebalancing leaves in place (none from a v0 subscription). */
  readonly ownedPartitions: readonly TopicPartition[]
}

function writePartitions(w: Writer, partitions: readonly TopicPartition[]): Writer {
  return w.array(byTopic(partitions), ([topic, list], t) => {
    t.string(topic).array(list, (p, pw) => pw.int32(p.partition))
  })
}

function readPartitions(r: Reader): TopicPartition[] {
  return r
    .array((t) => {
      const topic = t.string() ?? ''
      return t.array((p): TopicPartition => ({ topic, partition: p.int32() }))
    })
    .flat()
}

/**
 * ConsumerProtocolSubscription v1: v1 adds the owned partitions, which cooperative rebalancing needs. v2's
 * generation id is left out because the cooperative-sticky user data carries the generation (where Java's
 * assignor looks when the field is absent), and v3's rack id because this client does no rack-aware assignment.
 */
export function encodeSubscription(subscription: Subscription): Buffer {
  const w = new Writer(64)
    .int16(1)
    .array(subscription.topics, (topic, tw) => tw.string(topic))
    .bytes(subscription.userData)
  return writePartitions(w, subscription.ownedPartitions).toBuffer()
}

/**
 * Any version, since the leader reads every member's and Java's consumer writes v3: versions only append
 * fields, so what v1 has is read and anything after it ignored; v0 has no owned partitions.
 */
export function decodeSubscription(data: Buffer): Subscription {
  const r = new Reader(data)
  const version = r.int16()
  const topics = r.array((t) => t.string() ?? '')
  const userData = r.bytes()
  return { topics, userData, ownedPartitions: version >= 1 ? readPartitions(r) : [] }
}

/** ConsumerProtocolAssignment v1 (the same fields as v0), without user data: no assignor here sends any. */
export function encodeAssignment(partitions: readonly TopicPartition[]): Buffer {
  return writePartitions(new Writer(64).int16(1), partitions).bytes(null).toBuffer()
}

/**
 * The assigned partitions, from any version (versions only append fields, and the user data after them is
 * for assignors that send some). An empty buffer, what the coordinator gives a member the leader's SyncGroup
 * left out, is none.
 */
export function decodeAssignment(data: Buffer): TopicPartition[] {
  if (data.length === 0) return []
  const r = new Reader(data)
  r.int16() // version
  return readPartitions(r)
}
