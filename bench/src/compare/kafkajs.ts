/**
 * Contenders "kafkajs send" and "kafkajs sendBatch" (BENCH_KAFKAJS_MODE): the comparison's records written
 * by hand with kafkajs 2.2.4, acks=all, kafkajs's Java-compatible partitioner, the same codec packages.
 * `send`: one `send` per record, awaited in chunks of BENCH_KAFKAJS_CHUNK (kafkajs batches what is in
 * flight together; not idempotent, since kafkajs's idempotent producer allows one request in flight).
 * `sendBatch`: chunks of records (`chunkRecords`) in one `sendBatch` each, awaited one at a time, idempotent.
 */
import kafkajs from 'kafkajs'
import { registerCodecs } from '@topicflow/kafkajs'
import { jobFromEnv, RunRecorder } from '../job.js'
import { KAFKAJS_COMPRESSION } from '../transport.js'
import { benchRecords, chunkRecords, inChunks } from './records.js'


const job = jobFromEnv()
const mode = process.env.BENCH_KAFKAJS_MODE === 'send' ? 'send' : 'sendBatch'
const chunkSize = Number(process.env.BENCH_KAFKAJS_CHUNK ?? (mode === 'send' ? 1000 : chunkRecords(job.recordSize)))
registerCodecs()
const kafka = new kafkajs.Kafka({ brokers: job.brokers, clientId: `bench-kafkajs-${mode}`, logLevel: kafkajs.logLevel.NOTHING })
const producer = kafka.producer(
  mode === 'send'
    ? { createPartitioner: kafkajs.Partitioners.DefaultPartitioner }
    : { idempotent: true, maxInFlightRequests: 1, createPartitioner: kafkajs.Partitioners.DefaultPartitioner },
)
await producer.connect()
const recorder = new RunRecorder()
const compression = KAFKAJS_COMPRESSION[job.codec]

await inChunks(benchRecords(job.count, job.recordSize), chunkSize, async (chunk) => {
  if (mode === 'send') {
    await Promise.all(
      chunk.map((record) =>
        producer.send({ topic: job.topic, messages: [{ key: record.key, value: record.value }], acks: -1, compression }).then(() => recorder.acked(record.madeAt)),
      ),
    )
    return
  }
  await producer.sendBatch({ topicMessages: [{ topic: job.topic, messages: chunk.map((r) => ({ key: r.key, value: r.value })) }], acks: -1, compression })
  const now = Date.now()
  for (const record of chunk) recorder.acked(record.madeAt, now)
})
recorder.finish()
await producer.disconnect()
