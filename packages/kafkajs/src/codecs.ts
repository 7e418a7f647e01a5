import kafkajs from 'kafkajs'
import snappy from 'snappy'
import lz4 from 'lz4-napi'
import zstd from '@mongodb-js/zstd'

/**
 * Kafka's snappy, lz4 and zstd codecs for kafkajs, from packages that ship native binaries through npm
 * (napi-rs platform packages: no download at install, no compiler) and compress on libuv's thread pool,
 * off the main thread: `snappy`, `lz4-napi` and `@mongodb-js/zstd` 1.2. gzip is kafkajs's own.
 */

/** kafkajs's codec shape: `encoder.buffer` in, compressed bytes out. */
export interface KafkajsCodec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>
  decompress(buffer: Buffer): Promise<Buffer>
}

// Java's client writes snappy in xerial framing (SnappyOutputStream): a 16-byte header, then blocks of
// [int32 length][raw snappy] holding at most 32 KiB of input each. The broker and librdkafka read it.
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00])
const XERIAL_HEADER = Buffer.concat([XERIAL_MAGIC, Buffer.from([0, 0, 0, 1, 0, 0, 0, 1])])
const XERIAL_BLOCK = 32 * 1024

/** Snappy in xerial framing, as Java's producer writes it; reads framed or raw snappy. */
export const snappyCodec: KafkajsCodec = {
  async compress({ buffer }) {
    const blocks: Buffer[] = [XERIAL_HEADER]
    const compressed = await Promise.all(
      Array.from({ length: Math.max(1, Math.ceil(buffer.length / XERIAL_BLOCK)) }, (_, i) => snappy.compress(buffer.subarray(i * XERIAL_BLOCK, (i + 1) * XERIAL_BLOCK))),
    )
    for (const block of compressed) {
      const length = Buffer.allocUnsafe(4)
      length.writeInt32BE(block.length)
      blocks.push(length, block)
    }
    return Buffer.concat(blocks)
  },
  async decompress(buffer) {
    if (buffer.length < XERIAL_HEADER.length || !buffer.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC)) {
      return (await snappy.uncompress(buffer)) as Buffer
    }
    const blocks: Array<Promise<string | Buffer>> = []
    for (let offset = XERIAL_HEADER.length; offset + 4 <= buffer.length; ) {
      const length = buffer.readInt32BE(offset)
      blocks.push(snappy.uncompress(buffer.subarray(offset + 4, offset + 4 + length)))
      offset += 4 + length
    }
    return Buffer.concat((await Promise.all(blocks)) as Buffer[])
  },
}

/** LZ4 frame format (independent 64 KiB blocks, header checksum), what Kafka's KafkaLZ4BlockOutputStream writes. */
export const lz4Codec: KafkajsCodec = {
  compress: ({ buffer }) => lz4.compressFrame(buffer),
  decompress: (buffer) => lz4.decompressFrame(buffer),
}

/** Zstandard frames at level 3 (Java's default `compression.zstd.level`). */
export const zstdCodec: KafkajsCodec = {
  compress: ({ buffer }) => zstd.compress(buffer, 3),
  decompress: (buffer) => zstd.decompress(buffer),
}

/** Registers snappy, lz4 and zstd with kafkajs (process-wide, as kafkajs's registry is). Safe to call again. */
export function registerCodecs(): void {
  const { CompressionCodecs, CompressionTypes } = kafkajs
  CompressionCodecs[CompressionTypes.Snappy] = () => snappyCodec
  CompressionCodecs[CompressionTypes.LZ4] = () => lz4Codec
  CompressionCodecs[CompressionTypes.ZSTD] = () => zstdCodec
}
