import { map, type OperatorFunction } from 'rxjs'
import { exponential, type Backoff } from '../backoff.js'
import type { TopicflowError } from '../errors.js'
import { functionOption, integerOption, limitOption } from '../options.js'
import type { RecordBatch, RetryPolicy } from '../records.js'

/** Options of `retry`; the defaults are the Java producer's. */
export interface RetryOptions {
  /** Total attempts per batch, the first included; `Infinity` to retry until the deadline (Java's `retries` = MAX_INT). Default `Infinity`. */
  readonly attempts?: number
  /** Wait before each new attempt. Default `exponential(100, 1000)` (`retry.backoff.ms`, `retry.backoff.max.ms`), ±20% jitter. */
  readonly backoff?: Backoff
  /** Upper bound from a batch's creation to its success or failure (Java's `delivery.timeout.ms`). Default 120000. */
  readonly deliveryTimeoutMs?: number
  /** Which errors are tried again. Default: those marked `retriable` (leader changes, timeouts, lost connections). */
  readonly retriable?: (error: TopicflowError) => boolean
}

/** The policy the sink uses for batches that did not pass through `retry`. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = retryPolicy({})

/**
 * Attaches a retry policy to each batch and does nothing else: the sink carries it out, one attempt at a
 * time per partition so order holds under retries. When attempts run out or the deadline passes, the batch fails with the last
 * error (or `DeliveryTimeoutError`) and the sink's `onError` decides.
 *
 * @example
 * import { retry, exponential } from '@topicflow/core'
 * batches$.pipe(retry({ deliveryTimeoutMs: 30_000, backoff: exponential(100, 5_000) }))
 */
export function retry<T>(options: RetryOptions = {}): OperatorFunction<RecordBatch<T>, RecordBatch<T>> {
  const policy = retryPolicy(options)
  return (source) => source.pipe(map((b) => ({ ...b, retry: policy })))
}

function retryPolicy(options: RetryOptions): RetryPolicy {
  return Object.freeze({
    attempts: limitOption('retry.attempts', options.attempts, Number.POSITIVE_INFINITY, 1),
    backoffMs: options.backoff === undefined ? exponential(100, 1000) : functionOption<Backoff>('retry.backoff', options.backoff),
    deliveryTimeoutMs: integerOption('retry.deliveryTimeoutMs', options.deliveryTimeoutMs, 120_000, 1),
    isRetriable:
      options.retriable === undefined
        ? (error: TopicflowError) => error.retriable
        : functionOption<(error: TopicflowError) => boolean>('retry.retriable', options.retriable),
  })
}
