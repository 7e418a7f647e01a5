import { context as contextApi, INVALID_SPANID, propagation, ROOT_CONTEXT, SpanKind, trace, type Attributes, type Context, type Span, type TextMapGetter, type Tracer } from '@opentelemetry/api'
import { Observable, type MonoTypeOperatorFunction } from 'rxjs'
import { InvalidOptionError, lastHeader, type ConsumedRecord, type RecordHeaders } from '@topicflow/core'
import { cached } from './cached.js'
import * as semconv from './semconv.js'

/** Options of `tracing.consumed()`. */
export interface ConsumedTracingOptions {
  /** `messaging.consumer.group.name` on every span: the consumer's group (`consumer.config.groupId`). Default: not recorded. */
  readonly consumerGroup?: string
  /**
   * How a record's span relates to the context its headers carry (the producer's span, the conventions'
   * "creation context"). `'parent'` (default): the process span is its child, so one trace runs from the
   * first producer through the job to the last topic. `'link'`: the process span starts in the context
   * active when the record is emitted and links to the creation context, which keeps a long-lived job's
   * traces apart from its producers'; the record's baggage is then not adopted either.
   */
  readonly creationContext?: 'parent' | 'link'
}

/** What `kafkaTracing` shares with its read side: the tracer, the attributes every span has, and whether keys are recorded. */
export interface ConsumedTracingSettings {
  readonly tracer: Tracer
  readonly common: Attributes
  readonly recordMessageKey: boolean
}

/** `tracing.consumed`, made for one `kafkaTracing` (see `KafkaTracing.consumed`). */
export function consumedTracing(settings: ConsumedTracingSettings): <V, K = Buffer | null>(options?: ConsumedTracingOptions) => MonoTypeOperatorFunction<ConsumedRecord<V, K>> {
  const { tracer, common, recordMessageKey } = settings
  const spanNames = cached((topic: string) => `process ${topic}`)
  return <V, K = Buffer | null>(options: ConsumedTracingOptions = {}): MonoTypeOperatorFunction<ConsumedRecord<V, K>> => {
    const mode = options.creationContext ?? 'parent'
    if (mode !== 'parent' && mode !== 'link') throw new InvalidOptionError('consumed.creationContext', '"parent" or "link"', options.creationContext)
    const link = mode === 'link'
    // As on the producer side, attribute sets are made once per topic-partition, not per record: with no
    // SDK registered a record costs a no-op span and no attribute work.
    const topicAttributes = cached((topic: string): Attributes => {
      const attributes: Attributes = {
        ...common,
        [semconv.ATTR_MESSAGING_DESTINATION_NAME]: topic,
        [semconv.ATTR_MESSAGING_OPERATION_TYPE]: semconv.MESSAGING_OPERATION_TYPE_VALUE_PROCESS,
        [semconv.ATTR_MESSAGING_OPERATION_NAME]: 'process',
      }
      if (options.consumerGroup !== undefined) attributes[semconv.ATTR_MESSAGING_CONSUMER_GROUP_NAME] = options.consumerGroup
      return attributes
    })
    const byPartition = cached((_topic: string): Attributes[] => [])
    const partitionAttributes = (topic: string, partition: number): Attributes =>
      (byPartition(topic)[partition] ??= { ...topicAttributes(topic), [semconv.ATTR_MESSAGING_DESTINATION_PARTITION_ID]: String(partition) })

    return (source) =>
      new Observable<ConsumedRecord<V, K>>((subscriber) =>
        source.subscribe({
          next(record) {
            // A synchronous source goes on emitting into this observer after downstream unsubscribed during an
            // emission (its subscription is not returned yet): no span for records no one takes.
            if (subscriber.closed) return
            const active = contextApi.active()
            // Linking, the headers are read into an empty context, so that a span context found there is the record's own.
            const extracted = propagation.extract(link ? ROOT_CONTEXT : active, record.headers, HEADERS_GETTER)
            const creation = link ? trace.getSpanContext(extracted) : undefined
            const parent = link ? active : extracted
            const span = tracer.startSpan(
              spanNames(record.topic),
              { kind: SpanKind.CONSUMER, attributes: partitionAttributes(record.topic, record.partition), links: creation === undefined ? undefined : [{ context: creation }] },
              parent,
            )
            const recording = span.isRecording()
            if (recording) {
              span.setAttribute(semconv.ATTR_MESSAGING_KAFKA_OFFSET, record.offset)
              const { key, value } = record.raw
              if (value === null && key !== null) span.setAttribute(semconv.ATTR_MESSAGING_KAFKA_MESSAGE_TOMBSTONE, true)
              if (recordMessageKey && key !== null) span.setAttribute(semconv.ATTR_MESSAGING_KAFKA_MESSAGE_KEY, key.toString('utf8'))
            }
            const downstream = recording || !carriesParentContext(span, parent) ? trace.setSpan(parent, span) : parent
            // The record is the consumer's own object (serializeFrom and commitOffsets track it): it goes on as
            // it is, only the context changes. Processing is synchronous (as fromKafka's offset tracking requires),
            // so the span ends when the emission returns, after everything downstream did with the record (or
            // threw, where errors are rethrown synchronously).
            try {
              if (downstream === active) subscriber.next(record)
              else contextApi.with(downstream, subscriber.next, subscriber, record)
            } finally {
              span.end()
            }
          },
          error: (error) => subscriber.error(error),
          complete: () => subscriber.complete(),
        }),
      )
  }
}

/**
 * A span that is not recording may carry its parent's span context (the no-op tracer's, with no SDK
 * registered; an invalid one at a root): going on in the parent is then the same, and allocates nothing.
 * An SDK's sampled-out span has ids of its own, which downstream spans descend from to keep its decision.
 * Compared by identity and the invalid id, not `isSpanContextValid`: its regular expressions cost more per
 * record than the rest of the operator with no SDK.
 */
function carriesParentContext(span: Span, parent: Context): boolean {
  const own = span.spanContext()
  return own.spanId === INVALID_SPANID || own === trace.getSpanContext(parent)
}

/** Reads a propagated header from a record's headers: the last of its name wins, as `lastHeader` and the producer side have it. */
const HEADERS_GETTER: TextMapGetter<RecordHeaders> = {
  get(headers, name) {
    const value = lastHeader(headers, name)
    return value === undefined || typeof value === 'string' ? value : value.toString('utf8')
  },
  keys: (headers) => headers.map(([name]) => name),
}
