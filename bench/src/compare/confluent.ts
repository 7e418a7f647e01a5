/**
 * Contender "@confluentinc/kafka-javascript" (librdkafka underneath) through its KafkaJS-compatible API,
 * built from source by `confluentBuild.ts` and loaded from BENCH_CONFLUENT_DIR: acks=all, idempotent,
 * linger 5 ms, 64 KiB batches, the codec, Java's murmur2 partitioner. As its documentation advises, sends
 * are not awaited one by one: chunks of 1,000 records, with up to 100 chunks outstanding.
 */
import { createRequire } from 'node:module'
import { jobFromEnv, RunRecorder } from '../job.js'
import { benchRecords, type BenchRecord } from './records.js'

interface ConfluentProducer {
  connect(): Promise<void>
  send(record: { topic: string; messages: Array<{ key: string; value: Buffer }> }): Promise<unknown>
  disconnect(): Promise<void>
}
interface ConfluentModule {
  KafkaJS: {
    Kafka: new (config: object) => { producer(config: object): ConfluentProducer }
  }
}

const job = jobFromEnv()
const dir = process.env.BENCH_CONFLUENT_DIR
if (dir === undefined) throw new Error('BENCH_CONFLUENT_DIR must name the built @confluentinc/kafka-javascript package')
const { KafkaJS } = createRequire(import.meta.url)(dir) as ConfluentModule
const CHUNK = 1000
const OUTSTANDING = 100

const kafka = new KafkaJS.Kafka({ kafkaJS: { brokers: job.brokers, clientId: 'bench-confluent', logLevel: 0 } })
const producer = kafka.producer({
  // Its CompressionTypes values are the codec names themselves ('none', 'lz4', …).
  kafkaJS: { acks: -1, idempotent: true, compression: job.codec },
  'linger.ms': 5,
  'batch.size': 65536,
  partitioner: 'murmur2_random',
})
await producer.connect()
const recorder = new RunRecorder()
const outstanding = new Set<Promise<unknown>>()
let chunk: BenchRecord[] = []
const flush = (): void => {
  const sent = chunk
  chunk = []
  const sending: Promise<unknown> = producer.send({ topic: job.topic, messages: sent.map((r) => ({ key: r.key, value: r.value })) }).then(() => {
    const now = Date.now()
    for (const record of sent) recorder.acked(record.madeAt, now)
    outstanding.delete(sending)
  })
  outstanding.add(sending)
}
for (const record of benchRecords(job.count, job.recordSize)) {
  chunk.push(record)
  if (chunk.length === CHUNK) {
    flush()
    if (outstanding.size >= OUTSTANDING) await Promise.race(outstanding)
  }
}
if (chunk.length > 0) flush()
await Promise.all(outstanding)
recorder.finish()
await producer.disconnect()
