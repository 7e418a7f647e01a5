export { compressionCodecs, gzipCodec, snappyCodec, lz4Codec, zstdCodec, type CompressionCodec, type CompressionCodecName } from './codecs.js'
