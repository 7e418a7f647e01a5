export { kafkajsTransport, type KafkajsTransportOptions } from './transport.js'
export { fromKafkajsError } from './errors.js'
export { registerCodecs } from './codecs.js'
export { createTopicsAndWait, type CreateTopicsAndWaitOptions } from './admin.js'
