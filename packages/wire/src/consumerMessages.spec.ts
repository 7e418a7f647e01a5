import { describe, expect, it } from 'vitest'
import { Reader, TruncatedResponseError, Writer } from './protocol.js'
import {
  EARLIEST_TIMESTAMP,
  LATEST_TIMESTAMP,
  decodeAssignment,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
  fetchRequest,
  findCoordinatorRequest,
  heartbeatRequest,
  joinGroupRequest,
  leaveGroupRequest,
  listOffsetsRequest,
  offsetCommitRequest,
  offsetFetchRequest,
  readFetch,
  readFindCoordinator,
  readHeartbeat,
  readJoinGroup,
  readLeaveGroup,
  readListOffsets,
  readOffsetCommit,
  readOffsetFetch,
  readSyncGroup,
  syncGroupRequest,
  type Subscription,
} from './consumerMessages.js'

/**
 * A message's fields in the order its JSON definition gives them, named as there: request bodies are read
 * back against them field by field (so a field out of order fails), and answers are written from them.
 */
type Field =
  | readonly [name: string, kind: 'int8', value: number]
  | readonly [name: string, kind: 'int16', value: number]
  | readonly [name: string, kind: 'int32', value: number]
  | readonly [name: string, kind: 'int64', value: bigint]
  | readonly [name: string, kind: 'string', value: string | null]
  | readonly [name: string, kind: 'bytes', value: Buffer | null]
  | readonly [name: string, kind: 'array', value: ReadonlyArray<readonly Field[]> | null]

const int8 = (name: string, value: number): Field => [name, 'int8', value]
const int16 = (name: string, value: number): Field => [name, 'int16', value]
const int32 = (name: string, value: number): Field => [name, 'int32', value]
const int64 = (name: string, value: number | bigint): Field => [name, 'int64', BigInt(value)]
const string = (name: string, value: string | null): Field => [name, 'string', value]
const bytes = (name: string, value: Buffer | null): Field => [name, 'bytes', value]
const array = (name: string, items: ReadonlyArray<readonly Field[]> | null): Field => [name, 'array', items]
const int32s = (name: string, values: readonly number[]): Field => array(name, values.map((v) => [int32('', v)]))
const strings = (name: string, values: readonly string[]): Field => array(name, values.map((v) => [string('', v)]))

/** Reads `fields` from `r`, each as its type, expecting each value; `path` locates a failing field. */
function expectFields(r: Reader, fields: readonly Field[], path = ''): void {
  for (const [name, kind, value] of fields) {
    const at = path + name
    if (kind === 'int8') expect(r.int8(), at).toBe(value)
    else if (kind === 'int16') expect(r.int16(), at).toBe(value)
    else if (kind === 'int32') expect(r.int32(), at).toBe(value)
    else if (kind === 'int64') expect(r.int64Big(), at).toBe(value)
    else if (kind === 'string') expect(r.string(), at).toBe(value)
    else if (kind === 'bytes') expect(r.bytes(), at).toEqual(value)
    else {
      expect(r.int32(), `${at} length`).toBe(value === null ? -1 : value.length)
      value?.forEach((item, i) => expectFields(r, item, `${at}[${i}].`))
    }
  }
}

/** The request body is exactly `fields`. */
function expectBody(body: Buffer, fields: readonly Field[]): void {
  const r = new Reader(body)
  expectFields(r, fields)
  expect(() => r.int8(), 'bytes after the last field').toThrow(TruncatedResponseError)
}

function write(w: Writer, fields: readonly Field[]): Writer {
  for (const [, kind, value] of fields) {
    if (kind === 'int8') w.int8(value)
    else if (kind === 'int16') w.int16(value)
    else if (kind === 'int32') w.int32(value)
    else if (kind === 'int64') w.int64(value)
    else if (kind === 'string') w.string(value)
    else if (kind === 'bytes') w.bytes(value)
    else w.array(value, (item, iw) => write(iw, item))
  }
  return w
}

/** `fields` written as the broker would. */
const encoded = (fields: readonly Field[]): Buffer => write(new Writer(), fields).toBuffer()

/** What `read` makes of an answer written from `fields`, which it must read to the end. */
function answer<T>(fields: readonly Field[], read: (body: Reader) => T): T {
  const r = new Reader(encoded(fields))
  const result = read(r)
  expect(() => r.int8(), 'bytes left unread').toThrow(TruncatedResponseError)
  return result
}

const member = { groupId: 'g', memberId: 'm-1', groupInstanceId: 'i-1' }
/** group_id, generation_id, member_id, group_instance_id: how SyncGroup, Heartbeat and OffsetCommit start. */
const memberFields = (generationId: number): Field[] => [string('group_id', 'g'), int32('generation_id', generationId), string('member_id', 'm-1'), string('group_instance_id', 'i-1')]

describe('Fetch v11', () => {
  it('writes the request, partitions grouped by topic in first-seen order', () => {
    const body = fetchRequest({
      maxWaitMs: 500,
      minBytes: 1,
      maxBytes: 52_428_800,
      isolationLevel: 1,
      partitions: [
        { topic: 'a', partition: 0, offset: 10, currentLeaderEpoch: 3, maxBytes: 1_048_576 },
        { topic: 'b', partition: 2, offset: 2 ** 40, maxBytes: 65_536 },
        { topic: 'a', partition: 1, offset: 0, currentLeaderEpoch: 4, maxBytes: 1_048_576 },
      ],
    })
    const partition = (index: number, epoch: number, offset: number, maxBytes: number): Field[] => [
      int32('partition', index),
      int32('current_leader_epoch', epoch),
      int64('fetch_offset', offset),
      int64('log_start_offset', -1),
      int32('partition_max_bytes', maxBytes),
    ]
    expectBody(body, [
      int32('replica_id', -1),
      int32('max_wait_ms', 500),
      int32('min_bytes', 1),
      int32('max_bytes', 52_428_800),
      int8('isolation_level', 1),
      int32('session_id', 0),
      int32('session_epoch', -1),
      array('topics', [
        [string('topic', 'a'), array('partitions', [partition(0, 3, 10, 1_048_576), partition(1, 4, 0, 1_048_576)])],
        [string('topic', 'b'), array('partitions', [partition(2, -1, 2 ** 40, 65_536)])],
      ]),
      array('forgotten_topics_data', []),
      string('rack_id', ''),
    ])
  })

  it('reads the answer, the records a view into it', () => {
    const records = Buffer.from('record batches')
    const { response, source } = answer(
      [
        int32('throttle_time_ms', 0),
        int16('error_code', 0),
        int32('session_id', 0),
        array('responses', [
          [
            string('topic', 't'),
            array('partitions', [
              [
                int32('partition_index', 0),
                int16('error_code', 0),
                int64('high_watermark', 120),
                int64('last_stable_offset', 110),
                int64('log_start_offset', 5),
                array('aborted_transactions', [[int64('producer_id', 2n ** 62n), int64('first_offset', 100)]]),
                int32('preferred_read_replica', -1),
                bytes('records', records),
              ],
              [
                int32('partition_index', 1),
                int16('error_code', 1),
                int64('high_watermark', -1),
                int64('last_stable_offset', -1),
                int64('log_start_offset', -1),
                array('aborted_transactions', null),
                int32('preferred_read_replica', 2),
                bytes('records', null),
              ],
            ]),
          ],
        ]),
      ],
      (r) => ({ response: readFetch(r), source: r.buffer }),
    )
    expect(response).toEqual({
      errorCode: 0,
      partitions: [
        {
          topic: 't',
          partition: 0,
          errorCode: 0,
          highWatermark: 120,
          lastStableOffset: 110,
          logStartOffset: 5,
          abortedTransactions: [{ producerId: 2n ** 62n, firstOffset: 100 }],
          preferredReadReplica: -1,
          records,
        },
        { topic: 't', partition: 1, errorCode: 1, highWatermark: -1, lastStableOffset: -1, logStartOffset: -1, abortedTransactions: [], preferredReadReplica: 2, records: Buffer.alloc(0) },
      ],
    })
    expect(response.partitions[0]?.records.buffer).toBe(source.buffer)
  })
})

describe('ListOffsets v5', () => {
  it('writes the request', () => {
    const body = listOffsetsRequest(0, [
      { topic: 'a', partition: 0, timestamp: EARLIEST_TIMESTAMP },
      { topic: 'b', partition: 0, currentLeaderEpoch: 7, timestamp: 1_700_000_000_000 },
      { topic: 'a', partition: 3, timestamp: LATEST_TIMESTAMP },
    ])
    const partition = (index: number, epoch: number, timestamp: number): Field[] => [int32('partition_index', index), int32('current_leader_epoch', epoch), int64('timestamp', timestamp)]
    expectBody(body, [
      int32('replica_id', -1),
      int8('isolation_level', 0),
      array('topics', [
        [string('name', 'a'), array('partitions', [partition(0, -1, -2), partition(3, -1, -1)])],
        [string('name', 'b'), array('partitions', [partition(0, 7, 1_700_000_000_000)])],
      ]),
    ])
  })

  it('reads the answer', () => {
    const offsets = answer(
      [
        int32('throttle_time_ms', 0),
        array('topics', [
          [
            string('name', 'a'),
            array('partitions', [
              [int32('partition_index', 0), int16('error_code', 0), int64('timestamp', 1_700_000_000_123), int64('offset', 42), int32('leader_epoch', 3)],
              [int32('partition_index', 3), int16('error_code', 6), int64('timestamp', -1), int64('offset', -1), int32('leader_epoch', -1)],
            ]),
          ],
        ]),
      ],
      readListOffsets,
    )
    expect(offsets).toEqual([
      { topic: 'a', partition: 0, errorCode: 0, timestamp: 1_700_000_000_123, offset: 42, leaderEpoch: 3 },
      { topic: 'a', partition: 3, errorCode: 6, timestamp: -1, offset: -1, leaderEpoch: -1 },
    ])
  })
})

describe('FindCoordinator v2', () => {
  it('writes the request', () => {
    expectBody(findCoordinatorRequest('g', 0), [string('key', 'g'), int8('key_type', 0)])
  })

  it('reads the answer', () => {
    const coordinator = answer(
      [int32('throttle_time_ms', 0), int16('error_code', 15), string('error_message', 'not available'), int32('node_id', 3), string('host', 'b3'), int32('port', 9092)],
      readFindCoordinator,
    )
    expect(coordinator).toEqual({ errorCode: 15, errorMessage: 'not available', nodeId: 3, host: 'b3', port: 9092 })
  })
})

describe('JoinGroup v5', () => {
  it('writes the request', () => {
    const metadata = Buffer.from([0, 1, 2])
    const body = joinGroupRequest({ ...member, sessionTimeoutMs: 45_000, rebalanceTimeoutMs: 300_000, protocols: [{ name: 'cooperative-sticky', metadata }, { name: 'range', metadata }] })
    expectBody(body, [
      string('group_id', 'g'),
      int32('session_timeout_ms', 45_000),
      int32('rebalance_timeout_ms', 300_000),
      string('member_id', 'm-1'),
      string('group_instance_id', 'i-1'),
      string('protocol_type', 'consumer'),
      array('protocols', [
        [string('name', 'cooperative-sticky'), bytes('metadata', metadata)],
        [string('name', 'range'), bytes('metadata', metadata)],
      ]),
    ])
  })

  it('reads the answer', () => {
    const joined = answer(
      [
        int32('throttle_time_ms', 0),
        int16('error_code', 0),
        int32('generation_id', 4),
        string('protocol_name', 'range'),
        string('leader', 'm-1'),
        string('member_id', 'm-2'),
        array('members', [
          [string('member_id', 'm-1'), string('group_instance_id', null), bytes('metadata', Buffer.from([1]))],
          [string('member_id', 'm-2'), string('group_instance_id', 'i-2'), bytes('metadata', Buffer.from([2]))],
        ]),
      ],
      readJoinGroup,
    )
    expect(joined).toEqual({
      errorCode: 0,
      generationId: 4,
      protocolName: 'range',
      leader: 'm-1',
      memberId: 'm-2',
      members: [
        { memberId: 'm-1', groupInstanceId: null, metadata: Buffer.from([1]) },
        { memberId: 'm-2', groupInstanceId: 'i-2', metadata: Buffer.from([2]) },
      ],
    })
  })
})

describe('SyncGroup v3', () => {
  it('writes the request', () => {
    const body = syncGroupRequest(member, 4, [{ memberId: 'm-1', assignment: Buffer.from([9]) }])
    expectBody(body, [...memberFields(4), array('assignments', [[string('member_id', 'm-1'), bytes('assignment', Buffer.from([9]))]])])
  })

  it('reads the answer', () => {
    expect(answer([int32('throttle_time_ms', 0), int16('error_code', 27), bytes('assignment', Buffer.from([9]))], readSyncGroup)).toEqual({ errorCode: 27, assignment: Buffer.from([9]) })
  })
})

describe('Heartbeat v3', () => {
  it('writes the request', () => {
    expectBody(heartbeatRequest(member, 4), memberFields(4))
  })

  it('reads the answer', () => {
    expect(answer([int32('throttle_time_ms', 0), int16('error_code', 27)], readHeartbeat)).toEqual({ errorCode: 27 })
  })
})

describe('LeaveGroup v3', () => {
  it('writes the request', () => {
    expectBody(leaveGroupRequest(member), [string('group_id', 'g'), array('members', [[string('member_id', 'm-1'), string('group_instance_id', 'i-1')]])])
  })

  it('reads the answer', () => {
    const left = answer(
      [int32('throttle_time_ms', 0), int16('error_code', 0), array('members', [[string('member_id', 'm-1'), string('group_instance_id', null), int16('error_code', 25)]])],
      readLeaveGroup,
    )
    expect(left).toEqual({ errorCode: 0, members: [{ memberId: 'm-1', groupInstanceId: null, errorCode: 25 }] })
  })
})

describe('OffsetCommit v7', () => {
  it('writes the request', () => {
    const body = offsetCommitRequest(member, 4, [
      { topic: 'a', partition: 0, offset: 11, leaderEpoch: 3 },
      { topic: 'b', partition: 1, offset: 2 ** 40, leaderEpoch: -1 },
      { topic: 'a', partition: 2, offset: 0, leaderEpoch: 5 },
    ])
    const partition = (index: number, offset: number, epoch: number): Field[] => [
      int32('partition_index', index),
      int64('committed_offset', offset),
      int32('committed_leader_epoch', epoch),
      string('committed_metadata', null),
    ]
    expectBody(body, [
      ...memberFields(4),
      array('topics', [
        [string('name', 'a'), array('partitions', [partition(0, 11, 3), partition(2, 0, 5)])],
        [string('name', 'b'), array('partitions', [partition(1, 2 ** 40, -1)])],
      ]),
    ])
  })

  it('reads the answer', () => {
    const results = answer(
      [
        int32('throttle_time_ms', 0),
        array('topics', [
          [
            string('name', 'a'),
            array('partitions', [
              [int32('partition_index', 0), int16('error_code', 0)],
              [int32('partition_index', 2), int16('error_code', 22)],
            ]),
          ],
        ]),
      ],
      readOffsetCommit,
    )
    expect(results).toEqual([
      { topic: 'a', partition: 0, errorCode: 0 },
      { topic: 'a', partition: 2, errorCode: 22 },
    ])
  })
})

describe('OffsetFetch v5', () => {
  it('writes the request, for given partitions or (null topics) all', () => {
    const body = offsetFetchRequest('g', [
      { topic: 'a', partition: 0 },
      { topic: 'b', partition: 1 },
      { topic: 'a', partition: 2 },
    ])
    expectBody(body, [
      string('group_id', 'g'),
      array('topics', [
        [string('name', 'a'), int32s('partition_indexes', [0, 2])],
        [string('name', 'b'), int32s('partition_indexes', [1])],
      ]),
    ])
    expectBody(offsetFetchRequest('g', null), [string('group_id', 'g'), array('topics', null)])
  })

  it('reads the answer, the request error after the topics', () => {
    const fetched = answer(
      [
        int32('throttle_time_ms', 0),
        array('topics', [
          [
            string('name', 'a'),
            array('partitions', [
              [int32('partition_index', 0), int64('committed_offset', 11), int32('committed_leader_epoch', 3), string('metadata', ''), int16('error_code', 0)],
              [int32('partition_index', 2), int64('committed_offset', -1), int32('committed_leader_epoch', -1), string('metadata', null), int16('error_code', 0)],
            ]),
          ],
        ]),
        int16('error_code', 14),
      ],
      readOffsetFetch,
    )
    expect(fetched).toEqual({
      errorCode: 14,
      offsets: [
        { topic: 'a', partition: 0, offset: 11, leaderEpoch: 3, metadata: '', errorCode: 0 },
        { topic: 'a', partition: 2, offset: -1, leaderEpoch: -1, metadata: null, errorCode: 0 },
      ],
    })
  })
})

describe('the consumer protocol', () => {
  const subscription: Subscription = {
    topics: ['a', 'b'],
    userData: Buffer.from([0, 0, 0, 4]),
    ownedPartitions: [
      { topic: 'a', partition: 0 },
      { topic: 'b', partition: 1 },
      { topic: 'a', partition: 2 },
    ],
  }
  /** Those partitions as the wire nests them, in subscriptions and assignments alike. */
  const byTopic: Field[][] = [
    [string('topic', 'a'), int32s('partitions', [0, 2])],
    [string('topic', 'b'), int32s('partitions', [1])],
  ]
  const grouped = [
    { topic: 'a', partition: 0 },
    { topic: 'a', partition: 2 },
    { topic: 'b', partition: 1 },
  ]

  it('writes a v1 subscription and reads it back', () => {
    const data = encodeSubscription(subscription)
    expectBody(data, [int16('version', 1), strings('topics', ['a', 'b']), bytes('user_data', Buffer.from([0, 0, 0, 4])), array('owned_partitions', byTopic)])
    expect(decodeSubscription(data)).toEqual({ ...subscription, ownedPartitions: grouped })
    expect(decodeSubscription(encodeSubscription({ topics: ['a'], userData: null, ownedPartitions: [] }))).toEqual({ topics: ['a'], userData: null, ownedPartitions: [] })
  })

  it('reads a v0 subscription, which owns nothing', () => {
    const data = encoded([int16('version', 0), strings('topics', ['a']), bytes('user_data', null)])
    expect(decodeSubscription(data)).toEqual({ topics: ['a'], userData: null, ownedPartitions: [] })
  })

  it("reads a v3 subscription (Java's) as far as v1 goes", () => {
    const data = encoded([int16('version', 3), strings('topics', ['a', 'b']), bytes('user_data', Buffer.from([0, 0, 0, 4])), array('owned_partitions', byTopic), int32('generation_id', 4), string('rack_id', 'rack-1')])
    expect(decodeSubscription(data)).toEqual({ ...subscription, ownedPartitions: grouped })
  })

  it('writes a v1 assignment and reads it back, or one of a later version', () => {
    const data = encodeAssignment(subscription.ownedPartitions)
    expectBody(data, [int16('version', 1), array('assigned_partitions', byTopic), bytes('user_data', null)])
    expect(decodeAssignment(data)).toEqual(grouped)
    expect(decodeAssignment(encoded([int16('version', 3), array('assigned_partitions', byTopic), bytes('user_data', Buffer.from([1]))]))).toEqual(grouped)
  })

  it('reads an empty assignment as no partitions', () => {
    expect(decodeAssignment(Buffer.alloc(0))).toEqual([])
  })
})
