import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { from, lastValueFrom, toArray } from 'rxjs'
import { context, propagation, SpanKind } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { batch, commitOffsets, fromKafka, json, KafkaConsumer, KafkaSink, key, partition, serialize, serializeFrom, toKafka, type ConsumedRecord } from '@topicflow/core'
import * as semconv from '@topicflow/otel'
import { kafkaTracing } from '@topicflow/otel'
import { wireTransport } from '@topicflow/wire'
import { brokers, createTopic, readTopic, uniqueTopic } from './support.js'

interface Order {
  id: number
  store: string
}

const ORDERS = 40
const exporter = new InMemorySpanExporter()
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
const contextManager = new AsyncLocalStorageContextManager()
const transport = wireTransport({ brokers: brokers().split(','), clientId: 'otel-etl-test' })

beforeAll(() => {
  // The process span reaches the outputs' send spans as the active context: a context manager is needed.
  context.setGlobalContextManager(contextManager.enable())
  propagation.setGlobalPropagator(new W3CTraceContextPropagator())
})
afterAll(async () => {
  context.disable()
  propagation.disable()
  await transport.close()
  await tracerProvider.shutdown()
})

const spans = (name: string, kind: SpanKind): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.name === name && s.kind === kind)
const at = (span: ReadableSpan): string => `${String(span.attributes[semconv.ATTR_MESSAGING_DESTINATION_PARTITION_ID])}:${String(span.attributes[semconv.ATTR_MESSAGING_KAFKA_OFFSET])}`

describe('@topicflow/otel on the read side, against a real broker (wire transport)', () => {
  it('continues each producer’s trace through an ETL job: send → process → send share one trace id, and the output’s traceparent carries it', async () => {
    const input = uniqueTopic('otel-etl-in')
    const output = uniqueTopic('otel-etl-out')
    const groupId = uniqueTopic('otel-etl-group')
    await createTopic(input, 3)
    await createTopic(output, 3)

    // The first producer: each order emitted in no context, so each starts a trace of its own.
    const producing = kafkaTracing<Order>({ tracerProvider })
    const produced = await lastValueFrom(
      from(Array.from({ length: ORDERS }, (_, id) => ({ id, store: `store-${id % 5}` }))).pipe(
        serialize(input, json<Order>()),
        key((o) => o.store),
        producing.records(),
        partition(transport),
        batch(),
        toKafka(transport, { instrumentation: producing.instrumentation }),
        toArray(),
      ),
    )
    expect(produced.every((r) => r.status === 'delivered')).toBe(true)

    // The ETL job. Its sink is shared with fromKafka, so the instrumentation goes to the sink itself.
    const tracing = kafkaTracing<ConsumedRecord<Order>>({ tracerProvider })
    const consumer = new KafkaConsumer(transport, { groupId, topics: [input], autoOffsetReset: 'earliest', commitIntervalMs: 200 })
    const sink = new KafkaSink<ConsumedRecord<Order>>(transport, { instrumentation: tracing.instrumentation })
    const reports = lastValueFrom(
      fromKafka(consumer, { value: json<Order>(), sink }).pipe(
        tracing.consumed({ consumerGroup: consumer.config.groupId }),
        serializeFrom(output, json(), (order) => ({ ...order.value, from: `${order.partition}:${order.offset}` })),
        tracing.records(),
        partition(sink),
        batch(),
        toKafka(sink),
        commitOffsets(consumer),
        toArray(),
      ),
    )
    while (consumer.stats.consumed < ORDERS) await new Promise((resolve) => setTimeout(resolve, 50))
    await sink.close()
    const etlReports = await reports
    expect(etlReports.filter((r) => r.status === 'delivered')).toHaveLength(ORDERS)
    expect(consumer.stats.committed).toBe(ORDERS)

    const firstSends = new Map(spans(`send ${input}`, SpanKind.PRODUCER).map((s) => [at(s), s]))
    const processes = new Map(spans(`process ${input}`, SpanKind.CONSUMER).map((s) => [at(s), s]))
    const etlSends = spans(`send ${output}`, SpanKind.PRODUCER)
    expect(firstSends.size).toBe(ORDERS)
    expect(processes.size).toBe(ORDERS)
    expect(etlSends).toHaveLength(ORDERS)
    expect(new Set([...firstSends.values()].map((s) => s.spanContext().traceId)).size).toBe(ORDERS)

    const written = await readTopic(output)
    expect(written).toHaveLength(ORDERS)
    for (const record of written) {
      const source = (JSON.parse(record.value!) as Order & { from: string }).from
      const first = firstSends.get(source)!
      const process = processes.get(source)!
      expect(first).toBeDefined()
      expect(process).toBeDefined()
      const traceId = first.spanContext().traceId
      expect(process.spanContext().traceId).toBe(traceId)
      expect(process.parentSpanContext?.spanId).toBe(first.spanContext().spanId)
      expect(process.attributes).toMatchObject({
        [semconv.ATTR_MESSAGING_SYSTEM]: 'kafka',
        [semconv.ATTR_MESSAGING_OPERATION_TYPE]: 'process',
        [semconv.ATTR_MESSAGING_DESTINATION_NAME]: input,
        [semconv.ATTR_MESSAGING_CONSUMER_GROUP_NAME]: groupId,
      })
      const children = etlSends.filter((s) => s.parentSpanContext?.spanId === process.spanContext().spanId)
      expect(children).toHaveLength(1)
      const etlSend = children[0]!
      expect(etlSend.spanContext().traceId).toBe(traceId)
      expect(`${record.partition}:${record.offset}`).toBe(at(etlSend))
      // What a consumer of the output topic sees: the ETL's send span, in the first producer's trace.
      expect(record.headers.traceparent).toBe(`00-${traceId}-${etlSend.spanContext().spanId}-01`)
    }
  })
})
