import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { TestScheduler } from 'rxjs/testing'
import { map, of, take, tap, type OperatorFunction } from 'rxjs'
import { context, INVALID_SPAN_CONTEXT, propagation, ROOT_CONTEXT, SpanKind, trace, type Attributes, type Context, type Span, type Tracer, type TracerProvider } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { AlwaysOffSampler, BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { InvalidOptionError, lastHeader, NO_HEADERS, type ConsumedRecord, type OutgoingRecord, type RecordHeaders } from '@topicflow/core'
import { kafkaTracing } from './kafkaTracing.js'
import * as semconv from './semconv.js'

const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected))

/** A record as fromKafka emits it (the operator reads only the interface). */
function consumed(offset: number, headers: RecordHeaders = NO_HEADERS, options: { partition?: number; key?: Buffer | null; value?: Buffer | null } = {}): ConsumedRecord<string> {
  const { partition = 0, key = Buffer.from(`k${offset}`), value = Buffer.from(`v${offset}`) } = options
  const raw = { topic: 'in', partition, offset, leaderEpoch: 0, timestamp: 0, timestampType: 'CreateTime' as const, key, value, headers }
  return { ...raw, value: String(value), raw }
}

/** What serializeFrom does, in short: one output per consumed record, for topic `out`, whose source it is. */
const toOutput: OperatorFunction<ConsumedRecord<string>, OutgoingRecord<ConsumedRecord<string>>> = map((r) => ({ topic: 'out', key: r.raw.key, value: r.raw.value, headers: NO_HEADERS, timestamp: 0, source: r }))

/** The headers a traced producer writes for a record of `span`. */
function headersOf(span: Span): RecordHeaders {
  const carrier: Record<string, string> = {}
  propagation.inject(trace.setSpan(ROOT_CONTEXT, span), carrier)
  return Object.entries(carrier)
}

const contextManager = new AsyncLocalStorageContextManager()
beforeAll(() => context.setGlobalContextManager(contextManager.enable()))
afterAll(() => context.disable())

describe('kafkaTracing().consumed()', () => {
  const exporter = new InMemorySpanExporter()
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  const producer = tracerProvider.getTracer('producer')
  const processSpans = (): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.name === 'process in')
  beforeEach(() => propagation.setGlobalPropagator(new W3CTraceContextPropagator()))
  afterEach(() => {
    propagation.disable()
    exporter.reset()
  })

  it('starts a process span, child of the traceparent in the headers, active while the record is emitted: the outputs’ send spans are its children', () => {
    const tracing = kafkaTracing<ConsumedRecord<string>>({ tracerProvider })
    const upstream = producer.startSpan('send in', { kind: SpanKind.PRODUCER })
    const input = consumed(7, [['app', 'x'], ...headersOf(upstream)], { partition: 2 })
    let active: Span | undefined
    let endedDuringEmission = -1
    const outputs: OutgoingRecord<ConsumedRecord<string>>[] = []
    of(input)
      .pipe(
        tracing.consumed({ consumerGroup: 'enrich' }),
        tap(() => {
          active = trace.getActiveSpan()
          endedDuringEmission = processSpans().length
        }),
        toOutput,
        tracing.records(),
      )
      .subscribe((r) => outputs.push(r))

    const [span] = processSpans()
    expect(span).toBeDefined()
    expect(endedDuringEmission).toBe(0) // ended when the emission returned, not before
    expect(span!.kind).toBe(SpanKind.CONSUMER)
    expect(span!.spanContext().traceId).toBe(upstream.spanContext().traceId)
    expect(span!.parentSpanContext?.spanId).toBe(upstream.spanContext().spanId)
    expect(span!.parentSpanContext?.isRemote).toBe(true)
    expect(active?.spanContext().spanId).toBe(span!.spanContext().spanId)
    expect(span!.attributes).toEqual({
      [semconv.ATTR_MESSAGING_SYSTEM]: 'kafka',
      [semconv.ATTR_MESSAGING_DESTINATION_NAME]: 'in',
      [semconv.ATTR_MESSAGING_DESTINATION_PARTITION_ID]: '2',
      [semconv.ATTR_MESSAGING_OPERATION_TYPE]: 'process',
      [semconv.ATTR_MESSAGING_OPERATION_NAME]: 'process',
      [semconv.ATTR_MESSAGING_CONSUMER_GROUP_NAME]: 'enrich',
      [semconv.ATTR_MESSAGING_KAFKA_OFFSET]: 7,
    })

    // The record went on as it was (serializeFrom and commitOffsets track that very object).
    const [output] = outputs
    expect(output?.source).toBe(input)
    const traceparent = String(lastHeader(output!.headers, 'traceparent'))
    expect(traceparent.split('-')[1]).toBe(upstream.spanContext().traceId)
    tracing.instrumentation.settled!(output!, { status: 'delivered', topic: 'out', partition: 0, offset: 0, timestamp: 0, source: input })
    const send = exporter.getFinishedSpans().find((s) => s.name === 'send out')
    expect(send?.parentSpanContext?.spanId).toBe(span!.spanContext().spanId)
    expect(traceparent.split('-')[2]).toBe(send!.spanContext().spanId)
  })

  it('starts a root span for a record with no context in its headers, and its outputs descend from it', () => {
    const tracing = kafkaTracing<ConsumedRecord<string>>({ tracerProvider })
    const outputs: OutgoingRecord<ConsumedRecord<string>>[] = []
    of(consumed(0, [['app', 'x']]), consumed(1)).pipe(tracing.consumed(), toOutput, tracing.records()).subscribe((r) => outputs.push(r))
    const spans = processSpans()
    expect(spans).toHaveLength(2)
    expect(spans.map((s) => s.parentSpanContext)).toEqual([undefined, undefined])
    expect(spans[0]!.spanContext().traceId).not.toBe(spans[1]!.spanContext().traceId)
    expect(spans[0]!.attributes[semconv.ATTR_MESSAGING_CONSUMER_GROUP_NAME]).toBeUndefined()
    expect(outputs.map((r) => String(lastHeader(r.headers, 'traceparent')).split('-')[1])).toEqual(spans.map((s) => s.spanContext().traceId))
  })

  it('with creationContext "link": starts in the active context and links to the headers’ context', () => {
    const tracing = kafkaTracing<ConsumedRecord<string>>({ tracerProvider })
    const upstream = producer.startSpan('send in', { kind: SpanKind.PRODUCER })
    const job = producer.startSpan('job')
    context.with(trace.setSpan(ROOT_CONTEXT, job), () => of(consumed(0, headersOf(upstream)), consumed(1)).pipe(tracing.consumed({ creationContext: 'link' })).subscribe())
    const [linked, unlinked] = processSpans()
    expect(linked?.parentSpanContext?.spanId).toBe(job.spanContext().spanId)
    expect(linked?.spanContext().traceId).toBe(job.spanContext().traceId)
    expect(linked?.links.map((l) => l.context.spanId)).toEqual([upstream.spanContext().spanId])
    expect(unlinked?.links).toEqual([])
  })

  it('records the key with recordMessageKey, and marks tombstones', () => {
    const tracing = kafkaTracing<ConsumedRecord<string>>({ tracerProvider, recordMessageKey: true })
    of(consumed(0, NO_HEADERS, { key: Buffer.from('user-1') }), consumed(1, NO_HEADERS, { key: Buffer.from('user-2'), value: null }), consumed(2, NO_HEADERS, { key: null }))
      .pipe(tracing.consumed())
      .subscribe()
    expect(processSpans().map((s) => [s.attributes[semconv.ATTR_MESSAGING_KAFKA_MESSAGE_KEY], s.attributes[semconv.ATTR_MESSAGING_KAFKA_MESSAGE_TOMBSTONE]])).toEqual([
      ['user-1', undefined],
      ['user-2', true],
      [undefined, undefined],
    ])
  })

  it('computes no attributes for a span that is not recording: cached sets at start, nothing per record, keys not decoded', () => {
    const started: Attributes[] = []
    const span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT)
    const setAttribute = vi.spyOn(span, 'setAttribute')
    const setAttributes = vi.spyOn(span, 'setAttributes')
    const tracer = {
      startSpan: (_name: string, options: { attributes?: Attributes }) => {
        started.push(options.attributes!)
        return span
      },
    } as unknown as Tracer
    const nonRecording: TracerProvider = { getTracer: () => tracer }
    const tracing = kafkaTracing<ConsumedRecord<string>>({ tracerProvider: nonRecording, recordMessageKey: true })
    const records = [consumed(0), consumed(1), consumed(2, NO_HEADERS, { partition: 1 })]
    const decoded = records.map((r) => vi.spyOn(r.raw.key!, 'toString'))
    of(...records).pipe(tracing.consumed()).subscribe()
    expect(started).toHaveLength(3)
    expect(started[1]).toBe(started[0])
    expect(started[2]).not.toBe(started[0])
    expect(setAttribute).not.toHaveBeenCalled()
    expect(setAttributes).not.toHaveBeenCalled()
    for (const spy of decoded) expect(spy).not.toHaveBeenCalled()
  })

  it('with no SDK and no propagator: passes each record on as it was, in the context it came in, with none made', () => {
    propagation.disable()
    const outer = context.active()
    const input = consumed(0)
    const seen: [ConsumedRecord<string>, Context][] = []
    of(input)
      .pipe(kafkaTracing<ConsumedRecord<string>>().consumed())
      .subscribe((r) => seen.push([r, context.active()]))
    expect(seen).toHaveLength(1)
    expect(seen[0]![0]).toBe(input)
    expect(seen[0]![1]).toBe(outer)
  })

  it('with no SDK but a propagator: the outputs still carry the producer’s trace on', () => {
    const upstream = producer.startSpan('send in', { kind: SpanKind.PRODUCER })
    const tracing = kafkaTracing<ConsumedRecord<string>>()
    let traceparent = ''
    of(consumed(0, headersOf(upstream)))
      .pipe(tracing.consumed(), toOutput, tracing.records())
      .subscribe((r) => (traceparent = String(lastHeader(r.headers, 'traceparent'))))
    expect(traceparent).toBe(`00-${upstream.spanContext().traceId}-${upstream.spanContext().spanId}-01`)
  })

  it('passes a sampled-out process span’s decision on to the outputs', () => {
    const sampledOut = new BasicTracerProvider({ sampler: new AlwaysOffSampler(), spanProcessors: [new SimpleSpanProcessor(exporter)] })
    const upstream = producer.startSpan('send in', { kind: SpanKind.PRODUCER })
    const tracing = kafkaTracing<ConsumedRecord<string>>({ tracerProvider: sampledOut })
    let traceparent = ''
    let active: Span | undefined
    of(consumed(0, headersOf(upstream)))
      .pipe(
        tracing.consumed(),
        tap(() => (active = trace.getActiveSpan())),
        toOutput,
        tracing.records(),
      )
      .subscribe((r) => (traceparent = String(lastHeader(r.headers, 'traceparent'))))
    const processContext = active!.spanContext()
    expect(processContext.spanId).not.toBe(upstream.spanContext().spanId)
    expect(traceparent).toBe(`00-${upstream.spanContext().traceId}-${processContext.spanId}-00`)
    expect(exporter.getFinishedSpans()).toHaveLength(0)
  })

  it('passes errors and completion on, stops on unsubscribe, and ends the span of a record whose emission unsubscribed', () => {
    const tracing = kafkaTracing<ConsumedRecord<string>>({ tracerProvider })
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const failing = cold('a-#', { a: consumed(0) }, new Error('boom'))
      expectObservable(failing.pipe(tracing.consumed(), map((r) => r.offset))).toBe('a-#', { a: 0 }, new Error('boom'))
      const endless = cold('a-b-c-d', { a: consumed(1), b: consumed(2), c: consumed(3), d: consumed(4) })
      expectObservable(endless.pipe(tracing.consumed(), map((r) => r.offset)), '^--!').toBe('a-b', { a: 1, b: 2 })
      expectSubscriptions(endless.subscriptions).toBe('^--!')
    })
    expect(processSpans().map((s) => s.attributes[semconv.ATTR_MESSAGING_KAFKA_OFFSET])).toEqual([0, 1, 2])
    exporter.reset()
    const emitted: number[] = []
    of(consumed(5), consumed(6))
      .pipe(tracing.consumed(), take(1))
      .subscribe((r) => emitted.push(r.offset))
    expect(emitted).toEqual([5])
    expect(processSpans().map((s) => s.attributes[semconv.ATTR_MESSAGING_KAFKA_OFFSET])).toEqual([5])
  })

  it('refuses an unknown creationContext', () => {
    const tracing = kafkaTracing<ConsumedRecord<string>>({ tracerProvider })
    expect(() => tracing.consumed({ creationContext: 'links' as 'link' })).toThrow(InvalidOptionError)
  })
})
