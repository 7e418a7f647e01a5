import { BrokerUnavailableError, KafkaConnectionError, ProduceError, RecordTooLargeError, UnknownTopicError, type TopicflowError } from '@topicflow/core'

interface KafkajsErrorShape {
  name?: string
  message?: string
  type?: string
  retriable?: boolean
  cause?: unknown
  code?: string
}

const CONNECTION_ERRORS = new Set(['KafkaJSConnectionError', 'KafkaJSConnectionClosedError', 'KafkaJSRequestTimeoutError', 'KafkaJSBrokerNotFound', 'KafkaJSMetadataNotLoaded'])
// Errors that mean no produce request left: no leader known, or no connection could be made to it.
const NOT_SENT_ERRORS = new Set(['KafkaJSBrokerNotFound', 'KafkaJSMetadataNotLoaded'])
const NOT_SENT_TYPES = new Set(['LEADER_NOT_AVAILABLE'])
// Socket errors that only connecting raises (a reset may come with requests in flight: those are in doubt).
const CONNECT_FAILURES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH'])
const TOO_LARGE = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE'])

// kafkajs wraps the error that ended its own retries in these; the one inside is what classifies.
const WRAPPERS = new Set(['KafkaJSNumberOfRetriesExceeded', 'KafkaJSNonRetriableError'])

/** The broker's (or the socket's) own error inside kafkajs's retry wrappers. */
function innermost(error: unknown): KafkajsErrorShape {
  let current = error as KafkajsErrorShape
  while (current?.name !== undefined && WRAPPERS.has(current.name) && current.cause !== undefined) current = current.cause as KafkajsErrorShape
  return current ?? {}
}

/** Maps a kafkajs error to topicflow's typed errors, keeping kafkajs's `retriable` verdict. */
export function fromKafkajsError(error: unknown, context: { topic: string; partition?: number; sizeBytes?: number; brokers: string }): TopicflowError {
  const inner = innermost(error)
  const where = { topic: context.topic, partition: context.partition, cause: error }
  if (inner.type !== undefined && TOO_LARGE.has(inner.type)) return new RecordTooLargeError(context.sizeBytes ?? 0, undefined, where)
  if (inner.type === 'UNKNOWN_TOPIC_OR_PARTITION') return new UnknownTopicError(context.topic, { ...where, retriable: true })
  if (inner.name === 'KafkaJSSASLAuthenticationError') {
    // Wrong credentials do not get better by retrying; kafkajs's message names the user, never the password.
    return new KafkaConnectionError(`Authentication failed at ${context.brokers}: ${inner.message ?? inner.name}`, { ...where, retriable: false })
  }
  const notSent =
    (inner.name !== undefined && NOT_SENT_ERRORS.has(inner.name)) ||
    (inner.type !== undefined && NOT_SENT_TYPES.has(inner.type)) ||
    (inner.name === 'KafkaJSConnectionError' && ((inner.code !== undefined && CONNECT_FAILURES.has(inner.code)) || inner.message === 'Not connected'))
  if (notSent) return new BrokerUnavailableError(`${inner.message ?? inner.name} (brokers ${context.brokers}); not sent`, where)
  if (inner.name !== undefined && CONNECTION_ERRORS.has(inner.name)) {
    return new KafkaConnectionError(`${inner.message ?? inner.name} (brokers ${context.brokers})`, { ...where, retriable: true })
  }
  const partition = context.partition === undefined ? '' : `-${context.partition}`
  return new ProduceError(`Produce to ${context.topic}${partition} failed: ${inner.message ?? String(error)}`, inner.type ?? inner.name ?? 'UNKNOWN', {
    ...where,
    retriable: inner.retriable === true,
  })
}
