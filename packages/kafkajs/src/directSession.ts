import kafkajs from 'kafkajs'
import type { IHeaders, Message, Producer, RecordMetadata } from 'kafkajs'
import type { Codec, HeaderValue, ProduceAck, ProduceRequest, ProducerSession, RecordHeaders } from '@topicflow/core'
import { fromKafkajsError } from './errors.js'

const { CompressionTypes } = kafkajs

const COMPRESSION: Record<Codec, number> = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
}

function toMessages(request: ProduceRequest): Message[] {
  return request.records.map((record) => ({
    key: record.key,
    value: record.value,
    headers: kafkajsHeaders(record.headers),
    partition: request.partition,
    timestamp: String(record.timestamp),
  }))
}

/**
 * A record's headers as kafkajs takes them: an object, written in `Object.keys` order with an array value's
 * entries in a row (kafkajs 2.2.4, protocol/recordBatch/record/v0). A plain object would list integer-like
 * names (`42`) first, so this one is a Proxy whose keys come in the order the names first appear; kafkajs's
 * encoder then writes every name where it first came. What it cannot write is a name repeated with others
 * between: that name's values go out together at its first place (`a, b, a` lands as `a, a, b`). That is
 * this transport's limit; the wire transport writes headers exactly as given.
 *
 * Keys set on the object later (`@opentelemetry/instrumentation-kafkajs` injects `traceparent` into it)
 * come after the record's own, in the order they are set. No headers: no object, and kafkajs (or that
 * instrumentation) makes its own.
 */
export function kafkajsHeaders(headers: RecordHeaders): IHeaders | undefined {
  if (headers.length === 0) return undefined
  const values: Record<string, HeaderValue[]> = Object.create(null) as Record<string, HeaderValue[]>
  const names: (string | symbol)[] = []
  for (const [name, value] of headers) {
    const known = values[name]
    if (known === undefined) {
      values[name] = [value]
      names.push(name)
    } else known.push(value)
  }
  return new Proxy(values, {
    ownKeys: () => names,
    defineProperty(target, name, descriptor) {
      if (!Object.hasOwn(target, name)) names.push(name)
      return Reflect.defineProperty(target, name, descriptor)
    },
    deleteProperty(target, name) {
      const at = names.indexOf(name)
      if (at >= 0) names.splice(at, 1)
      return Reflect.deleteProperty(target, name)
    },
  })
}

function toAck(metadata: RecordMetadata | undefined): ProduceAck {
  if (metadata === undefined) return { baseOffset: -1, logAppendTime: -1 }
  return { baseOffset: Number(metadata.baseOffset ?? -1), logAppendTime: Number(metadata.logAppendTime ?? -1) }
}

function sizeOf(request: ProduceRequest): number {
  return request.records.reduce((n, r) => n + (r.key?.length ?? 0) + (r.value?.length ?? 0), 0)
}

/**
 * One kafkajs `send` per topic-partition batch. Never several partitions in one call: a call that spans
 * brokers can fail on one and land on another, and re-sending the landed part would give it new sequence
 * numbers, which idempotence cannot recognise as duplicates (measured: 993 duplicates in 300,000 records
 * through two leader kills when batches were coalesced; none since).
 */
export class DirectSession implements ProducerSession {
  constructor(
    readonly producer: Producer,
    readonly brokers: string,
  ) {}

  async send(request: ProduceRequest): Promise<ProduceAck> {
    try {
      const result = await this.producer.send({
        topic: request.topic,
        messages: toMessages(request),
        acks: request.acks,
        timeout: request.timeoutMs,
        compression: COMPRESSION[request.codec],
      })
      return toAck(result.find((m) => m.partition === request.partition))
    } catch (error) {
      throw fromKafkajsError(error, { topic: request.topic, partition: request.partition, sizeBytes: sizeOf(request), brokers: this.brokers })
    }
  }

  close(): Promise<void> {
    return this.producer.disconnect()
  }
}
