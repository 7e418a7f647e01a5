import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { TestScheduler } from 'rxjs/testing'
import { firstValueFrom, from, map, of, toArray } from 'rxjs'
import { propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { lastHeader, TopicflowError, type DeliveryReport, type OutgoingRecord, type RecordHeaders } from '@topicflow/core'
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics'
import { METRIC_TOPICFLOW_DEAD_LETTERS } from './semconv.js'
import { kafkaTracing } from './kafkaTracing.js'

const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected))
const record = (source: string, headers: RecordHeaders = [['app', 'x']]): OutgoingRecord<string> => ({ topic: 't', key: Buffer.from(`k-${source}`), value: Buffer.from(source), headers, timestamp: 0, source })
const names = (r: OutgoingRecord<unknown>): string => r.headers.map(([name]) => name).join(',')
const TRACEPARENT = /^00-\w{32}-\w{16}-01$/

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
      expectObservable(records.pipe(map((r) => `${r.source}:${String(lastHeader(r.headers, 'app'))}:${TRACEPARENT.test(String(lastHeader(r.headers, 'traceparent')))}`))).toBe('a-b|', {
        a: 'a:x:true',
        b: 'b:x:true',
      })
    })
  })

  it('keeps the other headers in their order, repeats and integer-like names included, and appends the propagated ones', () => {
    const tracing = kafkaTracing<string>({ tracerProvider })
    const given: RecordHeaders = [['seq', '1'], ['dup', 'x'], ['42', 'y'], ['dup', 'z']]
    let traced: OutgoingRecord<string> | undefined
    of(record('a', given)).pipe(tracing.records()).subscribe((r) => (traced = r))
    expect(traced!.headers.slice(0, 4)).toEqual(given)
    expect(names(traced!)).toBe('seq,dup,42,dup,traceparent')
    expect(given).toHaveLength(4) // the record's own list is not changed
  })

  it('replaces a traceparent the event came with: the old one goes, the new one comes last', () => {
    const tracing = kafkaTracing<string>({ tracerProvider })
    const stale = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
    let traced: OutgoingRecord<string> | undefined
    of(record('a', [['a', '1'], ['traceparent', stale], ['b', '2']])).pipe(tracing.records()).subscribe((r) => (traced = r))
    expect(names(traced!)).toBe('a,b,traceparent')
    expect(lastHeader(traced!.headers, 'traceparent')).toMatch(TRACEPARENT)
    expect(lastHeader(traced!.headers, 'traceparent')).not.toBe(stale)
  })

  it('carries the span to the sink on the headers list, through copies of the record, and encoders see only the pairs', () => {
    const tracing = kafkaTracing<string>({ tracerProvider })
    let traced: OutgoingRecord<string> | undefined
    of(record('a')).pipe(tracing.records()).subscribe((r) => (traced = r))
    const copied = { ...traced!, partition: 2 }
    expect([...copied.headers].every((header) => Array.isArray(header) && header.length === 2)).toBe(true)
    expect(Object.keys(copied.headers)).toEqual(['0', '1'])
    expect(exporter.getFinishedSpans()).toHaveLength(0)
    tracing.instrumentation.settled!(copied, { status: 'delivered', topic: 't', partition: 2, offset: 5, timestamp: 0, source: 'a' })
    const [span] = exporter.getFinishedSpans()
    expect(span?.attributes['messaging.kafka.offset']).toBe(5)
    expect(lastHeader(copied.headers, 'traceparent')).toContain(span!.spanContext().spanId)
  })

  it('passes the record on as it was when nothing is recorded or propagated', () => {
    propagation.disable()
    const untraced = record('a')
    let passed: OutgoingRecord<string> | undefined
    of(untraced).pipe(kafkaTracing<string>().records()).subscribe((r) => (passed = r))
    expect(passed).toBe(untraced)
  })

  it('uses parentContext(event) as the parent when given', () => {
    const parent = tracerProvider.getTracer('t').startSpan('parent')
    const tracing = kafkaTracing<string>({ tracerProvider, parentContext: () => trace.setSpan(ROOT_CONTEXT, parent) })
    let traceparent = ''
    of(record('a'))
      .pipe(tracing.records())
      .subscribe((r) => (traceparent = String(lastHeader(r.headers, 'traceparent'))))
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
