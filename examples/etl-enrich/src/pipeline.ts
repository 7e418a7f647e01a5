import type { Observable } from 'rxjs'
import {
  batch,
  commitOffsets,
  compress,
  fromKafka,
  json,
  partition,
  serializeFrom,
  toKafka,
  type ConsumedRecord,
  type DeadLetterQueue,
  type DeliveryReport,
  type KafkaConsumer,
  type KafkaSink,
} from '@topicflow/core'

/** An order as it comes in: anything with an `id`; `store` and `items` are read when present. */
export interface Order {
  readonly id: string | number
  readonly store?: string
  readonly items?: ReadonlyArray<{ readonly qty?: number; readonly priceCents?: number }>
  readonly [field: string]: unknown
}

/** The order as it goes out: every input field unchanged, plus what the job adds. */
export interface EnrichedOrder extends Order {
  readonly totalCents: number
  readonly itemCount: number
  readonly region: string
  readonly enrichedBy: 'etl-enrich'
}

const REGIONS = ['north', 'south', 'east', 'west'] as const

/** The job's transform: totals and a region from the store, the input's fields (its `id` first) unchanged. */
export function enrich(order: Order): EnrichedOrder {
  if (order === null || typeof order !== 'object' || (typeof order.id !== 'string' && typeof order.id !== 'number')) {
    throw new TypeError('an order is a JSON object with an id')
  }
  let totalCents = 0
  let itemCount = 0
  for (const item of order.items ?? []) {
    itemCount += item.qty ?? 0
    totalCents += (item.qty ?? 0) * (item.priceCents ?? 0)
  }
  const store = order.store ?? ''
  let hash = 0
  for (let i = 0; i < store.length; i++) hash = (hash * 31 + store.charCodeAt(i)) | 0
  return { ...order, totalCents, itemCount, region: REGIONS[Math.abs(hash) % REGIONS.length]!, enrichedBy: 'etl-enrich' }
}

/**
 * The ETL job at least once: orders read by `consumer` (only while `sink` has room), enriched, written to
 * `outputTopic` with the input's key, and each input's offset committed once its output is acknowledged.
 * Records that are not JSON orders go to `deadLetters` with their topic, partition and offset in the
 * error headers, and are committed once the dead letter is acknowledged.
 */
export function enrichPipeline(
  consumer: KafkaConsumer,
  sink: KafkaSink<ConsumedRecord<Order>>,
  outputTopic: string,
  deadLetters: DeadLetterQueue<ConsumedRecord<Order>>,
): Observable<DeliveryReport<ConsumedRecord<Order>>> {
  return fromKafka(consumer, { value: json<Order>(), sink, onError: deadLetters.deserializationError }).pipe(
    serializeFrom(outputTopic, json<EnrichedOrder>(), (order) => enrich(order.value), { onError: deadLetters.serializationError }),
    partition(sink),
    batch({ lingerMs: 5, maxBytes: 256 * 1024 }),
    compress('lz4'),
    toKafka(sink),
    commitOffsets(consumer),
  )
}
