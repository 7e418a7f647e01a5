/**
 * Contender "kafkajs sendBatch": what a careful user writes by hand with kafkajs. The same orders, keyed
 * by store, as JSON, kafkajs's Java-compatible partitioner, the same codec (the same codec packages,
 * registered with kafkajs), acks=all with idempotence, in chunks of BENCH_KAFKAJS_CHUNK records, one
 * `sendBatch` awaited at a time (kafkajs's idempotent producer allows one request in flight).
 */
import kafkajs from 'kafkajs'
import { registerCodecs } from '@topicflow/kafkajs'
import { pizzaOrders } from '@topicflow/example-pizza-orders/pipeline'
import { jobFromEnv, RunRecorder } from '../job.js'
import { KAFKAJS_COMPRESSION } from '../transport.js'


const job = jobFromEnv()
const chunkSize = Number(process.env.BENCH_KAFKAJS_CHUNK ?? 10_000)
registerCodecs()
const kafka = new kafkajs.Kafka({ brokers: job.brokers, clientId: 'bench-kafkajs', logLevel: kafkajs.logLevel.NOTHING })
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: kafkajs.Partitioners.DefaultPartitioner })
await producer.connect()
const recorder = new RunRecorder()

let messages: Array<{ key: string; value: string }> = []
let madeAt: number[] = []
const flush = async (): Promise<void> => {
  await producer.sendBatch({ topicMessages: [{ topic: job.topic, messages }], acks: -1, compression: KAFKAJS_COMPRESSION[job.codec] })
  const now = Date.now()
  for (const made of madeAt) recorder.acked(made, now)
  messages = []
  madeAt = []
}
for (const order of pizzaOrders(job.count)) {
  messages.push({ key: order.storeId, value: JSON.stringify(order) })
  madeAt.push(order.placedAt)
  if (messages.length === chunkSize) await flush()
}
if (messages.length > 0) await flush()
recorder.finish()
await producer.disconnect()
