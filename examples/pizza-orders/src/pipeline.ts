import { identity, type MonoTypeOperatorFunction, type Observable } from 'rxjs'
import {
  batch,
  compress,
  fromAsyncIterable,
  json,
  key,
  partition,
  retry,
  serialize,
  toKafka,
  type Codec,
  type DeliveryReport,
  type KafkaSink,
  type OutgoingRecord,
} from '@topicflow/core'
import { pizzaOrders, type PizzaOrder } from './orders.js'

/**
 * The demo's pipeline, shared with the benchmark so that both measure the same chain: `count` generated
 * orders, pulled only while `sink` has room, keyed by store, as JSON, batched per partition, compressed.
 * `traceRecords` (say `kafkaTracing().records()`) goes after `key`; by default records pass untouched.
 *
 * @example
 * const sink = new KafkaSink<PizzaOrder>(wireTransport({ brokers: ['127.0.0.1:9092'] }), { acks: 'all' })
 * pizzaPipeline(sink, 'pizza-orders', 1000).subscribe((report) => console.log(report.status))
 */
export function pizzaPipeline(
  sink: KafkaSink<PizzaOrder>,
  topic: string,
  count: number,
  codec: Codec = 'zstd',
  traceRecords: MonoTypeOperatorFunction<OutgoingRecord<PizzaOrder>> = identity,
): Observable<DeliveryReport<PizzaOrder>> {
  return fromAsyncIterable(pizzaOrders(count), sink).pipe(
    serialize(topic, json<PizzaOrder>()),
    key((order) => order.storeId),
    traceRecords,
    partition(sink),
    batch({ lingerMs: 5, maxBytes: 64 * 1024 }),
    compress(codec),
    retry({ deliveryTimeoutMs: 120_000 }),
    toKafka(sink),
  )
}

/** The bytes the pipeline sends for `count` orders (JSON values and keys), regenerated rather than kept in memory. */
export async function pizzaPayloadBytes(count: number): Promise<number> {
  let bytes = 0
  for (const order of pizzaOrders(count)) bytes += Buffer.byteLength(JSON.stringify(order)) + Buffer.byteLength(order.storeId)
  return bytes
}

export { pizzaOrders, type PizzaOrder }
