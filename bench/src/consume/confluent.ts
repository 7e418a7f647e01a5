/**
 * Consumption contender "@confluentinc/kafka-javascript" (librdkafka underneath) through its
 * KafkaJS-compatible consumer, built from source by `../compare/confluentBuild.ts` and loaded from
 * BENCH_CONFLUENT_DIR: `eachBatch` counting `batch.messages.length`, autoCommit on, fromBeginning (set on
 * the consumer, as its API has it), until the whole topic is read. Its `eachBatch` hands out at most
 * `js.consumer.max.batch.size` messages (default 32, which cost it a callback and a promise per 32
 * records): BENCH_CONFLUENT_MAX_BATCH sets it (the bench passes 1,000, its fastest of the values tried).
 */
import { createRequire } from 'node:module'
import { readJobFromEnv, ReadRecorder } from './job.js'

interface ConfluentConsumer {
  connect(): Promise<void>
  subscribe(subscription: { topics: string[] }): Promise<void>
  run(config: { eachBatch: (payload: { batch: { messages: unknown[] } }) => Promise<void> }): Promise<void>
  disconnect(): Promise<void>
}
interface ConfluentModule {
  KafkaJS: {
    Kafka: new (config: object) => { consumer(config: object): ConfluentConsumer }
  }
}

const job = readJobFromEnv()
const dir = process.env.BENCH_CONFLUENT_DIR
if (dir === undefined) throw new Error('BENCH_CONFLUENT_DIR must name the built @confluentinc/kafka-javascript package')
const { KafkaJS } = createRequire(import.meta.url)(dir) as ConfluentModule
const maxBatch = process.env.BENCH_CONFLUENT_MAX_BATCH

const kafka = new KafkaJS.Kafka({ kafkaJS: { brokers: job.brokers, clientId: 'bench-consume-confluent', logLevel: 0 } })
const consumer = kafka.consumer({
  kafkaJS: { groupId: job.groupId, fromBeginning: true, autoCommit: true },
  ...(maxBatch === undefined ? {} : { 'js.consumer.max.batch.size': Number(maxBatch) }),
})
await consumer.connect()
await consumer.subscribe({ topics: [job.topic] })
const recorder = new ReadRecorder(job.count)
let done: () => void = () => undefined
const all = new Promise<void>((resolve) => (done = resolve))
await consumer.run({
  eachBatch: async ({ batch }) => {
    if (recorder.seen(batch.messages.length)) done()
  },
})
await all
recorder.finish()
await consumer.disconnect()
