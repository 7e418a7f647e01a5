import type { Backoff } from '../backoff.js'
import { BrokerUnavailableError, DeliveryTimeoutError, RecordTooLargeError, TopicflowError, withSources } from '../errors.js'
import type { RecordBatch } from '../records.js'
import type { ProduceAck, ProduceRequest, ProducerSession } from '../transport.js'
import { DEFAULT_RETRY_POLICY } from '../operators/retry.js'
import { slice } from './batches.js'
import type { SinkConfig } from './options.js'

/** How one batch (or, after a split, each part of it) ended. */
export type BatchOutcome<T> = { readonly batch: RecordBatch<T>; readonly ack: ProduceAck } | { readonly batch: RecordBatch<T>; readonly error: TopicflowError }

/** What the attempt loop needs from its run; it knows no subscriber. */
export interface DeliveryContext {
  readonly config: SinkConfig
  /** The run's producer session, opened on first use. */
  readonly session: () => Promise<ProducerSession>
  readonly reconnectBackoff: Backoff
  /** Counts a request that reached a broker. */
  readonly countRequest: (attempt: number) => void
  /** True once the run gave the batch up (unsubscribed, or overtaken by a close deadline): stop, report nothing. */
  readonly cancelled: () => boolean
  /** Resolves after `ms` on the run's scheduler (cleared if the run ends). */
  readonly sleep: (ms: number) => Promise<void>
  /** `promise`, or a rejection with `onTimeout()` once the scheduler's clock reaches `at`. */
  readonly until: <V>(promise: Promise<V>, at: number, onTimeout: () => Error) => Promise<V>
}

/**
 * Delivers one batch: attempts under its retry policy and delivery deadline (Java's `retries`,
 * `retry.backoff.*`, `delivery.timeout.ms`), waits without spending an attempt while its leader cannot be
 * reached (`reconnect.backoff.*`), and splits it when the broker refuses it as too large, so only the
 * culprit fails. Returns one outcome per part, or none once cancelled.
 */
export async function deliverBatch<T>(batch: RecordBatch<T>, context: DeliveryContext): Promise<BatchOutcome<T>[]> {
  const { config } = context
  const policy = batch.retry ?? DEFAULT_RETRY_POLICY
  const deadline = batch.createdAt + policy.deliveryTimeoutMs
  const now = (): number => config.scheduler.now()
  const timedOut = (attempts: number, cause: unknown): DeliveryTimeoutError =>
    new DeliveryTimeoutError(policy.deliveryTimeoutMs, attempts, { topic: batch.topic, partition: batch.partition, sources: batch.records.map((r) => r.source), cause })
  const request: ProduceRequest = { topic: batch.topic, partition: batch.partition, records: batch.records, codec: batch.codec, acks: config.acks, timeoutMs: config.requestTimeoutMs }
  // `attempt` counts requests that reached a broker; `unreachable`, tries in a row that could not send at all.
  for (let attempt = 1, unreachable = 0; ; ) {
    let error: TopicflowError
    try {
      const producer = await context.session()
      // The deadline bounds a request in flight too: a client that retries connections inside one send must not hold the batch past it.
      const send = (): Promise<ProduceAck> =>
        context.until(producer.send(request), deadline, () => timedOut(attempt, new Error('a produce request was still unanswered at the delivery deadline (it may yet land)')))
      const wrap = config.instrumentation?.request
      const ack = await (wrap === undefined ? send() : wrap(batch, attempt, send)).catch((notAcknowledged: unknown) => {
        if (!(notAcknowledged instanceof BrokerUnavailableError)) context.countRequest(attempt)
        throw notAcknowledged
      })
      context.countRequest(attempt)
      return context.cancelled() ? [] : [{ batch, ack }]
    } catch (caught) {
      if (caught instanceof DeliveryTimeoutError) return context.cancelled() ? [] : [{ batch, error: caught }]
      error = typed(caught, batch)
    }
    if (context.cancelled()) return []
    if (error instanceof BrokerUnavailableError) {
      const wait = context.reconnectBackoff(++unreachable)
      if (now() + wait >= deadline) return [{ batch, error: timedOut(attempt - 1, error) }]
      await context.sleep(wait)
      if (context.cancelled()) return []
      continue
    }
    unreachable = 0
    if (error instanceof RecordTooLargeError && batch.records.length > 1) {
      // The broker refused the batch as too large: split it, as Java does, so only the culprit fails.
      const half = Math.ceil(batch.records.length / 2)
      const first = await deliverBatch(slice(batch, 0, half), context)
      if (context.cancelled()) return []
      return first.concat(await deliverBatch(slice(batch, half, batch.records.length), context))
    }
    if (policy.isRetriable(error) && attempt < policy.attempts) {
      const wait = policy.backoffMs(attempt)
      if (now() + wait < deadline) {
        await context.sleep(wait)
        if (context.cancelled()) return []
        attempt++
        continue
      }
      error = timedOut(attempt, error)
    }
    return [{ batch, error }]
  }
}

/** Anything a transport threw, as a `TopicflowError` naming the batch's events. */
function typed<T>(error: unknown, batch: RecordBatch<T>): TopicflowError {
  const sources = batch.records.map((r) => r.source)
  if (error instanceof RecordTooLargeError && batch.records.length === 1) {
    return new RecordTooLargeError(batch.sizeBytes, error.limitBytes, { topic: batch.topic, partition: batch.partition, sources, cause: error })
  }
  return withSources(error, error instanceof TopicflowError && error.sources.length > 0 ? [] : sources, { topic: batch.topic, partition: batch.partition })
}
