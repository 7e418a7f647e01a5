import type { SchedulerLike, Subscription } from 'rxjs'

/** The timers of one run, on its scheduler, all cleared when the run ends. */
export class RunTimers {
  /** Timers not yet due. */
  readonly #pending = new Set<Subscription>()

  constructor(readonly scheduler: SchedulerLike) {}

  /** Runs `work` after `ms`, unless cleared first. */
  after(ms: number, work: () => void): Subscription {
    const timer = this.scheduler.schedule(() => {
      this.#pending.delete(timer)
      work()
    }, Math.max(0, ms))
    this.#pending.add(timer)
    return timer
  }

  /** Resolves after `ms` (never, if the run ends first: nothing waits on a run that ended). */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.after(ms, resolve))
  }

  /** `promise`'s outcome, or a rejection with `onTimeout()` once the clock reaches `at`; the promise runs on regardless. */
  until<V>(promise: Promise<V>, at: number, onTimeout: () => Error): Promise<V> {
    return new Promise<V>((resolve, reject) => {
      const timer = this.after(at - this.scheduler.now(), () => reject(onTimeout()))
      const settled = (): void => {
        timer.unsubscribe()
        this.#pending.delete(timer)
      }
      promise.then(
        (value) => {
          settled()
          resolve(value)
        },
        (error: unknown) => {
          settled()
          reject(error)
        },
      )
    })
  }

  clear(): void {
    for (const timer of this.#pending) timer.unsubscribe()
    this.#pending.clear()
  }
}
