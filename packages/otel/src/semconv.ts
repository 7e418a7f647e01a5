/**
 * The OpenTelemetry semantic conventions topicflow records, for messaging (Kafka) and errors, as
 * constants (names from the messaging spans and metrics conventions, v1.27 and later), plus topicflow's
 * own metric names.
 */

export const ATTR_MESSAGING_SYSTEM = 'messaging.system'
export const MESSAGING_SYSTEM_VALUE_KAFKA = 'kafka'
export const ATTR_MESSAGING_DESTINATION_NAME = 'messaging.destination.name'
export const ATTR_MESSAGING_DESTINATION_PARTITION_ID = 'messaging.destination.partition.id'
export const ATTR_MESSAGING_OPERATION_TYPE = 'messaging.operation.type'
export const MESSAGING_OPERATION_TYPE_VALUE_SEND = 'send'
export const MESSAGING_OPERATION_TYPE_VALUE_PROCESS = 'process'
export const ATTR_MESSAGING_OPERATION_NAME = 'messaging.operation.name'
export const ATTR_MESSAGING_BATCH_MESSAGE_COUNT = 'messaging.batch.message_count'
export const ATTR_MESSAGING_CLIENT_ID = 'messaging.client.id'
export const ATTR_MESSAGING_CONSUMER_GROUP_NAME = 'messaging.consumer.group.name'
export const ATTR_MESSAGING_KAFKA_OFFSET = 'messaging.kafka.offset'
export const ATTR_MESSAGING_KAFKA_MESSAGE_KEY = 'messaging.kafka.message.key'
export const ATTR_MESSAGING_KAFKA_MESSAGE_TOMBSTONE = 'messaging.kafka.message.tombstone'
export const ATTR_ERROR_TYPE = 'error.type'

/** Messages the producer sent (counter, `{message}`): acknowledged, or failed with `error.type`. */
export const METRIC_MESSAGING_CLIENT_SENT_MESSAGES = 'messaging.client.sent.messages'
/** Duration of one produce request (histogram, seconds). */
export const METRIC_MESSAGING_CLIENT_OPERATION_DURATION = 'messaging.client.operation.duration'

/** topicflow's own: bytes held by the sink, waiting or in flight (up-down counter, By). */
export const METRIC_TOPICFLOW_BUFFERED_BYTES = 'topicflow.producer.buffered_bytes'
/** topicflow's own: records per produce request (histogram, `{message}`). */
export const METRIC_TOPICFLOW_BATCH_SIZE = 'topicflow.producer.batch.size'
/** topicflow's own: produce requests sent again after a retriable error (counter, `{request}`). */
export const METRIC_TOPICFLOW_RETRIES = 'topicflow.producer.retries'
/** topicflow's own: records written to a dead-letter topic (counter, `{message}`). */
export const METRIC_TOPICFLOW_DEAD_LETTERS = 'topicflow.producer.dead_letters'
