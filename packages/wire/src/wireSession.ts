import {
  BrokerUnavailableError,
  KafkaConnectionError,
  ProduceError,
  RecordTooLargeError,
  TopicflowError,
  UnknownTopicError,
  type ProduceAck,
  type ProduceRequest,
  type ProducerSession,
} from '@topicflow/core'
import { messageOf } from '@topicflow/core/internal'
import type { BatchBuffers } from './batchBuffers.js'
import type { BrokerConnection } from './connection.js'
import { DUPLICATE_SEQUENCE_NUMBER, PRODUCER_STATE_LOST, STALE_METADATA, TOO_LARGE, kafkaErrorCode } from './kafkaErrors.js'
import type { PartitionProduceResponse } from './messages.js'
import { ProduceQueue } from './produceQueue.js'
import { encodeRecordBatch, type BatchProducer } from './recordBatch.js'

/** What a session uses of a broker connection: what its produce queue sends through, and when it closes. */
export type SessionConnection = Pick<BrokerConnection, 'address' | 'request' | 'send' | 'produceApi' | 'onClose'>

/** What a session needs from its transport (the wire transport, or a fake in a spec). */
export interface SessionTransport {
  /** Largest produce request, in bytes (Java's `max.request.size`). */
  readonly maxRequestBytes: number
  /** The memory batches are encoded into, given back once written. */
  readonly batchBuffers: BatchBuffers
  /** The partition's leader, asking for metadata when it is not known. */
  leaderOf(topic: string, partition: number): Promise<SessionConnection>
  /** Forgets the topic's leaders, so that the next request asks for metadata again. */
  staleMetadata(topic: string): void
  /** A new producer id and epoch (InitProducerId), its sequence starting at `baseSequence`. */
  newProducerId(): Promise<BatchProducer>
}

/** Idempotence state of one partition: its producer id and the sequence its next new batch starts at. */
interface PartitionSequence {
  producer: BatchProducer
  /** A request whose outcome is unknown (connection lost, no answer): only it may reuse the sequence. */
  inDoubt: ProduceRequest | undefined
  /** The broker lost or fenced this producer's state for the partition: the next request takes a new producer id. */
  stateLost: boolean
}

const SEQUENCE_LIMIT = 2 ** 31

/**
 * A producer session. Idempotence follows KIP-98 per partition: a batch takes the partition's next
 * sequence number and keeps it through every retry of the same request; the sequence moves on only when
 * the broker acknowledges. When a request's fate is unknown and a different request comes next (the
 * first one given up), that partition starts over under a new producer id rather than guess.
 */
export class WireSession implements ProducerSession {
  readonly #sequences = new Map<string, PartitionSequence>()
  readonly #queues = new Map<SessionConnection, ProduceQueue>()
  #sharedProducer: Promise<BatchProducer> | undefined

  constructor(
    readonly transport: SessionTransport,
    readonly idempotent: boolean,
  ) {}

  async send(request: ProduceRequest): Promise<ProduceAck> {
    const { topic, partition } = request
    const where = { topic, partition }
    let sequence: PartitionSequence | undefined
    let connection: SessionConnection
    try {
      sequence = this.idempotent ? await this.#sequenceFor(request) : undefined
      connection = await this.transport.leaderOf(topic, partition)
    } catch (error) {
      // No producer id or leader to be had yet, or no broker reachable: no produce request was sent, so
      // the sink waits and spends no retry.
      if (error instanceof UnknownTopicError || (error instanceof TopicflowError && !error.retriable)) throw error
      this.transport.staleMetadata(topic)
      throw new BrokerUnavailableError(`Produce to ${topic}-${partition} not sent: ${messageOf(error)}`, { ...where, cause: error })
    }
    let encoded: Promise<Buffer> | undefined
    let answer: PartitionProduceResponse
    try {
      // Queued before it is encoded (compression runs on the thread pool), so that the request being
      // gathered for this broker waits for it instead of leaving without it.
      encoded = encodeRecordBatch(request.records, request.codec, sequence?.producer, this.transport.batchBuffers)
      answer = await this.#queueFor(connection).add({ topic, partition, batch: encoded }, request.acks, request.timeoutMs)
    } catch (error) {
      // An encoding that failed (a codec not registered, say) is the records' own error: nothing was sent.
      if (encoded !== undefined && !(await encoded.then(() => true, () => false))) throw error
      if (error instanceof BrokerUnavailableError) {
        // The connection closed before this request was written: not sent, so not in doubt either.
        this.transport.staleMetadata(topic)
        throw new BrokerUnavailableError(`Produce to ${topic}-${partition} not sent: ${error.message}`, { ...where, cause: error })
      }
      if (sequence !== undefined && error instanceof KafkaConnectionError) sequence.inDoubt = request
      if (error instanceof KafkaConnectionError) this.transport.staleMetadata(topic)
      if (error instanceof KafkaConnectionError) throw new KafkaConnectionError(`Produce to ${topic}-${partition}: ${error.message}`, { ...where, cause: error, retriable: error.retriable })
      if (error instanceof TopicflowError) throw error
      throw new KafkaConnectionError(`Produce to ${topic}-${partition} failed: ${messageOf(error)}`, { ...where, cause: error })
    }
    if (sequence !== undefined) sequence.inDoubt = undefined
    if (answer.errorCode === 0 || (answer.errorCode === DUPLICATE_SEQUENCE_NUMBER && sequence !== undefined)) {
      if (sequence !== undefined) {
        const next = sequence.producer.baseSequence + request.records.length
        sequence.producer = { ...sequence.producer, baseSequence: next >= SEQUENCE_LIMIT ? next - SEQUENCE_LIMIT : next }
      }
      return { baseOffset: answer.baseOffset, logAppendTime: answer.logAppendTime }
    }
    const code = kafkaErrorCode(answer.errorCode)
    if (STALE_METADATA.has(code.code)) this.transport.staleMetadata(topic)
    const detail = answer.errorMessage === null ? '' : ` (${answer.errorMessage})`
    if (TOO_LARGE.has(code.code)) throw new RecordTooLargeError((await encoded).length, undefined, where)
    if (code.code === 3) throw new UnknownTopicError(topic, { ...where, retriable: true })
    if (sequence !== undefined && PRODUCER_STATE_LOST.has(code.code)) {
      // The broker lost (or fenced) this producer's state for the partition: go on under a new producer id
      // (the session's own id, at sequence 0, would be refused the same way while the broker still knows it).
      sequence.stateLost = true
      throw new ProduceError(`Produce to ${topic}-${partition} failed: ${code.name}${detail}; retrying under a new producer id`, code.name, { ...where, retriable: true })
    }
    throw new ProduceError(`Produce to ${topic}-${partition} failed: ${code.name}${detail}`, code.name, { ...where, retriable: code.retriable })
  }

  async close(): Promise<void> {
    this.#queues.clear()
  }

  async #sequenceFor(request: ProduceRequest): Promise<PartitionSequence> {
    const id = `${request.topic}\u0000${request.partition}`
    const known = this.#sequences.get(id)
    if (known !== undefined && !known.stateLost && (known.inDoubt === undefined || known.inDoubt === request)) return known
    // A partition starts under the session's producer id; after a given-up request or a lost state, under a new one of its own.
    const producer = known === undefined ? await this.#sessionProducer() : await this.transport.newProducerId()
    const fresh: PartitionSequence = { producer, inDoubt: undefined, stateLost: false }
    this.#sequences.set(id, fresh)
    return fresh
  }

  #sessionProducer(): Promise<BatchProducer> {
    if (this.#sharedProducer === undefined) {
      const asking = this.transport.newProducerId()
      asking.catch(() => {
        if (this.#sharedProducer === asking) this.#sharedProducer = undefined
      })
      this.#sharedProducer = asking
    }
    return this.#sharedProducer
  }

  #queueFor(connection: SessionConnection): ProduceQueue {
    let queue = this.#queues.get(connection)
    if (queue === undefined) {
      queue = new ProduceQueue(connection, this.transport.maxRequestBytes, this.transport.batchBuffers)
      this.#queues.set(connection, queue)
      connection.onClose(() => this.#queues.delete(connection))
    }
    return queue
  }
}
