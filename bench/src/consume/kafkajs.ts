/**
 * Consumption contender "kafkajs": its consumer as a kafkajs user reads a topic fast, `eachBatch` counting
 * `batch.messages.length`, autoCommit on (kafkajs's defaults: offsets resolved per batch, committed every
 * 5 s and at disconnect), fromBeginning, until the whole topic is read.
 */
import kafkajs from 'kafkajs'
import { readJobFromEnv, ReadRecorder } from './job.js'

const job = readJobFromEnv()
const kafka = new kafkajs.Kafka({ brokers: job.brokers, clientId: 'bench-consume-kafkajs', logLevel: kafkajs.logLevel.NOTHING })
const consumer = kafka.consumer({ groupId: job.groupId })
await consumer.connect()
await consumer.subscribe({ topics: [job.topic], fromBeginning: true })
const recorder = new ReadRecorder(job.count)
let done: () => void = () => undefined
const all = new Promise<void>((resolve) => (done = resolve))
await consumer.run({
  autoCommit: true,
  eachBatch: async ({ batch }) => {
    if (recorder.seen(batch.messages.length)) done()
  },
})
await all
recorder.finish()
await consumer.disconnect()
