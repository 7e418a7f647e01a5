/**
 * The broker's error codes that a producer and a consumer meet, with Kafka's own names and whether Java's client
 * treats them as retriable (org.apache.kafka.common.protocol.Errors). A code not listed here is reported
 * by number and not retried.
 */
const ERRORS: Readonly<Record<number, readonly [name: string, retriable: boolean]>> = {
  [-1]: ['UNKNOWN_SERVER_ERROR', false],
  1: ['OFFSET_OUT_OF_RANGE', false],
  2: ['CORRUPT_MESSAGE', true],
  3: ['UNKNOWN_TOPIC_OR_PARTITION', true],
  5: ['LEADER_NOT_AVAILABLE', true],
  6: ['NOT_LEADER_OR_FOLLOWER', true],
  7: ['REQUEST_TIMED_OUT', true],
  8: ['BROKER_NOT_AVAILABLE', false],
  9: ['REPLICA_NOT_AVAILABLE', true],
  10: ['MESSAGE_TOO_LARGE', false],
  13: ['NETWORK_EXCEPTION', true],
  14: ['COORDINATOR_LOAD_IN_PROGRESS', true],
  15: ['COORDINATOR_NOT_AVAILABLE', true],
  16: ['NOT_COORDINATOR', true],
  17: ['INVALID_TOPIC_EXCEPTION', false],
  18: ['RECORD_LIST_TOO_LARGE', false],
  19: ['NOT_ENOUGH_REPLICAS', true],
  20: ['NOT_ENOUGH_REPLICAS_AFTER_APPEND', true],
  21: ['INVALID_REQUIRED_ACKS', false],
  22: ['ILLEGAL_GENERATION', false],
  23: ['INCONSISTENT_GROUP_PROTOCOL', false],
  24: ['INVALID_GROUP_ID', false],
  25: ['UNKNOWN_MEMBER_ID', false],
  26: ['INVALID_SESSION_TIMEOUT', false],
  27: ['REBALANCE_IN_PROGRESS', false],
  28: ['INVALID_COMMIT_OFFSET_SIZE', false],
  29: ['TOPIC_AUTHORIZATION_FAILED', false],
  30: ['GROUP_AUTHORIZATION_FAILED', false],
  31: ['CLUSTER_AUTHORIZATION_FAILED', false],
  32: ['INVALID_TIMESTAMP', false],
  33: ['UNSUPPORTED_SASL_MECHANISM', false],
  34: ['ILLEGAL_SASL_STATE', false],
  35: ['UNSUPPORTED_VERSION', false],
  41: ['NOT_CONTROLLER', true],
  42: ['INVALID_REQUEST', false],
  43: ['UNSUPPORTED_FOR_MESSAGE_FORMAT', false],
  44: ['POLICY_VIOLATION', false],
  45: ['OUT_OF_ORDER_SEQUENCE_NUMBER', false],
  46: ['DUPLICATE_SEQUENCE_NUMBER', false],
  47: ['INVALID_PRODUCER_EPOCH', false],
  51: ['CONCURRENT_TRANSACTIONS', true],
  56: ['KAFKA_STORAGE_ERROR', true],
  58: ['SASL_AUTHENTICATION_FAILED', false],
  59: ['UNKNOWN_PRODUCER_ID', false],
  74: ['FENCED_LEADER_EPOCH', true],
  75: ['UNKNOWN_LEADER_EPOCH', true],
  76: ['UNSUPPORTED_COMPRESSION_TYPE', false],
  79: ['MEMBER_ID_REQUIRED', false],
  81: ['GROUP_MAX_SIZE_REACHED', false],
  82: ['FENCED_INSTANCE_ID', false],
  87: ['INVALID_RECORD', false],
  88: ['UNSTABLE_OFFSET_COMMIT', true],
  89: ['THROTTLING_QUOTA_EXCEEDED', true],
  90: ['PRODUCER_FENCED', false],
}

export interface KafkaErrorCode {
  readonly code: number
  readonly name: string
  readonly retriable: boolean
}

export function kafkaErrorCode(code: number): KafkaErrorCode {
  const known = ERRORS[code]
  return known === undefined ? { code, name: `ERROR_CODE_${code}`, retriable: false } : { code, name: known[0], retriable: known[1] }
}

/** Errors after which the client's idea of who leads a partition is stale: metadata is asked again. */
export const STALE_METADATA = new Set([3, 5, 6, 13, 74, 75])

/** The broker's idempotence state for the producer id no longer matches ours: start a new producer id. */
export const PRODUCER_STATE_LOST = new Set([45, 47, 59])

export const DUPLICATE_SEQUENCE_NUMBER = 46
export const TOO_LARGE = new Set([10, 18])

/** Group errors (Java's `Errors`): the coordinator moved or is starting, so it is looked up again or waited for. */
export const COORDINATOR_MOVED = new Set([15, 16])
export const COORDINATOR_LOADING = 14
export const OFFSET_OUT_OF_RANGE = 1
export const ILLEGAL_GENERATION = 22
export const UNKNOWN_MEMBER_ID = 25
export const REBALANCE_IN_PROGRESS = 27
export const MEMBER_ID_REQUIRED = 79
export const FENCED_INSTANCE_ID = 82
