/**
 * ETL contender "topicflow": the example's job (`enrichPipeline`'s steps, uncompressed like its kafkajs
 * counterpart): `fromKafka` (JSON orders, only while the sink has room) → `serializeFrom` with the
 * example's `enrich` → `partition` → `batch` → `toKafka` → `commitOffsets`, at least once, acks=all
 * (idempotent), until `count` outputs are acknowledged; then the sink closes, which stops the source,
 * commits what was delivered and leaves the group.
 */
import { batch, commitOffsets, fromKafka, json, KafkaConsumer, KafkaSink, partition, serializeFrom, toKafka, type ConsumedRecord } from '@topicflow/core'
import { wireTransport } from '@topicflow/wire'
import { enrich, type EnrichedOrder, type Order } from '@topicflow/example-etl-enrich/pipeline'
import { readJobFromEnv, ReadRecorder } from '../consume/job.js'

const job = readJobFromEnv()
const output = job.outputTopic!
const transport = wireTransport({ brokers: job.brokers, clientId: 'bench-etl-topicflow' })
const consumer = new KafkaConsumer(transport, { groupId: job.groupId, topics: [job.topic], autoOffsetReset: 'earliest' })
const sink = new KafkaSink<ConsumedRecord<Order>>(transport, { acks: 'all' })
const recorder = new ReadRecorder(job.count)
let closing = false
await new Promise<void>((resolve, reject) =>
  fromKafka(consumer, { value: json<Order>(), sink })
    .pipe(
      serializeFrom(output, json<EnrichedOrder>(), (order) => {
        recorder.start()
        return enrich(order.value)
      }),
      partition(sink),
      batch({ lingerMs: 5, maxBytes: 256 * 1024 }),
      toKafka(sink),
      commitOffsets(consumer),
    )
    .subscribe({
      next(report) {
        if (report.status !== 'delivered') return reject(new Error(`an output was not delivered: ${report.status}`))
        if (recorder.seen(1) && !closing) {
          closing = true
          void sink.close()
        }
      },
      error: reject,
      complete: resolve,
    }),
)
recorder.finish()
await consumer.close()
await transport.close()
console.error(`topicflow ETL: ${JSON.stringify(consumer.stats)}`)
