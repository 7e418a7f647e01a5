/**
 * ETL contender "kafkajs": the same job as a kafkajs user writes it. `eachBatch` (offsets resolved by
 * hand): each batch's orders parsed, enriched with the example's `enrich`, written with one
 * `producer.sendBatch` per 2,000 to the output topic keyed as they came (kafkajs's Java-compatible
 * partitioner, acks=all, idempotent, uncompressed), each chunk's last offset resolved (`resolveOffset`)
 * once it is acknowledged, `heartbeat`, and `commitOffsetsIfNecessary` after the batch: at least once. Until `count` outputs are acknowledged; then
 * it disconnects (committing what is resolved).
 */
import kafkajs from 'kafkajs'
import { enrich, type Order } from '@topicflow/example-etl-enrich/pipeline'
import { readJobFromEnv, ReadRecorder } from '../consume/job.js'

const job = readJobFromEnv()
const output = job.outputTopic!
const kafka = new kafkajs.Kafka({ brokers: job.brokers, clientId: 'bench-etl-kafkajs', logLevel: process.env.BENCH_PROGRESS === undefined ? kafkajs.logLevel.NOTHING : kafkajs.logLevel.ERROR })
const consumer = kafka.consumer({ groupId: job.groupId })
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: kafkajs.Partitioners.DefaultPartitioner })
await Promise.all([consumer.connect(), producer.connect()])
await consumer.subscribe({ topics: [job.topic], fromBeginning: true })
/** Outputs per sendBatch: ~270 B each as JSON, well under 1 MiB. */
const CHUNK = 2000
const recorder = new ReadRecorder(job.count)
const progress = process.env.BENCH_PROGRESS === undefined ? undefined : setInterval(() => console.error(`kafkajs ETL: ${recorder.records} outputs`), 2000)
let done: () => void = () => undefined
const all = new Promise<void>((resolve) => (done = resolve))
await consumer.run({
  autoCommit: true,
  eachBatchAutoResolve: false,
  eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }) => {
    if (batch.messages.length === 0 || !isRunning() || isStale()) return
    recorder.start()
    // One sendBatch per consumer batch meets MESSAGE_TOO_LARGE once a partition's share passes the broker's
    // message.max.bytes (1 MiB: kafkajs puts it in one record batch), so in chunks, each resolved once sent.
    for (let from = 0; from < batch.messages.length; from += CHUNK) {
      const chunk = batch.messages.slice(from, from + CHUNK)
      const messages = chunk.map((message) => ({ key: message.key, value: JSON.stringify(enrich(JSON.parse(message.value!.toString()) as Order)) }))
      await producer.sendBatch({ topicMessages: [{ topic: output, messages }], acks: -1 })
      resolveOffset(chunk[chunk.length - 1]!.offset)
      await heartbeat()
      if (recorder.seen(messages.length)) done()
    }
    await commitOffsetsIfNecessary()
  },
})
await all
clearInterval(progress)
recorder.finish()
await consumer.disconnect()
await producer.disconnect()
