import { describe, expect, it } from 'vitest'
import { crc32c } from '@node-rs/crc32'
import { encodeRecordBatch } from './recordBatch.js'

/** CRC-32C bit by bit, the definition itself, to check the native one the record batches use. */
function reference(bytes: Uint8Array): number {
  let crc = -1
  for (const byte of bytes) {
    crc ^= byte
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1
  }
  return (crc ^ -1) >>> 0
}

describe('CRC-32C of record batches', () => {
  it('is Castagnoli: the published check values (RFC 3720 B.4)', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283)
    expect(crc32c(Buffer.alloc(32, 0))).toBe(0x8a9136aa)
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43)
    expect(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i)))).toBe(0x46dd794e)
  })

  it('covers a batch from its attributes (byte 21) to the end, over a subarray at any offset', async () => {
    const batch = await encodeRecordBatch(
      Array.from({ length: 50 }, (_, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.alloc(37 + i, i), headers: [], timestamp: 1_795_000_000_000 + i })),
      'none',
      undefined,
    )
    expect(batch.readUInt32BE(17)).toBe(reference(batch.subarray(21)))
    for (let length = 0; length <= 40; length++) expect(crc32c(batch.subarray(21, 21 + length))).toBe(reference(batch.subarray(21, 21 + length)))
  })
})
