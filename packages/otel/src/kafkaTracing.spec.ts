import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { TestScheduler } from 'rxjs/testing'
import { map, of } from 'rxjs'
import { propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import type { OutgoingRecord } from '@topicflow/core'
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
})
