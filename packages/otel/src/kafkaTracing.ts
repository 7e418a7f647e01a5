import {
  context as contextApi,
  createContextKey,
  metrics,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type MeterProvider,
  type Span,
  type TextMapSetter,
  type TracerProvider,
} from '@opentelemetry/api'
import { Observable, tap, type MonoTypeOperatorFunction, type OperatorFunction } from 'rxjs'
import type { ConsumedRecord, DeliveryReport, OutgoingRecord, ProduceAck, RecordBatch, RecordHeader, RecordHeaders, SinkInstrumentation } from '@topicflow/core'
import { cached } from './cached.js'
import { consumedTracing, type ConsumedTracingOptions } from './consumedTracing.js'
import * as semconv from './semconv.js'

/** Options of `kafkaTracing`. */
export interface KafkaTracingOptions<T> {
  /** Where spans go. Default: the global tracer provider (no SDK registered: no-op spans, almost no cost). */
  readonly tracerProvider?: TracerProvider
  /** Where metrics go. Default: the global meter provider. */
  readonly meterProvider?: MeterProvider
  /** The parent of an event's span: a context extracted from the event, say. Default: the context active when the event is emitted. */
  readonly parentContext?: (event: T) => Context | undefined
  /** Record the message key (`messaging.kafka.message.key`, UTF-8), on send and process spans. Keys may identify people: off by default. */
  readonly recordMessageKey?: boolean
  /**
   * Run produce requests with tracing suppressed for the client underneath, so that
   * `@opentelemetry/instrumentation-kafkajs` makes no second span per message and does not replace the
   * `traceparent` header. Default true; false lets both instrument.
   */
  readonly suppressClientInstrumentation?: boolean
  /** `messaging.client.id` on spans and metrics. */
  readonly clientId?: string
}

/** What `kafkaTracing` gives: an operator for records, the sink's instrumentation, and an operator for the read side. */
export interface KafkaTracing<T> {
  /** Starts each record's `send <topic>` PRODUCER span and injects its context into the record's headers. Put it after `serialize` and `key`. */
  readonly records: () => OperatorFunction<OutgoingRecord<T>, OutgoingRecord<T>>
  /** Give it to the sink (`toKafka(transport, { instrumentation })`): ends each record's span at its acknowledgement, makes batch spans and metrics. */
  readonly instrumentation: SinkInstrumentation
  /** After `deadLetterQueue(…).reports()`: counts dead-lettered records (`topicflow.producer.dead_letters`); reports pass unchanged. */
  readonly reports: () => MonoTypeOperatorFunction<DeliveryReport<T>>
  /**
   * The read side: placed right after `fromKafka`, it starts a `process <topic>` CONSUMER span per record,
   * child of the context its headers carry (the producer's `traceparent`; a root span when they carry none),
   * and makes it the active context while the record is emitted, so that the `send` spans `records()` starts
   * for its outputs are its children. The span ends when the emission returns: the steps between `fromKafka`
   * and `serializeFrom` run synchronously, so it covers the record's processing, not its outputs' delivery.
   * Records pass unchanged (the same objects). Needs a context manager (the Node SDK registers one).
   *
   * @example
   * const tracing = kafkaTracing<ConsumedRecord<Order>>()
   * const sink = new KafkaSink<ConsumedRecord<Order>>(transport, { instrumentation: tracing.instrumentation })
   * fromKafka(consumer, { value: json<Order>(), sink })
   *   .pipe(tracing.consumed({ consumerGroup: consumer.config.groupId }), serializeFrom('orders-enriched', json(), (o) => o.value),
   *     tracing.records(), partition(sink), batch(), toKafka(sink), commitOffsets(consumer))
   */
  readonly consumed: <V, K = Buffer | null>(options?: ConsumedTracingOptions) => MonoTypeOperatorFunction<ConsumedRecord<V, K>>
}

// The key @opentelemetry/core's suppressTracing() sets (createContextKey is Symbol.for of the description),
// written here so that the package needs the API only, no SDK.
const SUPPRESS_TRACING_KEY = createContextKey('OpenTelemetry SDK Context Key SUPPRESS_TRACING')
const TRACER_NAME = '@topicflow/otel'

/**
 * OpenTelemetry for a topicflow pipeline: a `send <topic>` PRODUCER span per message, started when the
 * record is made (its parent: the context active when the event was emitted, or `parentContext(event)`),
 * injected into the record's headers through the global propagator (W3C `traceparent`, `tracestate`,
 * baggage), and ended when the broker acknowledges the record or it fails, so its duration includes the
 * time in the batch and retries. Each produce request gets a `send <topic>` CLIENT span that links to its
 * messages' spans. Metrics: `messaging.client.sent.messages`, `messaging.client.operation.duration`, and
 * topicflow's buffered bytes, batch size, retries and (through `reports()`) dead letters. On the read side,
 * `consumed()` after `fromKafka` makes a `process <topic>` span per record that continues the producer's trace.
 *
 * @example
 * import { kafkaTracing } from '@topicflow/otel'
 * const tracing = kafkaTracing<Order>()
 * orders$.pipe(serialize('orders', json()), key((o) => o.id), tracing.records(), partition(transport), batch(),
 *   toKafka(transport, { instrumentation: tracing.instrumentation }))
 */
export function kafkaTracing<T>(options: KafkaTracingOptions<T> = {}): KafkaTracing<T> {
  const tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(TRACER_NAME)
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(TRACER_NAME)
  const sentMessages = meter.createCounter(semconv.METRIC_MESSAGING_CLIENT_SENT_MESSAGES, { unit: '{message}', description: 'Messages the producer sent' })
  const operationDuration = meter.createHistogram(semconv.METRIC_MESSAGING_CLIENT_OPERATION_DURATION, { unit: 's', description: 'Duration of produce requests' })
  const bufferedBytes = meter.createUpDownCounter(semconv.METRIC_TOPICFLOW_BUFFERED_BYTES, { unit: 'By', description: 'Bytes the sink holds, waiting or in flight' })
  const batchSize = meter.createHistogram(semconv.METRIC_TOPICFLOW_BATCH_SIZE, { unit: '{message}', description: 'Records per produce request' })
  const retries = meter.createCounter(semconv.METRIC_TOPICFLOW_RETRIES, { unit: '{request}', description: 'Produce requests sent again after a retriable error' })
  const deadLetters = meter.createCounter(semconv.METRIC_TOPICFLOW_DEAD_LETTERS, { unit: '{message}', description: 'Records written to a dead-letter topic' })
  const suppress = options.suppressClientInstrumentation !== false
  const common: Attributes = { [semconv.ATTR_MESSAGING_SYSTEM]: semconv.MESSAGING_SYSTEM_VALUE_KAFKA }
  if (options.clientId !== undefined) common[semconv.ATTR_MESSAGING_CLIENT_ID] = options.clientId

  // Attribute sets are made once per topic (and per topic-partition), not per message: with no SDK
  // registered the tracing must cost next to nothing, and with one the SDK copies them anyway.
  const topicAttributes = cached((topic: string): Attributes => ({
    ...common,
    [semconv.ATTR_MESSAGING_DESTINATION_NAME]: topic,
    [semconv.ATTR_MESSAGING_OPERATION_TYPE]: semconv.MESSAGING_OPERATION_TYPE_VALUE_SEND,
    [semconv.ATTR_MESSAGING_OPERATION_NAME]: 'send',
  }))
  const byPartition = cached((_topic: string): Attributes[] => [])
  const partitionAttributes = (topic: string, partition: number | undefined): Attributes => {
    if (partition === undefined) return topicAttributes(topic)
    const known = byPartition(topic)
    return (known[partition] ??= { ...topicAttributes(topic), [semconv.ATTR_MESSAGING_DESTINATION_PARTITION_ID]: String(partition) })
  }
  const spanNames = cached((topic: string) => `send ${topic}`)

  const records = (): OperatorFunction<OutgoingRecord<T>, OutgoingRecord<T>> => (source) =>
    new Observable<OutgoingRecord<T>>((subscriber) => {
      // The propagator writes into a copy of the record's headers, made at its first header: with no
      // propagator registered nothing is copied. One carrier for every record (injection is synchronous).
      // The record's other headers keep their order; a propagated one replaces any of its name, at the end.
      const carrier: HeadersCarrier = { from: undefined, headers: undefined }
      return source.subscribe({
        next(record) {
          const parent = options.parentContext?.(record.source) ?? contextApi.active()
          const span = tracer.startSpan(spanNames(record.topic), { kind: SpanKind.PRODUCER, attributes: topicAttributes(record.topic) }, parent)
          const recording = span.isRecording()
          if (recording) {
            if (record.value === null && record.key !== null) span.setAttribute(semconv.ATTR_MESSAGING_KAFKA_MESSAGE_TOMBSTONE, true)
            if (options.recordMessageKey === true && record.key !== null) span.setAttribute(semconv.ATTR_MESSAGING_KAFKA_MESSAGE_KEY, record.key.toString('utf8'))
          }
          carrier.from = record.headers
          carrier.headers = undefined
          // A non-recording span carries its parent's span context: propagating the parent is the same.
          propagation.inject(recording ? trace.setSpan(parent, span) : parent, carrier, HEADERS_SETTER)
          const injected = carrier.headers
          carrier.from = undefined
          carrier.headers = undefined
          // Nothing recorded and nothing to propagate (no SDK, no propagator): the record goes on as it was.
          if (!recording && injected === undefined) return subscriber.next(record)
          const headers: SpanHeaders = injected ?? [...record.headers]
          if (recording) headers[SPAN] = span
          subscriber.next({ ...record, headers })
        },
        error: (error) => subscriber.error(error),
        complete: () => subscriber.complete(),
      })
    })

  const instrumentation: SinkInstrumentation = {
    async request(batch: RecordBatch<unknown>, attempt: number, send: () => Promise<ProduceAck>): Promise<ProduceAck> {
      const attributes = partitionAttributes(batch.topic, batch.partition)
      const links: Link[] = []
      for (const record of batch.records) {
        const span = (record.headers as SpanHeaders)[SPAN]
        if (span === undefined) continue
        links.push({ context: span.spanContext() })
        if (attempt > 1) span.addEvent('retry', { attempt })
      }
      const batchSpan = tracer.startSpan(spanNames(batch.topic), { kind: SpanKind.CLIENT, links, attributes }, ROOT_CONTEXT)
      batchSpan.setAttribute(semconv.ATTR_MESSAGING_BATCH_MESSAGE_COUNT, batch.records.length)
      if (attempt > 1) retries.add(1, attributes)
      batchSize.record(batch.records.length, attributes)
      const started = performance.now()
      const requestContext = trace.setSpan(contextApi.active(), batchSpan)
      try {
        const ack = await contextApi.with(suppress ? requestContext.setValue(SUPPRESS_TRACING_KEY, true) : requestContext, send)
        operationDuration.record((performance.now() - started) / 1000, attributes)
        batchSpan.end()
        return ack
      } catch (error) {
        const errorType = (error as Error)?.name ?? 'Error'
        operationDuration.record((performance.now() - started) / 1000, { ...attributes, [semconv.ATTR_ERROR_TYPE]: errorType })
        batchSpan.setAttribute(semconv.ATTR_ERROR_TYPE, errorType)
        batchSpan.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message })
        batchSpan.end()
        throw error
      }
    },
    settled(record: OutgoingRecord<unknown>, report: DeliveryReport<unknown>): void {
      const span = (record.headers as SpanHeaders)[SPAN]
      const attributes = partitionAttributes(report.topic, report.partition)
      if (report.status === 'delivered') {
        sentMessages.add(1, attributes)
        if (span === undefined) return
        span.setAttribute(semconv.ATTR_MESSAGING_DESTINATION_PARTITION_ID, String(report.partition))
        if (report.offset >= 0) span.setAttribute(semconv.ATTR_MESSAGING_KAFKA_OFFSET, report.offset)
        span.end()
        return
      }
      sentMessages.add(1, { ...attributes, [semconv.ATTR_ERROR_TYPE]: report.error.name })
      if (span === undefined) return
      if (report.partition !== undefined) span.setAttribute(semconv.ATTR_MESSAGING_DESTINATION_PARTITION_ID, String(report.partition))
      span.setAttribute(semconv.ATTR_ERROR_TYPE, report.error.name)
      span.recordException(report.error)
      span.setStatus({ code: SpanStatusCode.ERROR, message: report.error.message })
      span.end()
    },
    buffered(deltaBytes: number): void {
      bufferedBytes.add(deltaBytes, common)
    },
  }
  const reports = (): MonoTypeOperatorFunction<DeliveryReport<T>> =>
    tap((report) => {
      if (report.status === 'dead-lettered') deadLetters.add(1, partitionAttributes(report.topic, report.partition))
    })
  const consumed = consumedTracing({ tracer, common, recordMessageKey: options.recordMessageKey === true })
  return { records, instrumentation, reports, consumed }
}

/**
 * Where a traced record's span travels: on the headers list made for the record here, under a symbol,
 * which header encoders never see (they read the list by index). Later operators copy the record (partition
 * sets a field) but pass its headers list on, so the sink's hooks find the span with no field added to
 * records (a copy that adds a field falls off V8's fast path for every operator after it) and no map to
 * keep (a WeakMap from headers to spans cost ~15% of traced throughput in its upkeep and GC).
 */
const SPAN = Symbol('@topicflow/otel span')
type SpanHeaders = RecordHeader[] & { [SPAN]?: Span }

interface HeadersCarrier {
  /** The headers of the record being injected; none between records, so that none is held. */
  from: RecordHeaders | undefined
  headers: SpanHeaders | undefined
}

/**
 * Writes a propagated header into a copy of the record's headers, made at the first one: any header of that
 * name goes (a `traceparent` the event came with names another span) and the new one is appended, as
 * OpenTelemetry Java's Kafka instrumentation does (`headers.remove(key).add(key, value)`).
 */
const HEADERS_SETTER: TextMapSetter<HeadersCarrier> = {
  set(carrier, name, value) {
    const headers = (carrier.headers ??= [...carrier.from!])
    for (let i = headers.length - 1; i >= 0; i--) if (headers[i]![0] === name) headers.splice(i, 1)
    headers.push([name, value])
  },
}
