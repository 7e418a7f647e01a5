import { describe, expect, it } from 'vitest'
import { crc32c } from './crc32c.js'

describe('crc32c', () => {
  it('matches the published check values (RFC 3720 B.4 and the CRC catalogue)', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283)
    expect(crc32c(Buffer.alloc(32, 0))).toBe(0x8a9136aa)
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43)
    expect(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i)))).toBe(0x46dd794e)
    expect(crc32c(Buffer.alloc(0))).toBe(0)
  })

  it('gives the same answer for every split between the 8-byte loop and the tail, and for a sub-range', () => {
    const bytes = Buffer.from(Array.from({ length: 301 }, (_, i) => (i * 7919) & 0xff))
    const bytewise = (b: Uint8Array): number => {
      let crc = -1
      for (const byte of b) {
        crc ^= byte
        for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1
      }
      return (crc ^ -1) >>> 0
    }
    for (let length = 0; length <= 40; length++) expect(crc32c(bytes.subarray(0, length))).toBe(bytewise(bytes.subarray(0, length)))
    expect(crc32c(bytes, 13, 290)).toBe(bytewise(bytes.subarray(13, 290)))
  })
})
