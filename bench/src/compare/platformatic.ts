/**
 * Contender "@platformatic/kafka" (2.x, which runs on Node >= 22.22 or >= 24.6; on Node 20 the bench
 * reports it as not run): the comparison's records in chunks (`chunkRecords`) per `send`, awaited one at
 * a time, acks=all, idempotent, its murmur2 partitioner in Java's compatibility mode. Its zstd is
 * node:zlib's.
 */
import { compatibilityPartitioner, ProduceAcks, Producer } from '@platformatic/kafka'
import { jobFromEnv, RunRecorder } from '../job.js'
import { benchRecords, chunkRecords, inChunks } from './records.js'

const job = jobFromEnv()
const chunkSize = Number(process.env.BENCH_CHUNK ?? chunkRecords(job.recordSize))
const producer = new Producer({
  clientId: 'bench-platformatic',
  bootstrapBrokers: job.brokers,
  acks: ProduceAcks.ALL,
  idempotent: true,
  partitioner: compatibilityPartitioner,
  ...(job.codec === 'none' ? {} : { compression: job.codec }),
})
const recorder = new RunRecorder()
await inChunks(benchRecords(job.count, job.recordSize), chunkSize, async (chunk) => {
  await producer.send({ messages: chunk.map((r) => ({ topic: job.topic, key: Buffer.from(r.key), value: r.value })) })
  const now = Date.now()
  for (const record of chunk) recorder.acked(record.madeAt, now)
})
recorder.finish()
await producer.close()
