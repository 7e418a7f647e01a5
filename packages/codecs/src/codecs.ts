import { promisify } from 'node:util'
import { gunzip, gzip } from 'node:zlib'
import snappy from 'snappy'
import lz4 from 'lz4-napi'
import zstd from '@mongodb-js/zstd'

/**
 * Kafka's four compression codecs, each compressing on libuv's thread pool rather than the main thread:
 * gzip from node:zlib; snappy, lz4 and zstd from packages that ship native binaries through npm (napi-rs
 * platform packages: no download at install, no compiler): `snappy`, `lz4-napi`, `@mongodb-js/zstd` 1.2.
 */
export interface CompressionCodec {
  compress(data: Buffer): Promise<Buffer>
  decompress(data: Buffer): Promise<Buffer>
}

// Java's client writes snappy in xerial framing (SnappyOutputStream): a 16-byte header, then blocks of
// [int32 length][raw snappy] holding at most 32 KiB of input each. The broker and librdkafka read it.
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00])
const XERIAL_HEADER = Buffer.concat([XERIAL_MAGIC, Buffer.from([0, 0, 0, 1, 0, 0, 0, 1])])
const XERIAL_BLOCK = 32 * 1024

/** Snappy in xerial framing, as Java's producer writes it; reads framed or raw snappy. */
export const snappyCodec: CompressionCodec = {
  async compress(data) {
    const blocks: Buffer[] = [XERIAL_HEADER]
    const compressed = await Promise.all(
      Array.from({ length: Math.max(1, Math.ceil(data.length / XERIAL_BLOCK)) }, (_, i) => snappy.compress(data.subarray(i * XERIAL_BLOCK, (i + 1) * XERIAL_BLOCK))),
    )
    for (const block of compressed) {
      const length = Buffer.allocUnsafe(4)
      length.writeInt32BE(block.length)
      blocks.push(length, block)
    }
    return Buffer.concat(blocks)
  },
  async decompress(data) {
    if (data.length < XERIAL_HEADER.length || !data.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC)) {
      return (await snappy.uncompress(data)) as Buffer
    }
    const blocks: Array<Promise<string | Buffer>> = []
    for (let offset = XERIAL_HEADER.length; offset + 4 <= data.length; ) {
      const length = data.readInt32BE(offset)
      blocks.push(snappy.uncompress(data.subarray(offset + 4, offset + 4 + length)))
      offset += 4 + length
    }
    return Buffer.concat((await Promise.all(blocks)) as Buffer[])
  },
}

/** LZ4 frame format (independent 64 KiB blocks, header checksum), what Kafka's KafkaLZ4BlockOutputStream writes. */
export const lz4Codec: CompressionCodec = {
  compress: (data) => lz4.compressFrame(data),
  decompress: (data) => lz4.decompressFrame(data),
}

/** Zstandard frames at level 3 (Java's default `compression.zstd.level`). */
export const zstdCodec: CompressionCodec = {
  compress: (data) => zstd.compress(data, 3),
  decompress: (data) => zstd.decompress(data),
}

/** gzip from node:zlib at its default level (Java's `compression.gzip.level` default is zlib's too). */
export const gzipCodec: CompressionCodec = {
  compress: promisify(gzip),
  decompress: promisify(gunzip),
}

/** Kafka's names of its codecs (the `compression.type` values other than `none`). */
export type CompressionCodecName = 'gzip' | 'snappy' | 'lz4' | 'zstd'

/** Each codec by its Kafka name, which is also the name topicflow's `compress` operator uses. */
export const compressionCodecs: Readonly<Record<CompressionCodecName, CompressionCodec>> = {
  gzip: gzipCodec,
  snappy: snappyCodec,
  lz4: lz4Codec,
  zstd: zstdCodec,
}
