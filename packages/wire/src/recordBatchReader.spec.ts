import { describe, expect, it } from 'vitest'
import { crc32c } from '@node-rs/crc32'
import { NO_HEADERS, type Codec, type FetchedRecord, type WireRecord } from '@topicflow/core'
import { encodeRecordBatch } from './recordBatch.js'
import { CorruptRecordError, decodeRecordBatches, type DecodeOptions } from './recordBatchReader.js'

const now = 1_795_000_000_000
const topic = 'orders'
const partition = 3
const options: DecodeOptions = { topic, partition, fetchOffset: 0, readCommitted: false, abortedTransactions: [] }

const ATTRIBUTES_OFFSET = 21
const TRANSACTIONAL = 0x10
const CONTROL = 0x20
const LOG_APPEND_TIME = 0x08

/** Writes the batch's base offset: the broker's job, outside the CRC. */
function atOffset(batch: Buffer, baseOffset: number): Buffer {
  batch.writeBigInt64BE(BigInt(baseOffset), 0)
  return batch
}

function recomputeCrc(batch: Buffer): Buffer {
  batch.writeUInt32BE(crc32c(batch.subarray(ATTRIBUTES_OFFSET)), 17)
  return batch
}

function setAttributes(batch: Buffer, bits: number): Buffer {
  batch.writeInt16BE(batch.readInt16BE(ATTRIBUTES_OFFSET) | bits, ATTRIBUTES_OFFSET)
  return recomputeCrc(batch)
}

function plain(count: number, from = 0): WireRecord[] {
  return Array.from({ length: count }, (_, i) => ({ key: Buffer.from(`k${from + i}`), value: Buffer.from(`v${from + i}`), headers: NO_HEADERS, timestamp: now + i }))
}

/** The fields a test compares: bytes as strings, header values as strings. */
function view(record: FetchedRecord): unknown {
  return {
    offset: record.offset,
    timestamp: record.timestamp,
    timestampType: record.timestampType,
    key: record.key?.toString() ?? null,
    value: record.value?.toString() ?? null,
    headers: record.headers.map(([name, value]) => [name, value.toString()]),
  }
}

const varied: WireRecord[] = [
  { key: Buffer.from('k1'), value: Buffer.from('{"a":1}'), headers: NO_HEADERS, timestamp: now },
  { key: null, value: Buffer.from('no key'), headers: [['x-trace', 'abc'], ['ünïcode', 'välue ✓']], timestamp: now + 5 },
  { key: Buffer.from('tombstone'), value: null, headers: [['repeated', 'one'], ['repeated', Buffer.from('two')], ['empty', '']], timestamp: now - 3 },
  { key: null, value: null, headers: NO_HEADERS, timestamp: now + 2 ** 40 },
  ...Array.from({ length: 2000 }, (_, i) => ({
    key: i % 7 === 0 ? null : Buffer.from(`key-${i}`),
    value: Buffer.alloc(i % 300, i % 256),
    headers: i % 3 === 0 ? ([['seq', String(i)]] as const) : NO_HEADERS,
    timestamp: now + i * 1000 - 500_000,
  })),
]

describe('decodeRecordBatches', () => {
  it.each<Codec>(['none', 'gzip', 'snappy', 'lz4', 'zstd'])('reads back what encodeRecordBatch writes (%s)', async (codec) => {
    const batch = atOffset(await encodeRecordBatch(varied, codec, undefined), 1000)
    const decoded = await decodeRecordBatches(batch, options)
    expect(decoded.records.map(view)).toEqual(
      varied.map((record, i) => ({
        offset: 1000 + i,
        timestamp: record.timestamp,
        timestampType: 'CreateTime',
        key: record.key?.toString() ?? null,
        value: record.value?.toString() ?? null,
        headers: record.headers.map(([name, value]) => [name, value.toString()]),
      })),
    )
    expect(decoded.nextOffset).toBe(1000 + varied.length)
    expect(decoded.truncatedBytes).toBe(0)
    const first = decoded.records[0]!
    expect(Object.keys(first)).toEqual(['topic', 'partition', 'offset', 'leaderEpoch', 'timestamp', 'timestampType', 'key', 'value', 'headers'])
    expect(first).toMatchObject({ topic, partition, leaderEpoch: -1 })
    expect(decoded.records[3]!.headers).toBe(NO_HEADERS)
    // Views, not copies: of the response itself when uncompressed.
    if (codec === 'none') expect(first.key!.buffer).toBe(batch.buffer)
  })

  it('reads batches one after another, and stops at a trailing batch cut short', async () => {
    const first = atOffset(await encodeRecordBatch(plain(3), 'none', undefined), 10)
    const second = atOffset(await encodeRecordBatch(plain(2, 3), 'lz4', undefined), 13)
    const third = atOffset(await encodeRecordBatch(plain(4, 5), 'none', undefined), 15)
    const whole = await decodeRecordBatches(Buffer.concat([first, second, third]), options)
    expect(whole.records.map((r) => [r.offset, r.value?.toString()])).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18].map((offset, i) => [offset, `v${i}`]))
    expect(whole.nextOffset).toBe(19)

    const cut = await decodeRecordBatches(Buffer.concat([first, second, third.subarray(0, third.length - 1)]), options)
    expect(cut.records.map((r) => r.offset)).toEqual([10, 11, 12, 13, 14])
    expect(cut.nextOffset).toBe(15)
    expect(cut.truncatedBytes).toBe(third.length - 1)

    // Fewer bytes than a batch's length field.
    const stub = await decodeRecordBatches(Buffer.concat([first, third.subarray(0, 7)]), options)
    expect(stub).toMatchObject({ nextOffset: 13, truncatedBytes: 7 })
    expect(await decodeRecordBatches(third.subarray(0, 30), { ...options, fetchOffset: 15 })).toEqual({ records: [], nextOffset: 15, truncatedBytes: 30 })
  })

  it('skips the records before the fetch offset in a batch that starts earlier', async () => {
    const batch = atOffset(await encodeRecordBatch(plain(10), 'gzip', undefined), 100)
    const decoded = await decodeRecordBatches(batch, { ...options, fetchOffset: 105 })
    expect(decoded.records.map((r) => r.offset)).toEqual([105, 106, 107, 108, 109])
    expect(decoded.records[0]!.key?.toString()).toBe('k5')
    expect(decoded.nextOffset).toBe(110)
  })

  it('gives every record of a LogAppendTime batch its max timestamp, and the leader epoch of the batch', async () => {
    const batch = atOffset(await encodeRecordBatch(plain(3), 'none', undefined), 0)
    batch.writeInt32BE(7, 12) // partition leader epoch: outside the CRC
    const decoded = await decodeRecordBatches(setAttributes(batch, LOG_APPEND_TIME), options)
    expect(decoded.records.map((r) => [r.timestamp, r.timestampType, r.leaderEpoch])).toEqual([
      [now + 2, 'LogAppendTime', 7],
      [now + 2, 'LogAppendTime', 7],
      [now + 2, 'LogAppendTime', 7],
    ])
  })

  it('reads a null header value as an empty Buffer', async () => {
    const batch = await encodeRecordBatch([{ key: null, value: null, headers: [['h', '']], timestamp: now }], 'none', undefined)
    // The last byte is the header value's length, 0 (zigzag 0x00); 0x01 is -1: null.
    batch[batch.length - 1] = 0x01
    const [record] = (await decodeRecordBatches(recomputeCrc(batch), options)).records
    expect(record!.headers).toEqual([['h', Buffer.alloc(0)]])
  })

  it('throws CorruptRecordError naming topic, partition and base offset for a corrupted byte', async () => {
    const good = atOffset(await encodeRecordBatch(plain(2), 'none', undefined), 0)
    const bad = atOffset(await encodeRecordBatch(plain(3), 'none', undefined), 2)
    bad[bad.length - 3]! ^= 0xff
    const error = await decodeRecordBatches(Buffer.concat([good, bad]), options).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CorruptRecordError)
    expect(error).toMatchObject({ topic, partition, offset: 2, retriable: false })
    expect((error as Error).message).toMatch(/offset 2 of orders-3: .*CRC-32C/)
  })

  it('refuses message formats older than v2', async () => {
    const batch = await encodeRecordBatch(plain(1), 'none', undefined)
    batch.writeInt8(1, 16)
    await expect(decodeRecordBatches(batch, options)).rejects.toThrow(/older than v2/)
    await expect(decodeRecordBatches(batch, options)).rejects.toBeInstanceOf(CorruptRecordError)
  })

  it('throws CorruptRecordError for a record whose length runs past its batch', async () => {
    const batch = await encodeRecordBatch(plain(1), 'none', undefined)
    batch[61] = 0x7e // the record's length varint: 63 bytes, more than the batch holds
    await expect(decodeRecordBatches(recomputeCrc(batch), options)).rejects.toThrow(/runs past/)
  })

  describe('transactions', () => {
    /** A batch as the broker holds it: at `baseOffset`, of `producerId`, with the transactional and control bits as given. */
    async function batchOf(baseOffset: number, producerId: bigint, kind: 'transactional' | 'plain' | 'abort' | 'commit', values: readonly string[] = []): Promise<Buffer> {
      const marker = (type: number): WireRecord[] => {
        const key = Buffer.alloc(4)
        key.writeInt16BE(type, 2) // version 0, then the type
        return [{ key, value: Buffer.from([0, 0, 0, 0, 0, 5]), headers: NO_HEADERS, timestamp: now }]
      }
      const records = kind === 'abort' ? marker(0) : kind === 'commit' ? marker(1) : values.map((v) => ({ key: null, value: Buffer.from(v), headers: NO_HEADERS, timestamp: now }))
      const batch = atOffset(await encodeRecordBatch(records, 'none', { producerId, producerEpoch: 0, baseSequence: 0 }), baseOffset)
      return setAttributes(batch, kind === 'plain' ? 0 : kind === 'transactional' ? TRANSACTIONAL : TRANSACTIONAL | CONTROL)
    }

    async function log(): Promise<Buffer> {
      return Buffer.concat([
        await batchOf(0, 7n, 'transactional', ['aborted-0', 'aborted-1']),
        await batchOf(2, 8n, 'transactional', ['committed-2', 'committed-3']),
        await batchOf(4, 7n, 'abort'),
        await batchOf(5, 8n, 'commit'),
        await batchOf(6, 7n, 'transactional', ['after-marker-6', 'after-marker-7']),
        await batchOf(8, 5n, 'plain', ['plain-8']),
        await batchOf(9, 9n, 'transactional', ['aborted-9']),
      ])
    }
    // Out of order on purpose: the reader sorts them by first offset.
    const abortedTransactions = [
      { producerId: 9n, firstOffset: 9 },
      { producerId: 7n, firstOffset: 0 },
    ]

    it('skips aborted transactions and control batches under read_committed', async () => {
      const decoded = await decodeRecordBatches(await log(), { ...options, readCommitted: true, abortedTransactions })
      expect(decoded.records.map((r) => [r.offset, r.value?.toString()])).toEqual([
        [2, 'committed-2'],
        [3, 'committed-3'],
        [6, 'after-marker-6'],
        [7, 'after-marker-7'],
        [8, 'plain-8'],
      ])
      expect(decoded.nextOffset).toBe(10)
    })

    it('skips only control batches under read_uncommitted', async () => {
      const decoded = await decodeRecordBatches(await log(), { ...options, readCommitted: false, abortedTransactions: [] })
      expect(decoded.records.map((r) => r.offset)).toEqual([0, 1, 2, 3, 6, 7, 8, 9])
      expect(decoded.nextOffset).toBe(10)
    })
  })
})
