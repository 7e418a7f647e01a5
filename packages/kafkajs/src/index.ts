export { kafkajsTransport, type KafkajsTransportOptions } from './transport.js'
export { fromKafkajsError } from './errors.js'
export { registerCodecs, snappyCodec, lz4Codec, zstdCodec } from './codecs.js'
