import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { firstValueFrom, Subject, toArray } from 'rxjs'
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics'
import { batch, json, key, partition, serialize, toKafka, type DeliveryReport } from '@topicflow/core'
import { kafkajsTransport } from '@topicflow/kafkajs'
import * as semconv from '@topicflow/otel'
import { kafkaTracing } from '@topicflow/otel'
import { brokers, createTopic, readTopic, uniqueTopic } from './support.js'

interface Click {
  user: string
  page: string
  padding?: string
}

const exporter = new InMemorySpanExporter()
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
const metricReader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 60_000 })
const meterProvider = new MeterProvider({ readers: [metricReader] })
const contextManager = new AsyncLocalStorageContextManager()
const w3c = new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] })

beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable())
  propagation.setGlobalPropagator(w3c)
})
afterAll(async () => {
  context.disable()
  propagation.disable()
  await tracerProvider.shutdown()
  await meterProvider.shutdown()
})

/** Sends `events` one by one, each emitted inside `emitContext(i)`, through a traced pipeline; resolves with the reports. */
async function sendTraced(topic: string, events: Click[], emitContext: (i: number) => ReturnType<typeof context.active>, maxRequestBytes?: number): Promise<DeliveryReport<Click>[]> {
  const transport = kafkajsTransport({ brokers: brokers().split(','), ...(maxRequestBytes === undefined ? {} : { maxRequestBytes }) })
  const tracing = kafkaTracing<Click>({ tracerProvider, meterProvider, recordMessageKey: true })
  const input = new Subject<Click>()
  const done = firstValueFrom(
    input.pipe(
      serialize(topic, json<Click>()),
      key((c) => c.user),
      tracing.records(),
      partition(transport),
      batch({ lingerMs: 20 }),
      toKafka(transport, { onError: 'report', instrumentation: tracing.instrumentation }),
      toArray(),
    ),
  )
  events.forEach((event, i) => context.with(emitContext(i), () => input.next(event)))
  input.complete()
  try {
    return await done
  } finally {
    await transport.close()
  }
}

const spansOf = (topic: string, kind: SpanKind): ReadableSpan[] =>
  exporter.getFinishedSpans().filter((s) => s.name === `send ${topic}` && s.kind === kind)

describe('@topicflow/otel against a real broker', () => {
  it('makes a span per message, child of the context the event was emitted in, ended at the ack with partition and offset', async () => {
    const topic = uniqueTopic('otel-clicks')
    await createTopic(topic, 3)
    const tracer = tracerProvider.getTracer('test')
    const parents = Array.from({ length: 3 }, (_, i) => tracer.startSpan(`user action ${i}`))
    const events = Array.from({ length: 30 }, (_, i) => ({ user: `u${i % 7}`, page: `/p/${i}` }))
    const reports = await sendTraced(topic, events, (i) => trace.setSpan(ROOT_CONTEXT, parents[i % 3]!))
    for (const parent of parents) parent.end()
    expect(reports.every((r) => r.status === 'delivered')).toBe(true)

    const messageSpans = spansOf(topic, SpanKind.PRODUCER)
    expect(messageSpans).toHaveLength(30)
    for (const report of reports) {
      if (report.status !== 'delivered') continue
      const i = events.indexOf(report.source)
      const span = messageSpans.find((s) => s.attributes[semconv.ATTR_MESSAGING_KAFKA_OFFSET] === report.offset && s.attributes[semconv.ATTR_MESSAGING_DESTINATION_PARTITION_ID] === String(report.partition))!
      expect(span).toBeDefined()
      expect(span.parentSpanContext?.spanId).toBe(parents[i % 3]!.spanContext().spanId)
      expect(span.spanContext().traceId).toBe(parents[i % 3]!.spanContext().traceId)
      expect(span.status.code).toBe(SpanStatusCode.UNSET)
      expect(span.attributes).toMatchObject({
        [semconv.ATTR_MESSAGING_SYSTEM]: 'kafka',
        [semconv.ATTR_MESSAGING_DESTINATION_NAME]: topic,
        [semconv.ATTR_MESSAGING_OPERATION_TYPE]: 'send',
        [semconv.ATTR_MESSAGING_KAFKA_MESSAGE_KEY]: report.source.user,
      })
    }
    // Each produce request has a CLIENT span linking to the message spans it carried, and the message spans
    // last at least as long as the batch they waited in (linger 20 ms).
    const batchSpans = spansOf(topic, SpanKind.CLIENT)
    expect(batchSpans.length).toBeGreaterThan(0)
    const linked = new Set(batchSpans.flatMap((s) => s.links.map((l) => l.context.spanId)))
    expect(messageSpans.every((s) => linked.has(s.spanContext().spanId))).toBe(true)
    expect(batchSpans.reduce((n, s) => n + Number(s.attributes[semconv.ATTR_MESSAGING_BATCH_MESSAGE_COUNT]), 0)).toBe(30)
    const durationMs = (s: ReadableSpan) => s.duration[0] * 1000 + s.duration[1] / 1e6
    expect(Math.min(...messageSpans.map(durationMs))).toBeGreaterThan(10)

    // Metrics through the API: 30 messages sent, requests timed, buffer back to zero.
    await metricReader.forceFlush()
    const exported = metricExporter.getMetrics().flatMap((m) => m.scopeMetrics.flatMap((s) => s.metrics))
    const sum = (name: string) =>
      exported
        .filter((m) => m.descriptor.name === name)
        .at(-1)
        ?.dataPoints.filter((p) => p.attributes[semconv.ATTR_MESSAGING_DESTINATION_NAME] === topic || name === semconv.METRIC_TOPICFLOW_BUFFERED_BYTES)
        .reduce((n, p) => n + (typeof p.value === 'number' ? p.value : (p.value as { count: number }).count), 0)
    expect(sum(semconv.METRIC_MESSAGING_CLIENT_SENT_MESSAGES)).toBe(30)
    expect(sum(semconv.METRIC_MESSAGING_CLIENT_OPERATION_DURATION)).toBe(batchSpans.length)
    expect(sum(semconv.METRIC_TOPICFLOW_BUFFERED_BYTES)).toBe(0)
  })

  it('marks a failed message’s span with error status and error.type', async () => {
    const topic = uniqueTopic('otel-fail')
    await createTopic(topic, 1)
    const events = [{ user: 'a', page: '/ok' }, { user: 'b', page: '/big', padding: 'x'.repeat(5000) }]
    const reports = await sendTraced(topic, events, () => ROOT_CONTEXT, 2048)
    expect(reports.map((r) => r.status).sort()).toEqual(['delivered', 'failed'])
    const spans = spansOf(topic, SpanKind.PRODUCER)
    const failed = spans.find((s) => s.status.code === SpanStatusCode.ERROR)!
    expect(failed.attributes[semconv.ATTR_ERROR_TYPE]).toBe('RecordTooLargeError')
    expect(failed.events.some((e) => e.name === 'exception')).toBe(true)
    expect(spans.filter((s) => s.status.code === SpanStatusCode.UNSET)).toHaveLength(1)
  })

  it('carries the context in the headers: a consumer extracts it and continues the trace', async () => {
    const topic = uniqueTopic('otel-headers')
    await createTopic(topic, 2)
    const root = tracerProvider.getTracer('test').startSpan('checkout')
    const withBaggage = propagation.setBaggage(trace.setSpan(ROOT_CONTEXT, root), propagation.createBaggage({ tenant: { value: 'acme' } }))
    await sendTraced(topic, [{ user: 'x', page: '/cart' }, { user: 'y', page: '/pay' }], () => withBaggage)
    root.end()
    const producerSpans = spansOf(topic, SpanKind.PRODUCER)
    const records = await readTopic(topic)
    expect(records).toHaveLength(2)
    for (const record of records) {
      expect(record.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
      // A consumer, as instrumented code would: extract, then start its span in that context.
      const extracted = propagation.extract(ROOT_CONTEXT, record.headers)
      expect(propagation.getBaggage(extracted)?.getEntry('tenant')?.value).toBe('acme')
      const consumerSpan = tracerProvider.getTracer('consumer').startSpan(`process ${topic}`, { kind: SpanKind.CONSUMER }, extracted)
      consumerSpan.end()
      const producer = producerSpans.find((s) => s.spanContext().spanId === trace.getSpanContext(extracted)?.spanId)!
      expect(producer).toBeDefined()
      expect(consumerSpan.spanContext().traceId).toBe(root.spanContext().traceId)
      const finished = exporter.getFinishedSpans().find((s) => s.spanContext().spanId === consumerSpan.spanContext().spanId)!
      expect(finished.parentSpanContext?.spanId).toBe(producer.spanContext().spanId)
    }
  })
})
