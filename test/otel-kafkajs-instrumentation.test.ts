import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import { firstValueFrom, from, toArray } from 'rxjs'
import { context, propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { registerInstrumentations } from '@opentelemetry/instrumentation'
import { KafkaJsInstrumentation } from '@opentelemetry/instrumentation-kafkajs'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'

// @opentelemetry/instrumentation-kafkajs patches kafkajs when it is first required (require-in-the-middle),
// so this file registers it, requires kafkajs (patching its Kafka class in place), and only then imports
// what uses kafkajs; vitest runs each test file in a fresh worker.
const exporter = new InMemorySpanExporter()
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
propagation.setGlobalPropagator(new W3CTraceContextPropagator())
registerInstrumentations({ tracerProvider, instrumentations: [new KafkaJsInstrumentation()] })
createRequire(import.meta.url)('kafkajs')

const { batch, json, partition, serialize, toKafka } = await import('@topicflow/core')
const { kafkajsTransport } = await import('@topicflow/kafkajs')
const { kafkaTracing } = await import('@topicflow/otel')
const { brokers, createTopic, readTopic, uniqueTopic } = await import('./support.js')

async function produce(topic: string, suppressClientInstrumentation: boolean): Promise<void> {
  const transport = kafkajsTransport({ brokers: brokers().split(',') })
  const tracing = kafkaTracing<{ n: number }>({ tracerProvider, suppressClientInstrumentation })
  const parent = tracerProvider.getTracer('test').startSpan('emit')
  try {
    await context.with(trace.setSpan(ROOT_CONTEXT, parent), () =>
      firstValueFrom(
        from([{ n: 1 }, { n: 2 }, { n: 3 }]).pipe(
          serialize(topic, json()),
          tracing.records(),
          partition(transport),
          batch(),
          toKafka(transport, { instrumentation: tracing.instrumentation }),
          toArray(),
        ),
      ),
    )
  } finally {
    parent.end()
    await transport.close()
  }
}

const scopeOf = (topic: string, scope: string) => exporter.getFinishedSpans().filter((s) => s.name === `send ${topic}` && s.instrumentationScope.name === scope)

describe('@topicflow/otel beside @opentelemetry/instrumentation-kafkajs', () => {
  it('suppresses the kafkajs instrumentation by default: one span per message, ours, and our traceparent in the headers', async () => {
    const topic = uniqueTopic('otel-kafkajs-off')
    await createTopic(topic, 1)
    await produce(topic, true)
    const ours = scopeOf(topic, '@topicflow/otel').filter((s) => s.kind === 3 /* PRODUCER */)
    expect(ours).toHaveLength(3)
    expect(scopeOf(topic, '@opentelemetry/instrumentation-kafkajs')).toHaveLength(0)
    const parents = new Set((await readTopic(topic)).map((r) => r.headers.traceparent?.split('-')[2]))
    expect(parents).toEqual(new Set(ours.map((s) => s.spanContext().spanId)))
  })

  it('with the switch off, both instrument (the kafkajs instrumentation adds its own spans)', async () => {
    const topic = uniqueTopic('otel-kafkajs-on')
    await createTopic(topic, 1)
    await produce(topic, false)
    expect(scopeOf(topic, '@topicflow/otel').filter((s) => s.kind === 3)).toHaveLength(3)
    expect(scopeOf(topic, '@opentelemetry/instrumentation-kafkajs').length).toBeGreaterThan(0)
  })
})
