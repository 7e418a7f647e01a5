import { Reader, Writer } from './protocol.js'

/**
 * The bodies of the requests this transport sends and the answers it reads, at the versions `API` names
 * (Kafka's message definitions: clients/src/main/resources/common/message/*.json).
 */

/** Metadata v7 request: the topics asked about; whether asking may create them (broker's auto.create.topics.enable). */
export function metadataRequest(topics: readonly string[], allowAutoTopicCreation: boolean): Buffer {
  return new Writer(64)
    .array(topics, (topic, w) => w.string(topic))
    .boolean(allowAutoTopicCreation)
    .toBuffer()
}

export interface BrokerAddress {
  readonly nodeId: number
  readonly host: string
  readonly port: number
}

export interface PartitionMetadata {
  readonly errorCode: number
  readonly partition: number
  readonly leader: number
}

export interface TopicMetadata {
  readonly errorCode: number
  readonly name: string
  readonly partitions: readonly PartitionMetadata[]
}

export interface MetadataResponse {
  readonly brokers: readonly BrokerAddress[]
  readonly topics: readonly TopicMetadata[]
}

export function readMetadata(body: Reader): MetadataResponse {
  body.int32() // throttle_time_ms
  const brokers = body.array((r) => {
    const nodeId = r.int32()
    const host = r.string() ?? ''
    const port = r.int32()
    r.string() // rack
    return { nodeId, host, port }
  })
  body.string() // cluster_id
  body.int32() // controller_id
  const topics = body.array((r) => {
    const errorCode = r.int16()
    const name = r.string() ?? ''
    r.boolean() // is_internal
    const partitions = r.array((p) => {
      const partitionError = p.int16()
      const partition = p.int32()
      const leader = p.int32()
      p.int32() // leader_epoch
      p.array((n) => n.int32()) // replica_nodes
      p.array((n) => n.int32()) // isr_nodes
      p.array((n) => n.int32()) // offline_replicas
      return { errorCode: partitionError, partition, leader }
    })
    return { errorCode, name, partitions }
  })
  return { brokers, topics }
}

/** InitProducerId v1 for an idempotent (not transactional) producer. */
export function initProducerIdRequest(): Buffer {
  return new Writer(16).string(null).int32(60_000).toBuffer()
}

export interface ProducerIdResponse {
  readonly errorCode: number
  readonly producerId: bigint
  readonly producerEpoch: number
}

export function readInitProducerId(body: Reader): ProducerIdResponse {
  body.int32() // throttle_time_ms
  const errorCode = body.int16()
  return { errorCode, producerId: body.int64Big(), producerEpoch: body.int16() }
}

/** One partition's encoded record batch within a produce request. */
export interface PartitionBatch {
  readonly topic: string
  readonly partition: number
  readonly batch: Buffer
}

/**
 * Produce v7 or v8 request body (the two are the same) as parts: the framing around each record batch is
 * written into small buffers and the batches themselves are passed through, so a request is never copied
 * into one big buffer.
 */
export function produceRequest(acks: number, timeoutMs: number, batches: readonly PartitionBatch[]): Buffer[] {
  const byTopic = new Map<string, PartitionBatch[]>()
  for (const entry of batches) {
    const list = byTopic.get(entry.topic)
    if (list === undefined) byTopic.set(entry.topic, [entry])
    else list.push(entry)
  }
  const parts: Buffer[] = []
  let framing = new Writer(64).string(null).int16(acks).int32(timeoutMs).int32(byTopic.size)
  for (const [topic, entries] of byTopic) {
    framing.string(topic).int32(entries.length)
    for (const entry of entries) {
      framing.int32(entry.partition).int32(entry.batch.length)
      parts.push(framing.toBuffer(), entry.batch)
      framing = new Writer(64)
    }
  }
  return parts
}

export interface PartitionProduceResponse {
  readonly topic: string
  readonly partition: number
  readonly errorCode: number
  readonly baseOffset: number
  readonly logAppendTime: number
  /** The broker's message, and the record errors it listed, when it gave any (v8 only: always null from v7). */
  readonly errorMessage: string | null
}

/** A Produce answer at `version`, 7 or 8 (v8 adds each partition's record_errors and error_message). */
export function readProduce(body: Reader, version: 7 | 8): PartitionProduceResponse[] {
  const results: PartitionProduceResponse[] = []
  body.array((r) => {
    const topic = r.string() ?? ''
    r.array((p) => {
      const partition = p.int32()
      const errorCode = p.int16()
      const baseOffset = p.int64()
      const logAppendTime = p.int64()
      p.int64() // log_start_offset
      const recordErrors = version < 8 ? [] : p.array((e) => `record ${e.int32()}: ${e.string() ?? 'invalid'}`)
      const message = version < 8 ? null : p.string()
      const details = [message, ...recordErrors].filter((m): m is string => m !== null && m !== '')
      results.push({ topic, partition, errorCode, baseOffset, logAppendTime, errorMessage: details.length === 0 ? null : details.join('; ') })
    })
  })
  return results
}
