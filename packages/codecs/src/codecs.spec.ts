import { describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { gzipCodec, lz4Codec, snappyCodec, zstdCodec } from './codecs.js'

const inputs: Record<string, Buffer> = {
  empty: Buffer.alloc(0),
  small: Buffer.from('{"pizza":"margherita"}'),
  'repetitive 200 KiB': Buffer.from('{"store":"store-07","pizza":"diavola"}\n'.repeat(5000)),
  'incompressible 100 KiB': randomBytes(100 * 1024),
}

describe.each([
  ['snappy', snappyCodec],
  ['lz4', lz4Codec],
  ['zstd', zstdCodec],
  ['gzip', gzipCodec],
])('%s codec', (_name, codec) => {
  it.each(Object.entries(inputs))('round-trips %s', async (_label, input) => {
    const compressed = await codec.compress(input)
    expect(Buffer.compare(await codec.decompress(compressed), input)).toBe(0)
  })
})

describe('codec framing', () => {
  it('writes snappy in xerial framing with 32 KiB blocks, as Java does, and still reads raw snappy', async () => {
    const input = inputs['repetitive 200 KiB']!
    const framed = await snappyCodec.compress(input)
    expect(framed.subarray(0, 8)).toEqual(Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]))
    let blocks = 0
    for (let offset = 16; offset < framed.length; offset += 4 + framed.readInt32BE(offset)) blocks++
    expect(blocks).toBe(Math.ceil(input.length / (32 * 1024)))
    const { default: snappy } = await import('snappy')
    expect(Buffer.compare(await snappyCodec.decompress((await snappy.compress(input)) as Buffer), input)).toBe(0)
  })

  it('writes LZ4 frames (magic 0x184D2204, version 1, independent blocks)', async () => {
    const frame = await lz4Codec.compress(inputs.small!)
    expect(frame.readUInt32LE(0)).toBe(0x184d2204)
    const flags = frame[4]!
    expect(flags >> 6).toBe(1)
    expect((flags >> 5) & 1).toBe(1)
  })

  it('writes standard zstd frames (magic 0xFD2FB528)', async () => {
    expect((await zstdCodec.compress(inputs.small!)).readUInt32LE(0)).toBe(0xfd2fb528)
  })
})
