/**
 * The ETL section's seeding child: `BENCH_COUNT` orders (`orders.ts`) as JSON into BENCH_TOPIC, keyed by id,
 * through topicflow's producer (acks=all, uncompressed).
 */
import { batch, fromAsyncIterable, json, KafkaSink, key, partition, serialize, toKafka } from '@topicflow/core'
import { wireTransport } from '@topicflow/wire'
import { benchOrders, type BenchOrder } from './orders.js'

const topic = process.env.BENCH_TOPIC!
const count = Number(process.env.BENCH_COUNT)
const transport = wireTransport({ brokers: process.env.BENCH_BROKERS!.split(','), clientId: 'bench-etl-seed' })
const sink = new KafkaSink<BenchOrder>(transport, { acks: 'all' })
let delivered = 0
await new Promise<void>((resolve, reject) =>
  fromAsyncIterable(benchOrders(count), sink)
    .pipe(
      serialize(topic, json<BenchOrder>()),
      key((order) => order.id),
      partition(sink),
      batch({ lingerMs: 5, maxBytes: 256 * 1024 }),
      toKafka(sink),
    )
    .subscribe({
      next(report) {
        if (report.status !== 'delivered') return reject(new Error(`an order was not delivered: ${report.status}`))
        delivered++
      },
      error: reject,
      complete: resolve,
    }),
)
await transport.close()
console.log(JSON.stringify({ records: delivered }))
