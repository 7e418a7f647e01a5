import { describe, expect, it } from 'vitest'
import { createRequire } from 'node:module'
import { NO_HEADERS, type WireRecord } from '@topicflow/core'
import { crc32c } from '@node-rs/crc32'
import { BATCH_HEADER_BYTES, encodeRecordBatch, varintSize, writeVarint } from './recordBatch.js'

// kafkajs's own record batch decoder: an implementation that shares nothing with ours reads what we write.
const require = createRequire(import.meta.url)
const Decoder = require('kafkajs/src/protocol/decoder') as new (buffer: Buffer) => unknown
const decodeRecordBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder') as (decoder: unknown) => Promise<{
  attributes?: number
  firstTimestamp: string
  maxTimestamp: string
  producerId: string
  producerEpoch: number
  firstSequence: number
  lastOffsetDelta: number
  records: Array<{ key: Buffer | null; value: Buffer | null; headers: Record<string, Buffer | Buffer[]>; timestamp: string; offset: string }>
}>

const now = 1_795_000_000_000
const records: WireRecord[] = [
  { key: Buffer.from('k1'), value: Buffer.from('{"a":1}'), headers: NO_HEADERS, timestamp: now },
  { key: null, value: Buffer.from('no key'), headers: [['x-trace', 'abc'], ['ünïcode', 'välue ✓']], timestamp: now + 5 },
  { key: Buffer.from('tombstone'), value: null, headers: [['repeated', 'one'], ['repeated', Buffer.from('two')]], timestamp: now - 3 },
  { key: Buffer.alloc(300, 1), value: Buffer.alloc(70_000, 2), headers: [['empty', '']], timestamp: now + 3_000_000_000 },
]

/** Each record's headers, read from an uncompressed batch in the order they were written (kafkajs's decoder makes an object of them). */
function headersInOrder(batch: Buffer): Array<Array<[string, string]>> {
  let at = BATCH_HEADER_BYTES
  const varint = (): number => {
    let zigzag = 0
    let scale = 1
    for (;;) {
      const byte = batch[at++]!
      zigzag += (byte & 0x7f) * scale
      scale *= 128
      if (byte < 0x80) break
    }
    return zigzag % 2 === 0 ? zigzag / 2 : -(zigzag + 1) / 2
  }
  const bytes = (): Buffer | null => {
    const length = varint()
    if (length < 0) return null
    at += length
    return batch.subarray(at - length, at)
  }
  const all: Array<Array<[string, string]>> = []
  for (let i = 0; i < batch.readInt32BE(57); i++) {
    varint() // length
    at++ // attributes
    varint() // timestamp delta
    varint() // offset delta
    bytes() // key
    bytes() // value
    const count = varint()
    const headers: Array<[string, string]> = []
    for (let h = 0; h < count; h++) headers.push([bytes()!.toString(), bytes()!.toString()])
    all.push(headers)
  }
  expect(at).toBe(batch.length)
  return all
}

describe('encodeRecordBatch', () => {
  it.each(['none', 'gzip'] as const)('writes a v2 batch that kafkajs decodes to the same records (%s)', async (codec) => {
    const batch = await encodeRecordBatch(records, codec, { producerId: 4242n, producerEpoch: 3, baseSequence: 17 })
    expect(batch.readInt32BE(8)).toBe(batch.length - 12)
    expect(batch.readInt8(16)).toBe(2)
    expect(batch.readUInt32BE(17)).toBe(crc32c(batch.subarray(21)))
    expect(batch.readInt16BE(21) & 0x7).toBe(codec === 'none' ? 0 : 1)
    const decoded = await decodeRecordBatch(new Decoder(batch))
    expect(decoded.producerId).toBe('4242')
    expect(decoded.producerEpoch).toBe(3)
    expect(decoded.firstSequence).toBe(17)
    expect(decoded.lastOffsetDelta).toBe(3)
    expect(decoded.firstTimestamp).toBe(String(now))
    expect(decoded.maxTimestamp).toBe(String(now + 3_000_000_000))
    expect(decoded.records.map((r) => r.offset)).toEqual(['0', '1', '2', '3'])
    expect(decoded.records.map((r) => r.timestamp)).toEqual(records.map((r) => String(r.timestamp)))
    expect(decoded.records.map((r) => r.key)).toEqual(records.map((r) => r.key))
    expect(decoded.records.map((r) => r.value)).toEqual(records.map((r) => r.value))
    expect(decoded.records[1]!.headers).toEqual({ 'x-trace': Buffer.from('abc'), 'ünïcode': Buffer.from('välue ✓') })
    expect(decoded.records[2]!.headers).toEqual({ repeated: [Buffer.from('one'), Buffer.from('two')] })
    expect(decoded.records[3]!.headers).toEqual({ empty: Buffer.alloc(0) })
  })

  it('writes headers in the order given, repeated and integer-like names where they stand', async () => {
    const headers: WireRecord['headers'] = [['seq', '1'], ['src', 'a'], ['dup', 'x'], ['42', Buffer.from('y')], ['mid', 'm'], ['dup', 'z'], ['7', 'ü']]
    const batch = await encodeRecordBatch([{ key: null, value: Buffer.from('v'), headers, timestamp: now }, records[0]!], 'none', undefined)
    expect(headersInOrder(batch)).toEqual([
      [['seq', '1'], ['src', 'a'], ['dup', 'x'], ['42', 'y'], ['mid', 'm'], ['dup', 'z'], ['7', 'ü']],
      [],
    ])
    expect(headersInOrder(await encodeRecordBatch(records, 'none', undefined))).toEqual([[], [['x-trace', 'abc'], ['ünïcode', 'välue ✓']], [['repeated', 'one'], ['repeated', 'two']], [['empty', '']]])
  })

  it('writes -1 for producer id, epoch and sequence without idempotence, and the records right after the header', async () => {
    const batch = await encodeRecordBatch(records.slice(0, 1), 'none', undefined)
    expect(batch.readBigInt64BE(43)).toBe(-1n)
    expect(batch.readInt16BE(51)).toBe(-1)
    expect(batch.readInt32BE(53)).toBe(-1)
    expect(batch.readInt32BE(57)).toBe(1)
    expect(batch.length).toBeGreaterThan(BATCH_HEADER_BYTES)
  })

  it('refuses an empty batch', async () => {
    await expect(encodeRecordBatch([], 'none', undefined)).rejects.toThrow(RangeError)
  })
})

describe('zigzag varints', () => {
  it.each([0, -1, 1, 63, -64, 64, -65, 8191, -8192, 8192, 2 ** 20, -(2 ** 31), 2 ** 31 - 1])('sizes and writes %d alike', (value) => {
    const target = Buffer.alloc(10)
    expect(writeVarint(target, 0, value)).toBe(varintSize(value))
  })

  it('zigzags as Kafka does: 0→0, -1→1, 1→2, -64→127 (one byte), 64→128 (two bytes)', () => {
    const bytes = (value: number): number[] => {
      const target = Buffer.alloc(10)
      return [...target.subarray(0, writeVarint(target, 0, value))]
    }
    expect(bytes(0)).toEqual([0])
    expect(bytes(-1)).toEqual([1])
    expect(bytes(1)).toEqual([2])
    expect(bytes(-64)).toEqual([127])
    expect(bytes(64)).toEqual([0x80, 0x01])
  })
})
