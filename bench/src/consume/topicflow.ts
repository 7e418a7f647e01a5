/**
 * Consumption contender "topicflow": `fromKafka` over topicflow's wire transport, no sink (it reads as fast
 * as it can), no deserializer (values as the fetched bytes), no commits, counting records until the whole
 * topic is read; then the consumer closes (leaves the group).
 */
import { fromKafka, KafkaConsumer } from '@topicflow/core'
import { wireTransport } from '@topicflow/wire'
import { readJobFromEnv, ReadRecorder } from './job.js'

const job = readJobFromEnv()
const transport = wireTransport({ brokers: job.brokers, clientId: 'bench-consume-topicflow' })
const consumer = new KafkaConsumer(transport, { groupId: job.groupId, topics: [job.topic], autoOffsetReset: 'earliest' })
const recorder = new ReadRecorder(job.count)
let closing = false
await new Promise<void>((resolve, reject) =>
  fromKafka(consumer).subscribe({
    next() {
      if (recorder.seen(1) && !closing) {
        closing = true
        void consumer.close()
      }
    },
    error: reject,
    complete: resolve,
  }),
)
recorder.finish()
await consumer.close()
await transport.close()
