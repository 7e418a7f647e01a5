export { serialize, isLegalTopicName, type SerializeOptions, type SerializationErrorPolicy } from './operators/serialize.js'
export { key } from './operators/key.js'
export { partition, type PartitionOptions, type PartitionMetadata } from './operators/partition.js'
export { batch, type BatchOptions } from './operators/batch.js'
export { compress } from './operators/compress.js'
export { retry, DEFAULT_RETRY_POLICY, type RetryOptions } from './operators/retry.js'
export { toKafka } from './operators/toKafka.js'
export { KafkaSink, type CloseResult } from './sink/kafkaSink.js'
export type { ToKafkaOptions, SinkConfig, SinkInstrumentation } from './sink/options.js'
export type { SinkStats } from './sink/settle.js'
export type { PullSourceHandle } from './sink/budget.js'
export { drainOnSignal, signalExitCode, type DrainOnSignalOptions } from './drainOnSignal.js'
export { deadLetterQueue, DEAD_LETTER_HEADERS, type DeadLetterQueue, type DeadLetterQueueOptions, type DeadLetterStage } from './deadLetters.js'
export { fromAsyncIterable, fromReadable } from './sources.js'
export { createSender, type Sender } from './sender.js'
export { json, string, bytes, deserializerOf, type Serializer, type Deserializer, type Serde, type DeserializerInput } from './serializers.js'
export { murmur2, partitionForKey } from './murmur2.js'
export {
  murmur2Partitioner,
  roundRobinPartitioner,
  stickyPartitioner,
  type Partitioner,
  type NullKeyStrategy,
  type Murmur2PartitionerOptions,
} from './partitioners.js'
export { exponential, type Backoff } from './backoff.js'
export {
  TopicflowError,
  InvalidOptionError,
  SerializationError,
  RecordTooLargeError,
  BufferExhaustedError,
  KafkaConnectionError,
  BrokerUnavailableError,
  UnknownTopicError,
  ProduceError,
  DeliveryTimeoutError,
  DeliveryFailedError,
  ProducerClosedError,
  DeserializationError,
  CommitError,
  GroupError,
  type ErrorContext,
} from './errors.js'
export {
  CODECS,
  recordHeaders,
  lastHeader,
  NO_HEADERS,
  type Codec,
  type HeaderValue,
  type RecordHeader,
  type RecordHeaders,
  type HeadersObject,
  type HeadersInput,
  type OutgoingRecord,
  type RecordBatch,
  type RetryPolicy,
  type Delivered,
  type Failed,
  type DeadLettered,
  type DeliveryReport,
} from './records.js'
export type { AcksLevel, Transport, ProducerSession, ProducerSessionOptions, ProduceRequest, ProduceAck, WireRecord, PartitionCountOptions } from './transport.js'
export type {
  TopicPartition,
  FetchedRecord,
  OffsetToCommit,
  RebalanceListener,
  AutoOffsetReset,
  IsolationLevel,
  AssignorName,
  ConsumerSessionOptions,
  GroupGeneration,
  ConsumerSession,
  ConsumerTransport,
} from './consumerTransport.js'
export { KafkaConsumer, ConsumerState, type ConsumerStats } from './consumer/kafkaConsumer.js'
export type { KafkaConsumerOptions } from './consumer/options.js'
export type { ConsumedRecord } from './consumer/consumedRecord.js'
export { fromKafka, type FromKafkaOptions } from './consumer/fromKafka.js'
export { serializeFrom, many, ManyOutputs, type SerializeFromOptions } from './operators/serializeFrom.js'
export { commitOffsets } from './operators/commitOffsets.js'
export { toWritable, type ToWritableOptions, type KafkaWritable, type WritableCounts } from './toWritable.js'
