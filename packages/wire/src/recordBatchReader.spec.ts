import { describe, expect, it } from 'vitest'
import { crc32c } from '@node-rs/crc32'
import { NO_HEADERS, type Codec, type FetchedRecord, type WireRecord } from '@topicflow/core'
import { encodeRecordBatch } from './recordBatch.js'
import { CorruptRecordError, decodeRecordBatches, type DecodeOptions } from './recordBatchReader.js'

const now = 1_795_000_000_000
const topic = 'orders'
const partition = 3
const options: DecodeOptions = { topic, partition, fetchOffset: 0, readCommitted: false, abortedTransactions: [] }

const LOG_APPEND_TIME = 0x08
const TRANSACTIONAL = 0x10
const CONTROL = 0x20

/** What a test changes in a batch after `encodeRecordBatch` wrote it, as a broker or a transactional producer would have it. */
interface BatchAs {
  readonly codec?: Codec
  /** The broker assigns offsets; the encoder writes 0. */
  readonly baseOffset?: number
  readonly leaderEpoch?: number
  readonly magic?: number
  /** Written with epoch 0 and sequence 0; without it the batch has none (-1), as a plain producer's. */
  readonly producerId?: bigint
  /** Bits set in the attributes (LogAppendTime, transactional, control). */
  readonly attributes?: number
  /** The broker's append time, for a LogAppendTime batch. */
  readonly maxTimestamp?: number
  /** Any other change to the bytes, before the CRC is computed again. */
  readonly patch?: (batch: Buffer) => void
}

/** A batch of `records` encoded by the producer's own encoder, then edited as `as` says, with its CRC-32C computed again. */
async function batchOf(records: readonly WireRecord[], as: BatchAs = {}): Promise<Buffer> {
  const producer = as.producerId === undefined ? undefined : { producerId: as.producerId, producerEpoch: 0, baseSequence: 0 }
  const batch = await encodeRecordBatch(records, as.codec ?? 'none', producer)
  batch.writeBigInt64BE(BigInt(as.baseOffset ?? 0), 0)
  if (as.leaderEpoch !== undefined) batch.writeInt32BE(as.leaderEpoch, 12)
  if (as.magic !== undefined) batch.writeInt8(as.magic, 16)
  if (as.attributes !== undefined) batch.writeInt16BE(batch.readInt16BE(21) | as.attributes, 21)
  if (as.maxTimestamp !== undefined) batch.writeBigInt64BE(BigInt(as.maxTimestamp), 35)
  as.patch?.(batch)
  batch.writeUInt32BE(crc32c(batch.subarray(21)), 17)
  return batch
}

/** `count` records with keys `k<n>` and values `v<n>`, n counting from `from`. */
function numbered(count: number, from = 0): WireRecord[] {
  return Array.from({ length: count }, (_, i) => ({ key: Buffer.from(`k${from + i}`), value: Buffer.from(`v${from + i}`), headers: NO_HEADERS, timestamp: now + from + i }))
}

/** The fields a test compares: bytes as strings, header values as strings. */
function view(record: FetchedRecord | WireRecord): unknown {
  return {
    timestamp: record.timestamp,
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
    // Names that change from one record to the next (the same length, a byte apart), and back.
    headers: i % 3 === 0 ? ([['seq', String(i)], [i % 2 === 0 ? 'tag-a' : 'tag-b', 'x']] as const) : NO_HEADERS,
    timestamp: now + i * 1000 - 500_000,
  })),
]

describe('decodeRecordBatches', () => {
  it.each<Codec>(['none', 'gzip', 'snappy', 'lz4', 'zstd'])('reads back what encodeRecordBatch writes (%s)', async (codec) => {
    const data = await batchOf(varied, { codec, baseOffset: 1000 })
    const decoded = await decodeRecordBatches(data, options)
    expect(decoded.records.map(view)).toEqual(varied.map(view))
    expect(decoded.records.map((r) => r.offset)).toEqual(varied.map((_, i) => 1000 + i))
    expect(decoded.nextOffset).toBe(1000 + varied.length)
    expect(decoded.truncatedBytes).toBe(0)

    const first = decoded.records[0]!
    // One shape for every record, in the order FetchedRecord declares.
    expect(Object.keys(first)).toEqual(['topic', 'partition', 'offset', 'leaderEpoch', 'timestamp', 'timestampType', 'key', 'value', 'headers'])
    expect(first).toMatchObject({ topic, partition, leaderEpoch: -1, timestampType: 'CreateTime' })
    expect(first.headers).toBe(NO_HEADERS)
    expect(decoded.records[2]!.headers.every(([, value]) => Buffer.isBuffer(value))).toBe(true)
    // Views, not copies: of the response itself when uncompressed, else of the one decompressed block.
    expect(first.key!.buffer).toBe(first.value!.buffer)
    if (codec === 'none') expect(first.key!.buffer).toBe(data.buffer)
  })

  it('reads batches one after another, and stops at a trailing batch cut short', async () => {
    const first = await batchOf(numbered(3), { baseOffset: 10 })
    const second = await batchOf(numbered(2, 3), { codec: 'lz4', baseOffset: 13 })
    const third = await batchOf(numbered(4, 5), { baseOffset: 15 })
    const whole = await decodeRecordBatches(Buffer.concat([first, second, third]), { ...options, fetchOffset: 10 })
    expect(whole.records.map((r) => [r.offset, r.value?.toString()])).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18].map((offset, i) => [offset, `v${i}`]))
    expect(whole).toMatchObject({ nextOffset: 19, truncatedBytes: 0 })

    const cut = await decodeRecordBatches(Buffer.concat([first, second, third.subarray(0, third.length - 1)]), { ...options, fetchOffset: 10 })
    expect(cut.records.map((r) => r.offset)).toEqual([10, 11, 12, 13, 14])
    expect(cut).toMatchObject({ nextOffset: 15, truncatedBytes: third.length - 1 })

    // Fewer bytes than the batch's length field.
    expect(await decodeRecordBatches(Buffer.concat([first, third.subarray(0, 7)]), { ...options, fetchOffset: 10 })).toMatchObject({ nextOffset: 13, truncatedBytes: 7 })
    // No whole batch: the fetch position stays.
    expect(await decodeRecordBatches(third.subarray(0, 30), { ...options, fetchOffset: 15 })).toEqual({ records: [], nextOffset: 15, truncatedBytes: 30 })
    expect(await decodeRecordBatches(Buffer.alloc(0), { ...options, fetchOffset: 15 })).toEqual({ records: [], nextOffset: 15, truncatedBytes: 0 })
  })

  it('skips the records before the fetch offset in a batch that starts earlier', async () => {
    const decoded = await decodeRecordBatches(await batchOf(numbered(10), { codec: 'gzip', baseOffset: 100 }), { ...options, fetchOffset: 105 })
    expect(decoded.records.map((r) => [r.offset, r.key?.toString()])).toEqual([105, 106, 107, 108, 109].map((offset, i) => [offset, `k${5 + i}`]))
    expect(decoded.nextOffset).toBe(110)
  })

  it('gives every record of a LogAppendTime batch the append time, and each record the leader epoch of its batch', async () => {
    const appended = now + 60_000
    const data = Buffer.concat([
      await batchOf(numbered(3), { attributes: LOG_APPEND_TIME, maxTimestamp: appended, leaderEpoch: 7 }),
      await batchOf(numbered(1, 3), { baseOffset: 3, leaderEpoch: 8 }),
    ])
    expect((await decodeRecordBatches(data, options)).records.map((r) => [r.offset, r.timestamp, r.timestampType, r.leaderEpoch])).toEqual([
      [0, appended, 'LogAppendTime', 7],
      [1, appended, 'LogAppendTime', 7],
      [2, appended, 'LogAppendTime', 7],
      [3, now + 3, 'CreateTime', 8],
    ])
  })

  it('reads a null header value as an empty Buffer', async () => {
    // The last byte is the header value's length, 0 (zigzag 0x00); 0x01 is -1: null.
    const data = await batchOf([{ key: null, value: null, headers: [['h', '']], timestamp: now }], { patch: (batch) => (batch[batch.length - 1] = 0x01) })
    const [record] = (await decodeRecordBatches(data, options)).records
    expect(record!.headers).toEqual([['h', Buffer.alloc(0)]])
  })

  it('throws CorruptRecordError naming topic, partition and base offset for a corrupted byte', async () => {
    const good = await batchOf(numbered(2))
    const bad = await batchOf(numbered(3, 2), { baseOffset: 2 })
    bad[bad.length - 3]! ^= 0xff
    const error = await decodeRecordBatches(Buffer.concat([good, bad]), options).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CorruptRecordError)
    expect(error).toMatchObject({ name: 'CorruptRecordError', topic, partition, offset: 2, retriable: false })
    expect((error as Error).message).toMatch(/offset 2 of orders-3: .*CRC-32C/)
  })

  it('refuses message formats older than v2', async () => {
    const decoding = decodeRecordBatches(await batchOf(numbered(1), { baseOffset: 40, magic: 1 }), options)
    await expect(decoding).rejects.toBeInstanceOf(CorruptRecordError)
    await expect(decoding).rejects.toThrow(/offset 40 of orders-3: .*magic 1.*older than v2/)
  })

  // Bytes 61 on: the first record's length, attributes, timestamp delta, offset delta, key and value
  // lengths (-1: null), header count, then the header's name length (61 to 68).
  it.each<[string, (batch: Buffer) => void, RegExp]>([
    ['whose length runs past its batch', (batch) => (batch[61] = 0x7e), /record 0 runs past/],
    ['whose fields run past its length', (batch) => (batch[66] = 0x02), /record 0's fields do not match its length/],
    ['with a negative header name length', (batch) => (batch[68] = 0x03), /negative name length/],
    ['that holds more than it counts', (batch) => batch.writeInt32BE(0, 57), /more bytes than its 0 records/],
  ])('throws CorruptRecordError for a batch %s', async (_, patch, message) => {
    const data = await batchOf([{ key: null, value: null, headers: [['h', 'v']], timestamp: now }], { baseOffset: 9, patch })
    const decoding = decodeRecordBatches(data, options)
    await expect(decoding).rejects.toBeInstanceOf(CorruptRecordError)
    await expect(decoding).rejects.toMatchObject({ offset: 9, message: expect.stringMatching(message) as unknown })
  })

  describe('transactions', () => {
    const values = (offset: number, ...names: string[]): WireRecord[] => names.map((name, i) => ({ key: null, value: Buffer.from(name), headers: NO_HEADERS, timestamp: now + offset + i }))
    /** A control record: its key is version 0 and the type (0 ABORT, 1 COMMIT), its value version 0 and the coordinator epoch. */
    const marker = (type: 0 | 1): WireRecord[] => [{ key: Buffer.from([0, 0, 0, type]), value: Buffer.from([0, 0, 0, 0, 0, 5]), headers: NO_HEADERS, timestamp: now }]
    const txn = { attributes: TRANSACTIONAL }
    const control = { attributes: TRANSACTIONAL | CONTROL }

    async function log(): Promise<Buffer[]> {
      return [
        await batchOf(values(0, 'committed-0', 'committed-1'), { ...txn, baseOffset: 0, producerId: 7n }),
        await batchOf(marker(1), { ...control, baseOffset: 2, producerId: 7n }),
        await batchOf(values(3, 'aborted-3'), { ...txn, baseOffset: 3, producerId: 8n }),
        await batchOf(values(4, 'aborted-4', 'aborted-5'), { ...txn, codec: 'zstd', baseOffset: 4, producerId: 7n }),
        // Of a producer in an aborted transaction but not transactional: only transactional batches are aborted (as in Java).
        await batchOf(values(6, 'plain-6'), { baseOffset: 6, producerId: 8n }),
        await batchOf(marker(0), { ...control, baseOffset: 7, producerId: 7n }),
        await batchOf(values(8, 'after-marker-8', 'after-marker-9'), { ...txn, codec: 'lz4', baseOffset: 8, producerId: 7n }),
        // Producer 8's abort marker is still to come: its transaction goes on.
        await batchOf(values(10, 'aborted-10'), { ...txn, baseOffset: 10, producerId: 8n }),
        await batchOf(marker(0), { ...control, baseOffset: 11, producerId: 8n }),
        await batchOf(values(12, 'after-marker-12'), { ...txn, baseOffset: 12, producerId: 8n }),
      ]
    }
    // Not in offset order: the reader sorts them.
    const abortedTransactions = [
      { producerId: 7n, firstOffset: 4 },
      { producerId: 8n, firstOffset: 3 },
    ]

    it('skips the batches of aborted transactions up to their abort markers under read_committed', async () => {
      const batches = await log()
      const decoded = await decodeRecordBatches(Buffer.concat(batches), { ...options, readCommitted: true, abortedTransactions })
      expect(decoded.records.map((r) => [r.offset, r.value?.toString()])).toEqual([
        [0, 'committed-0'],
        [1, 'committed-1'],
        [6, 'plain-6'],
        [8, 'after-marker-8'],
        [9, 'after-marker-9'],
        [12, 'after-marker-12'],
      ])
      expect(decoded.nextOffset).toBe(13)
      // The next position counts skipped batches too: here up to the last marker.
      expect(await decodeRecordBatches(Buffer.concat(batches.slice(0, -1)), { ...options, readCommitted: true, abortedTransactions })).toMatchObject({ nextOffset: 12 })
    })

    it('skips only control batches under read_uncommitted', async () => {
      const decoded = await decodeRecordBatches(Buffer.concat(await log()), { ...options, readCommitted: false, abortedTransactions })
      expect(decoded.records.map((r) => r.offset)).toEqual([0, 1, 3, 4, 5, 6, 8, 9, 10, 12])
      expect(decoded.nextOffset).toBe(13)
    })
  })
})
