/**
 * Contender "topicflow traced": the demo's pipeline with `@topicflow/otel` (a span per message, context in
 * headers, metrics). BENCH_OTEL=none: no SDK registered (the API's no-op tracer, as in an application that
 * has not set tracing up); BENCH_OTEL=sdk: the Node SDK with a batch span processor exporting nowhere (what
 * a traced application pays before its exporter).
 */
import { KafkaSink } from '@topicflow/core'
import { wireTransport } from '@topicflow/wire'
import { kafkaTracing } from '@topicflow/otel'
import { BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base'
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node'
import { pizzaPipeline, type PizzaOrder } from '@topicflow/example-pizza-orders/pipeline'
import { jobFromEnv, RunRecorder } from '../job.js'

/** Drops finished spans after the batch processor hands them over: the cost up to the exporter, not a backend's. */
class DiscardingExporter implements SpanExporter {
  exported = 0
  export(spans: ReadableSpan[], done: (result: { code: 0 }) => void): void {
    this.exported += spans.length
    done({ code: 0 })
  }
  async shutdown(): Promise<void> {}
}

const job = jobFromEnv()
const mode = process.env.BENCH_OTEL ?? 'none'
const exporter = new DiscardingExporter()
const provider = mode === 'sdk' ? new NodeTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter, { maxQueueSize: 65_536, maxExportBatchSize: 4096 })] }) : undefined
provider?.register()
const tracing = kafkaTracing<PizzaOrder>()
const transport = wireTransport({ brokers: job.brokers, clientId: 'bench-topicflow-traced' })
const sink = new KafkaSink<PizzaOrder>(transport, { acks: 'all', instrumentation: tracing.instrumentation })
const recorder = new RunRecorder()
let failed = 0
await new Promise<void>((resolve, reject) =>
  pizzaPipeline(sink, job.topic, job.count, job.codec, tracing.records()).subscribe({
    next(report) {
      if (report.status === 'failed') failed++
      else recorder.acked(report.source.placedAt)
    },
    error: reject,
    complete: resolve,
  }),
)
await provider?.forceFlush()
recorder.finish()
await transport.close()
await provider?.shutdown()
if (failed > 0) throw new Error(`${failed} records failed`)
if (mode === 'sdk' && exporter.exported < job.count) throw new Error(`only ${exporter.exported} spans reached the exporter for ${job.count} records`)
