import { InvalidOptionError } from './errors.js'
import { integerOption } from './options.js'

/** Milliseconds to wait after failed attempt `attempt` (1 for the first failure). */
export type Backoff = (attempt: number) => number

/**
 * Exponential backoff with jitter, as Java's producer does it (`retry.backoff.ms` doubling up to
 * `retry.backoff.max.ms`, each wait spread by ±`jitter`): with jitter, retries from many partitions do
 * not hit a recovering broker all at once.
 *
 * @example
 * exponential(100, 1000)(1) // ~100 (80-120)
 * exponential(100, 1000)(5) // ~1000 (800-1000)
 */
export function exponential(initialMs = 100, maxMs = 1000, jitter = 0.2): Backoff {
  integerOption('exponential.initialMs', initialMs, 100, 0)
  integerOption('exponential.maxMs', maxMs, 1000, initialMs)
  if (!(jitter >= 0 && jitter <= 1)) throw new InvalidOptionError('exponential.jitter', 'a number from 0 to 1', jitter)
  return (attempt) => {
    const base = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1))
    const spread = base * jitter * (Math.random() * 2 - 1)
    return Math.max(0, Math.min(maxMs, Math.round(base + spread)))
  }
}
