/**
 * Consumption contender "@platformatic/kafka" (2.x, Node >= 22.22 or >= 24.6): its consumer stream
 * (`consumer.consume`, mode earliest, autocommit on, its defaults otherwise), counting `data` events until
 * the whole topic is read.
 */
import { Consumer, MessagesStreamModes } from '@platformatic/kafka'
import { readJobFromEnv, ReadRecorder } from './job.js'

const job = readJobFromEnv()
const consumer = new Consumer({ groupId: job.groupId, clientId: 'bench-consume-platformatic', bootstrapBrokers: job.brokers })
const recorder = new ReadRecorder(job.count)
const stream = await consumer.consume({ topics: [job.topic], mode: MessagesStreamModes.EARLIEST, autocommit: true })
await new Promise<void>((resolve, reject) => {
  stream.on('data', () => {
    if (recorder.seen(1)) resolve()
  })
  stream.on('error', reject)
})
recorder.finish()
await stream.close()
await consumer.close()
