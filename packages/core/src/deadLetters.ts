import { mergeMap, Observable, Subject, type OperatorFunction } from 'rxjs'
import { Consumed } from './consumer/consumedRecord.js'
import { describeValue, DeserializationError, InvalidOptionError, messageOf, SerializationError, TopicflowError, withSources } from './errors.js'
import { batch } from './operators/batch.js'
import { partition } from './operators/partition.js'
import { retry } from './operators/retry.js'
import { isLegalTopicName } from './operators/serialize.js'
import { KafkaSink } from './sink/kafkaSink.js'
import type { ToKafkaOptions } from './sink/options.js'
import { NO_HEADERS, type DeliveryReport, type Failed, type OutgoingRecord, type RecordHeader, type RecordHeaders } from './records.js'
import type { Transport } from './transport.js'

/** Options of `deadLetterQueue`. */
export interface DeadLetterQueueOptions {
  /** The dead-letter topic. It must exist (or be auto-created by the broker). */
  readonly topic: string
  /** The sink options for dead letters (acks, timeouts). Default acks all. */
  readonly sink?: Omit<ToKafkaOptions, 'onError' | 'instrumentation'>
}

/**
 * Header names on each dead letter, in the style of Kafka Connect's `__connect.errors.*`, in the order they
 * are appended after the original headers (`partition` only when it was known).
 */
export const DEAD_LETTER_HEADERS = {
  topic: '__topicflow.errors.topic',
  partition: '__topicflow.errors.partition',
  offset: '__topicflow.errors.offset',
  stage: '__topicflow.errors.stage',
  exceptionClass: '__topicflow.errors.exception.class.name',
  exceptionMessage: '__topicflow.errors.exception.message',
  timestamp: '__topicflow.errors.timestamp',
} as const

/** Where a record failed: reading a consumed record, making its bytes, or sending them. */
export type DeadLetterStage = 'deserialize' | 'serialize' | 'send'

/** A dead-letter topic for a pipeline: what failed goes there with headers that say why, instead of being lost. */
export interface DeadLetterQueue<T> {
  /**
   * The `onError` of `serialize`, `key` and `serializeFrom`: the event, as JSON if it can be written so (else
   * a description), goes to the dead-letter topic with stage `serialize`; for `serializeFrom`, whose event is a
   * consumed record, its bytes as read and its topic, partition and offset. The promise settles once the dead
   * letter is acknowledged (`serializeFrom` holds the input's offset until then), and rejects if it cannot be written.
   */
  readonly serializationError: (error: SerializationError) => Promise<void>
  /**
   * The `onError` of `fromKafka`: the consumed record's key, value and headers as read go to the dead-letter
   * topic with stage `deserialize` and the input's topic, partition and offset in the error headers. The
   * promise settles once the dead letter is acknowledged (so the input's offset is committed only then),
   * and rejects if it cannot be written.
   */
  readonly deserializationError: (error: DeserializationError) => Promise<void>
  /**
   * An operator after `toKafka(…, { onError: 'report' })`: each failed record's original key, value and
   * headers go to the dead-letter topic with stage `send`, and its report becomes `dead-lettered` (or stays
   * `failed`, with the dead-letter error, if that write fails too). Other reports pass unchanged.
   */
  readonly reports: () => OperatorFunction<DeliveryReport<T>, DeliveryReport<T>>
  /** Counts: written, and failed to write (those stay failed and are reported). */
  readonly stats: { deadLettered: number; failed: number }
  /** Waits until every dead letter is written, then releases the dead-letter producer. */
  close(): Promise<void>
}

interface PendingLetter {
  readonly settle: (outcome: DeliveryReport<PendingLetter>) => void
}

/**
 * A dead-letter queue on `transport`: failed records are written to `options.topic` with their original key
 * and value bytes (or the event as JSON when it could not be serialized), the original headers in their
 * order, and after them `__topicflow.errors.*` headers naming the original topic and partition, the stage,
 * the error class and message, and the time. A poison record never blocks the others: it is set aside and
 * the stream goes on.
 *
 * @example
 * const dlq = deadLetterQueue<Order>(transport, { topic: 'orders.dlq' })
 * orders$.pipe(
 *   serialize('orders', json(), { onError: dlq.serializationError }),
 *   partition(transport), batch(), toKafka(transport, { onError: 'report' }), dlq.reports(),
 * ).subscribe({ complete: () => void dlq.close() })
 */
export function deadLetterQueue<T>(transport: Transport, options: DeadLetterQueueOptions): DeadLetterQueue<T> {
  if (!isLegalTopicName(options?.topic)) throw new InvalidOptionError('deadLetterQueue.topic', 'a legal Kafka topic name', options?.topic)
  const topic = options.topic
  const sink = new KafkaSink<PendingLetter>(transport, { acks: 'all', ...options.sink, onError: 'report' })
  const letters = new Subject<OutgoingRecord<PendingLetter>>()
  const stats = { deadLettered: 0, failed: 0 }
  const unsettled = new Set<PendingLetter>()
  let idle: (() => void) | undefined
  // If the dead-letter stream itself stops (say, its topic does not exist), every letter waiting and every
  // later one fails at once rather than hang.
  let broken: TopicflowError | undefined
  const failAll = (error: unknown): void => {
    broken = withSources(error, [], { topic })
    for (const letter of [...unsettled]) letter.settle({ status: 'failed', topic, partition: undefined, error: broken, source: letter })
  }
  const written = new Promise<void>((resolve) =>
    letters.pipe(partition(transport), batch({ lingerMs: 5 }), retry(), sink.operator()).subscribe({
      next: (outcome) => outcome.source.settle(outcome),
      error: (error: unknown) => {
        failAll(error)
        resolve()
      },
      complete: resolve,
    }),
  )

  const write = (
    headers: RecordHeaders,
    key: Buffer | null,
    value: Buffer | null,
    failure: { stage: DeadLetterStage; error: unknown; topic: string; partition: number | undefined; offset?: number },
  ): Promise<DeliveryReport<PendingLetter>> =>
    new Promise((resolve) => {
      const letter: PendingLetter = {
        settle: (outcome) => {
          if (!unsettled.delete(letter)) return
          if (outcome.status === 'delivered') stats.deadLettered++
          else stats.failed++
          if (unsettled.size === 0) idle?.()
          resolve(outcome)
        },
      }
      unsettled.add(letter)
      if (broken !== undefined) return letter.settle({ status: 'failed', topic, partition: undefined, error: broken, source: letter })
      // The error headers go after the original ones, in Connect's order (original topic and partition
      // first), as Connect's DeadLetterQueueReporter adds its own: a name the original carries too repeats,
      // and the error's is the last one (Java's `Headers.lastHeader`, `lastHeader` here).
      const letterHeaders: RecordHeader[] = [...headers, [DEAD_LETTER_HEADERS.topic, failure.topic]]
      if (failure.partition !== undefined) letterHeaders.push([DEAD_LETTER_HEADERS.partition, String(failure.partition)])
      if (failure.offset !== undefined) letterHeaders.push([DEAD_LETTER_HEADERS.offset, String(failure.offset)])
      letterHeaders.push(
        [DEAD_LETTER_HEADERS.stage, failure.stage],
        [DEAD_LETTER_HEADERS.exceptionClass, (failure.error as Error)?.name ?? 'Error'],
        [DEAD_LETTER_HEADERS.exceptionMessage, messageOf(failure.error)],
        [DEAD_LETTER_HEADERS.timestamp, String(Date.now())],
      )
      letters.next({ topic, key, value, headers: letterHeaders, timestamp: Date.now(), source: letter })
    })

  /** Settles once the letter is acknowledged; rejects with the reason it could not be written. */
  const settled = (letter: Promise<DeliveryReport<PendingLetter>>): Promise<void> => {
    const done = letter.then((outcome) => {
      if (outcome.status !== 'delivered') throw outcome.status === 'failed' ? outcome.error : new TopicflowError('dead letter not delivered')
    })
    // serialize's onError ignores the promise (the failure is counted in stats.failed); only callers that wait see it reject.
    done.catch(() => undefined)
    return done
  }

  const serializationError = (error: SerializationError): Promise<void> => {
    if (!(error instanceof SerializationError)) throw new InvalidOptionError('deadLetterQueue.serializationError', 'a SerializationError', error)
    const input = error.event
    if (input instanceof Consumed) {
      return settled(write(input.raw.headers, input.raw.key, input.raw.value, { stage: 'serialize', error, topic: input.topic, partition: input.partition, offset: input.offset }))
    }
    return settled(write(NO_HEADERS, null, Buffer.from(eventAsJson(error.event), 'utf8'), { stage: 'serialize', error, topic: error.topic ?? '', partition: undefined }))
  }

  const deserializationError = (error: DeserializationError): Promise<void> => {
    if (!(error instanceof DeserializationError)) throw new InvalidOptionError('deadLetterQueue.deserializationError', 'a DeserializationError', error)
    const { record } = error
    return settled(write(record.headers, record.key, record.value, { stage: 'deserialize', error, topic: record.topic, partition: record.partition, offset: record.offset }))
  }

  const reports = (): OperatorFunction<DeliveryReport<T>, DeliveryReport<T>> => (source) =>
    source.pipe(
      mergeMap((report) => {
        if (report.status !== 'failed' || report.record === undefined) return [report]
        const failed: Failed<T> = report
        const record = failed.record!
        return new Observable<DeliveryReport<T>>((subscriber) => {
          void write(record.headers, record.key, record.value, { stage: 'send', error: failed.error, topic: failed.topic, partition: failed.partition }).then((outcome) => {
            if (outcome.status === 'delivered') {
              subscriber.next({
                status: 'dead-lettered',
                topic: failed.topic,
                partition: failed.partition,
                error: failed.error,
                source: failed.source,
                deadLetter: { topic: outcome.topic, partition: outcome.partition, offset: outcome.offset },
              })
            } else {
              // The dead letter could not be written either (counted in stats.failed): the record stays failed.
              subscriber.next(failed)
            }
            subscriber.complete()
          })
        })
      }),
    )

  return {
    serializationError,
    deserializationError,
    reports,
    stats,
    async close() {
      if (unsettled.size > 0) await new Promise<void>((resolve) => (idle = resolve))
      letters.complete()
      await written
    },
  }
}

/** The event as JSON for a dead letter; an event JSON cannot carry (cycles, BigInt) as its description. */
function eventAsJson(event: unknown): string {
  try {
    const text = JSON.stringify(event)
    if (text !== undefined) return text
  } catch {
    // not JSON-able: fall through
  }
  return JSON.stringify({ unserializable: describeValue(event) })
}
