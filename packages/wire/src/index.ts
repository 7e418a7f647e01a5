export { wireTransport, type WireTransportOptions } from './transport.js'
export type { SaslOptions } from './sasl.js'
export { compressionCodecs, gzipCodec, snappyCodec, lz4Codec, zstdCodec, type CompressionCodec } from './codecs.js'
export { encodeRecordBatch, type BatchProducer } from './recordBatch.js'
