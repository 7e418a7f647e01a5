import type { Backoff } from './backoff.js'
import { TopicflowError } from './errors.js'

/**
 * `promise`'s outcome, or a rejection with `onTimeout()` once `ms` pass first. The timer is cleared either
 * way; the promise itself runs on (JavaScript cannot cancel it), so callers ignore its late outcome.
 *
 * @example
 * await withTimeout(producer.connect(), 10_000, () => new KafkaConnectionError('no answer within 10 s'))
 */
export function withTimeout<V>(promise: Promise<V>, ms: number, onTimeout: () => Error): Promise<V> {
  return new Promise<V>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), Math.max(0, ms))
    promise.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        clearTimeout(timer)
        reject(error)
      },
    )
  })
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** How `untilDeadline` tries. */
export interface UntilDeadlineOptions<V> {
  /** How long to keep trying, from the call. The first attempt always runs. */
  readonly timeoutMs: number
  /** The wait after failed attempt `n`, cut short at the deadline. */
  readonly backoff: Backoff
  /** One try. `deadline` (a `Date.now()` time) is for bounding what it waits for; the loop does not cut it short. */
  readonly attempt: (deadline: number, n: number) => Promise<V>
  /** Whether an attempt's error is worth another try; others reject at once. Default: all but a `TopicflowError` that is not `retriable`. */
  readonly retriable?: (error: unknown) => boolean
  /**
   * What to reject with once the deadline has passed, given the error of the last attempt that finished.
   * An attempt cut short by the deadline (rejecting with `deadlinePassed()`, as `withTimeout` can) says
   * nothing about what it asked, so it is left out: a topic missing all along is still named as missing.
   * Undefined when no attempt finished.
   */
  readonly onDeadline: (lastError: unknown) => unknown
}

/** An attempt's wait cut short at `untilDeadline`'s deadline: `withTimeout(work, deadline - Date.now(), deadlinePassed)`. */
class DeadlinePassedError extends Error {
  constructor() {
    super('the deadline passed first')
    this.name = 'DeadlinePassedError'
  }
}

/** The rejection for an attempt that the deadline cut short (see `UntilDeadlineOptions.onDeadline`). */
export function deadlinePassed(): Error {
  return new DeadlinePassedError()
}

/** Whether `error` is `deadlinePassed()`'s: an attempt that must pass it on unchanged, for `untilDeadline` to know it. */
export function isDeadlinePassed(error: unknown): boolean {
  return error instanceof DeadlinePassedError
}

/**
 * Calls `attempt` until it resolves, fails with an error that is not retriable, or the time is up; between
 * attempts it waits out the backoff, never past the deadline. This is the shape of every wait for a
 * cluster's answer that Java's client bounds by a setting (`max.block.ms` for metadata,
 * `request.timeout.ms` for a producer id).
 *
 * @example
 * const count = await untilDeadline({
 *   timeoutMs: 60_000,
 *   backoff: exponential(50, 1000),
 *   attempt: (deadline) => askForMetadata(topic, deadline - Date.now()),
 *   onDeadline: (lastError) => new KafkaConnectionError('no metadata within 60 s', { cause: lastError }),
 * })
 */
export async function untilDeadline<V>(options: UntilDeadlineOptions<V>): Promise<V> {
  const { timeoutMs, backoff, attempt, retriable = isRetriable, onDeadline } = options
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (let n = 1; ; n++) {
    try {
      return await attempt(deadline, n)
    } catch (error) {
      if (!retriable(error)) throw error
      if (!isDeadlinePassed(error)) lastError = error
    }
    await sleep(Math.max(0, Math.min(backoff(n), deadline - Date.now())))
    if (deadline - Date.now() <= 0) throw onDeadline(lastError)
  }
}

function isRetriable(error: unknown): boolean {
  return !(error instanceof TopicflowError) || error.retriable
}
