/**
 * The transport a topicflow contender runs over: BENCH_TRANSPORT names it, `wire` (topicflow's own, the
 * default) or `kafkajs`; and kafkajs's compression constants for the kafkajs contenders.
 */
import kafkajs from 'kafkajs'
import type { Codec, Transport } from '@topicflow/core'
import { kafkajsTransport } from '@topicflow/kafkajs'
import { wireTransport } from '@topicflow/wire'

export function benchTransport(brokers: readonly string[], clientId: string): Transport {
  return process.env.BENCH_TRANSPORT === 'kafkajs' ? kafkajsTransport({ brokers: [...brokers], clientId }) : wireTransport({ brokers, clientId })
}

/** kafkajs's compression type for each codec (snappy, lz4 and zstd need `registerCodecs()`). */
export const KAFKAJS_COMPRESSION: Readonly<Record<Codec, number>> = {
  none: kafkajs.CompressionTypes.None,
  gzip: kafkajs.CompressionTypes.GZIP,
  snappy: kafkajs.CompressionTypes.Snappy,
  lz4: kafkajs.CompressionTypes.LZ4,
  zstd: kafkajs.CompressionTypes.ZSTD,
}
