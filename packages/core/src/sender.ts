import { Subject, type Observable } from 'rxjs'
import { ProducerClosedError } from './errors.js'
import type { Delivered, DeliveryReport } from './records.js'

/** Sends events one (or a few) at a time and awaits their delivery, like sarama's SyncProducer. */
export interface Sender<T> {
  /** Resolves with the event's delivery report once acknowledged; rejects with its error. */
  send(event: T): Promise<Delivered<T>>
  /** `send` for several events; resolves when all are delivered, rejects on the first failure. */
  sendAll(events: readonly T[]): Promise<Delivered<T>[]>
  /** Takes no more events, flushes, and resolves when every pending event is settled. */
  close(): Promise<void>
}

/**
 * A promise API over the same operator chain: each `send` pushes the event into `pipeline` and resolves
 * with its own delivery report. Use `onError: 'report'` in the pipeline's sink so that one failed event
 * rejects only its own promise; with `'fail'` the first failure rejects every pending send and closes
 * the sender.
 *
 * @example
 * const sender = createSender<Order>((orders) =>
 *   orders.pipe(serialize('orders', json()), key((o) => o.id), partition(transport), batch({ lingerMs: 1 }),
 *     toKafka(transport, { onError: 'report' })))
 * const report = await sender.send({ id: 'o-1', total: 12 })
 * console.log(report.partition, report.offset)
 * await sender.close()
 */
export function createSender<T>(pipeline: (events: Observable<T>) => Observable<DeliveryReport<T>>): Sender<T> {
  const events = new Subject<T>()
  // Reports come back by source; the same event sent twice settles in the order it was sent.
  const pending = new Map<T, Array<{ resolve: (r: Delivered<T>) => void; reject: (e: unknown) => void }>>()
  let ended: { error?: unknown } | undefined
  let closing = false
  let onEnd: () => void = () => undefined
  const done = new Promise<void>((resolve) => (onEnd = resolve))

  const settleAll = (error: unknown): void => {
    for (const waiters of pending.values()) for (const waiter of waiters) waiter.reject(error)
    pending.clear()
  }
  pipeline(events.asObservable()).subscribe({
    next(report) {
      const waiters = pending.get(report.source)
      const waiter = waiters?.shift()
      if (waiters !== undefined && waiters.length === 0) pending.delete(report.source)
      if (waiter === undefined) return
      if (report.status === 'delivered') waiter.resolve(report)
      else waiter.reject(report.error)
    },
    error(error) {
      ended = { error }
      settleAll(error)
      onEnd()
    },
    complete() {
      ended = {}
      settleAll(new ProducerClosedError('The pipeline completed before this event was reported'))
      onEnd()
    },
  })

  const send = (event: T): Promise<Delivered<T>> => {
    if (ended !== undefined || closing) return Promise.reject(ended?.error ?? new ProducerClosedError('The sender is closed'))
    return new Promise<Delivered<T>>((resolve, reject) => {
      const waiters = pending.get(event)
      if (waiters === undefined) pending.set(event, [{ resolve, reject }])
      else waiters.push({ resolve, reject })
      events.next(event)
    })
  }
  return {
    send,
    sendAll: (list) => Promise.all(list.map(send)),
    close: () => {
      closing = true
      events.complete()
      return done
    },
  }
}
