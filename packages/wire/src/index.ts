export { wireTransport, type WireTransportOptions } from './transport.js'
export type { SaslOptions } from './sasl.js'
export { encodeRecordBatch, type BatchProducer } from './recordBatch.js'
