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
