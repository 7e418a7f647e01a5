import kafkajs from 'kafkajs'
import { compressionCodecs } from '@topicflow/codecs'

/** Registers topicflow's snappy, lz4 and zstd codecs with kafkajs (process-wide, as kafkajs's registry is). Safe to call again. */
export function registerCodecs(): void {
  const { CompressionCodecs, CompressionTypes } = kafkajs
  for (const [type, codec] of [
    [CompressionTypes.Snappy, compressionCodecs.snappy],
    [CompressionTypes.LZ4, compressionCodecs.lz4],
    [CompressionTypes.ZSTD, compressionCodecs.zstd],
  ] as const) {
    const adapted = { compress: ({ buffer }: { buffer: Buffer }) => codec.compress(buffer), decompress: (data: Buffer) => codec.decompress(data) }
    CompressionCodecs[type] = () => adapted
  }
}
