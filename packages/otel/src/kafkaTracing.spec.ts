import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { TestScheduler } from 'rxjs/testing'
import { firstValueFrom, from, map, of, toArray } from 'rxjs'
import { propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { TopicflowError, type DeliveryReport, type OutgoingRecord } from '@topicflow/core'
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics'
import { METRIC_TOPICFLOW_DEAD_LETTERS } from './semconv.js'
import { kafkaTracing } from './kafkaTracing.js'

const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected))
const record = (source: string): OutgoingRecord<string> => ({ topic: 't', key: Buffer.from(`k-${source}`), value: Buffer.from(source), headers: { app: 'x' }, timestamp: 0, source })

describe('kafkaTracing().records()', () => {
  const exporter = new InMemorySpanExporter()
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  beforeEach(() => propagation.setGlobalPropagator(new W3CTraceContextPropagator()))
  afterEach(() => {
    propagation.disable()
    exporter.reset()
  })

  it('passes records on in order with their headers plus a traceparent of a span of their own', () => {
    const tracing = kafkaTracing<string>({ tracerProvider })
    scheduler().run(({ cold, expectObservable }) => {
      const records = cold('a-b|', { a: record('a'), b: record('b') }).pipe(tracing.records())
      expectObservable(records.pipe(map((r) => `${r.source}:${String(r.headers.app)}:${/^00-\w{32}-\w{16}-01$/.test(String(r.headers.traceparent))}`))).toBe('a-b|', {
        a: 'a:x:true',
        b: 'b:x:true',
      })
    })
  })

  it('uses parentContext(event) as the parent when given', () => {
    const parent = tracerProvider.getTracer('t').startSpan('parent')
    const tracing = kafkaTracing<string>({ tracerProvider, parentContext: () => trace.setSpan(ROOT_CONTEXT, parent) })
    let traceparent = ''
    of(record('a'))
      .pipe(tracing.records())
      .subscribe((r) => (traceparent = String(r.headers.traceparent)))
    expect(traceparent.split('-')[1]).toBe(parent.spanContext().traceId)
  })

  it('passes errors on and stops on unsubscribe', () => {
    const tracing = kafkaTracing<string>({ tracerProvider })
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const failing = cold('a-#', { a: record('a') }, new Error('boom'))
      expectObservable(failing.pipe(tracing.records(), map((r) => r.source))).toBe('a-#', { a: 'a' }, new Error('boom'))
      const endless = cold('a-b-c-d', { a: record('a'), b: record('b'), c: record('c'), d: record('d') })
      expectObservable(endless.pipe(tracing.records(), map((r) => r.source)), '^--!').toBe('a-b', { a: 'a', b: 'b' })
      expectSubscriptions(endless.subscriptions).toBe('^--!')
    })
  })

  it('reports() counts dead-lettered records as topicflow.producer.dead_letters and passes every report on', async () => {
    const reader = new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 60_000 })
    const meterProvider = new MeterProvider({ readers: [reader] })
    const tracing = kafkaTracing<string>({ tracerProvider, meterProvider })
    const error = new TopicflowError('refused')
    const reports: DeliveryReport<string>[] = [
      { status: 'delivered', topic: 't', partition: 0, offset: 1, timestamp: 0, source: 'a' },
      { status: 'dead-lettered', topic: 't', partition: 1, error, source: 'b', deadLetter: { topic: 'dlq', partition: 0, offset: 0 } },
      { status: 'dead-lettered', topic: 't', partition: 1, error, source: 'c', deadLetter: { topic: 'dlq', partition: 0, offset: 1 } },
    ]
    const passed = await firstValueFrom(from(reports).pipe(tracing.reports(), toArray()))
    expect(passed).toEqual(reports)
    const { resourceMetrics } = await reader.collect()
    const metric = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === METRIC_TOPICFLOW_DEAD_LETTERS)
    expect(metric?.dataPoints.map((p) => [p.attributes['messaging.destination.partition.id'], p.value])).toEqual([['1', 2]])
    await meterProvider.shutdown()
  })
})
