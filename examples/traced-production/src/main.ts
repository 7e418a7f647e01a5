/**
 * `npm start` here: 1,000 page views (TRACED_EVENTS for another count), each emitted inside the span of the
 * request that caused it, produced through a traced pipeline with the OpenTelemetry Node SDK; then a
 * consumer reads a few back and continues their traces from the headers. Prints the trace tree of the first
 * three events. Uses KAFKA_BROKERS when set, the testkit's Kafka otherwise. The last stdout line is one JSON
 * object: topic, delivered, spans.
 */
import { context, propagation, ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api'
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node'
import kafkajs from 'kafkajs'
import { Subject } from 'rxjs'
import { batch, json, key, partition, serialize, toKafka } from '@topicflow/core'
import { wireTransport } from '@topicflow/wire'
import { kafkaTracing } from '@topicflow/otel'
import { startKafka } from '@topicflow/testkit'

interface PageView {
  user: string
  path: string
  at: number
}

const COUNT = Number(process.env.TRACED_EVENTS ?? 1000)
const SHOWN = 3

// The SDK: spans kept in memory to print them; register() installs the W3C propagators and the
// AsyncLocalStorage context manager globally.
const exporter = new InMemorySpanExporter()
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
provider.register()
const tracer = trace.getTracer('traced-production-example')

async function main(): Promise<void> {
  if (process.env.KAFKA_BROKERS === undefined) console.error('starting a local Kafka (set KAFKA_BROKERS to use yours)…')
  const cluster = await startKafka({ brokers: 1 })
  const brokers = cluster.bootstrapServers.split(',')
  const transport = wireTransport({ brokers, clientId: 'traced-production-example' })
  const kafka = new kafkajs.Kafka({ brokers, clientId: 'traced-production-admin', logLevel: kafkajs.logLevel.NOTHING })
  try {
    const topic = `page-views-${Date.now()}`
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] })
    await admin.disconnect()
    // Wait until the broker lists it (kafkajs's waitForLeaders gives up on a broker that has not applied it yet).
    await transport.partitionCount(topic, { timeoutMs: 60_000 })

    const tracing = kafkaTracing<PageView>({ clientId: 'traced-production-example' })
    const views = new Subject<PageView>()
    let delivered = 0
    const done = new Promise<void>((resolve, reject) =>
      views
        .pipe(
          serialize(topic, json<PageView>()),
          key((view) => view.user),
          tracing.records(),
          partition(transport),
          batch({ lingerMs: 5 }),
          toKafka(transport, { instrumentation: tracing.instrumentation }),
        )
        .subscribe({ next: (r) => (r.status === 'delivered' ? delivered++ : undefined), error: reject, complete: resolve }),
    )
    const requestSpans = []
    for (let i = 0; i < COUNT; i++) {
      // The web request that caused the view: its span is active when the event is emitted.
      const request = tracer.startSpan(`GET /page/${i}`, { kind: SpanKind.SERVER })
      context.with(trace.setSpan(ROOT_CONTEXT, request), () => views.next({ user: `user-${i % 50}`, path: `/page/${i}`, at: Date.now() }))
      request.end()
      if (i < SHOWN) requestSpans.push(request)
    }
    views.complete()
    await done

    // The other side: a consumer continues the trace of the first views from their headers.
    const consumer = kafka.consumer({ groupId: `${topic}-reader` })
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    const wanted = new Set(requestSpans.map((s) => s.spanContext().traceId))
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 30_000)
      void consumer.run({
        eachMessage: async ({ message, partition: p }) => {
          const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, v?.toString() ?? '']))
          const parent = propagation.extract(ROOT_CONTEXT, headers)
          const traceId = trace.getSpanContext(parent)?.traceId
          if (traceId === undefined || !wanted.has(traceId)) return
          tracer.startSpan(`process ${topic}`, { kind: SpanKind.CONSUMER, attributes: { 'messaging.destination.partition.id': String(p), 'messaging.kafka.offset': Number(message.offset) } }, parent).end()
          wanted.delete(traceId)
          if (wanted.size === 0) {
            clearTimeout(timer)
            resolve()
          }
        },
      })
    })
    await consumer.disconnect()

    const spans = exporter.getFinishedSpans()
    for (const request of requestSpans) printTree(request.spanContext().traceId, spans)
    console.log(JSON.stringify({ topic, delivered, spans: spans.length, tracesShown: requestSpans.length, brokers: cluster.bootstrapServers }))
    if (delivered !== COUNT) process.exitCode = 1
  } finally {
    await transport.close()
    await cluster.stop()
    await provider.shutdown()
  }
}

/** Prints one trace as a tree (children under parents), with each span's kind, duration and Kafka attributes; batch spans show as links. */
function printTree(traceId: string, spans: ReadableSpan[]): void {
  const inTrace = spans.filter((s) => s.spanContext().traceId === traceId)
  const ms = (s: ReadableSpan) => (s.duration[0] * 1e3 + s.duration[1] / 1e6).toFixed(1)
  const describe = (s: ReadableSpan) => {
    const a = s.attributes
    const partitionId = a['messaging.destination.partition.id']
    const offset = a['messaging.kafka.offset']
    const where = `${partitionId === undefined ? '' : ` partition ${partitionId}`}${offset === undefined ? '' : ` offset ${offset}`}`
    return `${s.name} [${SpanKind[s.kind]}] ${ms(s)} ms${where}`
  }
  const print = (span: ReadableSpan, depth: number): void => {
    console.log(`${'  '.repeat(depth)}${depth === 0 ? '' : '└ '}${describe(span)}`)
    for (const batchSpan of spans.filter((b) => b.links.some((l) => l.context.spanId === span.spanContext().spanId))) {
      console.log(`${'  '.repeat(depth + 1)}↔ linked from ${describe(batchSpan)}, ${batchSpan.attributes['messaging.batch.message_count']} messages`)
    }
    for (const child of inTrace.filter((c) => c.parentSpanContext?.spanId === span.spanContext().spanId)) print(child, depth + 1)
  }
  for (const root of inTrace.filter((s) => s.parentSpanContext === undefined)) print(root, 0)
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
