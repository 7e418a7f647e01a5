/**
 * Contender "topicflow": the demo's own pipeline (pull source, operators, KafkaSink) over the transport
 * BENCH_TRANSPORT names: `wire` (topicflow's own, the default) or `kafkajs`.
 */
import { KafkaSink } from '@topicflow/core'
import { benchTransport } from '../transport.js'
import { pizzaPipeline, type PizzaOrder } from '@topicflow/example-pizza-orders/pipeline'
import { jobFromEnv, RunRecorder } from '../job.js'

const job = jobFromEnv()
const transport = benchTransport(job.brokers, 'bench-topicflow')
const sink = new KafkaSink<PizzaOrder>(transport, { acks: 'all' })
const recorder = new RunRecorder()
let failed = 0
await new Promise<void>((resolve, reject) =>
  pizzaPipeline(sink, job.topic, job.count, job.codec).subscribe({
    next(report) {
      if (report.status === 'failed') failed++
      else recorder.acked(report.source.placedAt)
    },
    error: reject,
    complete: resolve,
  }),
)
recorder.finish()
await transport.close()
if (failed > 0) throw new Error(`${failed} records failed`)
