import { describe, expect, it } from 'vitest'
import kafkajs from 'kafkajs'
import { registerCodecs } from './codecs.js'

describe('registerCodecs', () => {
  it('gives kafkajs snappy, lz4 and zstd that round-trip through its codec shape', async () => {
    registerCodecs()
    const { CompressionCodecs, CompressionTypes } = kafkajs
    const input = Buffer.from('{"store":"store-07","pizza":"diavola"}\n'.repeat(100))
    for (const type of [CompressionTypes.Snappy, CompressionTypes.LZ4, CompressionTypes.ZSTD]) {
      const codec = CompressionCodecs[type]!()
      const compressed = await codec.compress({ buffer: input } as never)
      expect(compressed.length).toBeLessThan(input.length)
      expect(Buffer.compare(await codec.decompress(compressed), input)).toBe(0)
    }
  })
})
