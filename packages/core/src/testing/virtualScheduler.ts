import { Subscription, type SchedulerAction, type SchedulerLike } from 'rxjs'

/** One scheduled piece of work. */
interface Scheduled {
  /** Virtual time it is due at. */
  readonly at: number
  /** Order of scheduling, so that work due at the same time runs first-come. */
  readonly order: number
  readonly run: () => void
}

/**
 * A scheduler on a virtual clock for code that mixes timers and promises (the sink awaits its transport),
 * which RxJS's `TestScheduler` cannot run: its flush is synchronous, so promise callbacks never run between
 * two timers. `advance(ms)` runs due work in time order and lets every pending promise callback run before
 * the next, so a retry's backoff, a delivery deadline or a close timeout take no wall-clock time.
 *
 * @example
 * const clock = new VirtualScheduler()
 * const sink = new KafkaSink(new MemoryTransport({ topics: { t: 1 }, scheduler: clock }), { scheduler: clock })
 * await clock.advance(120_000) // the default delivery deadline passes at once
 */
export class VirtualScheduler implements SchedulerLike {
  #now = 0
  #order = 0
  #queue: Scheduled[] = []

  now(): number {
    return this.#now
  }

  schedule<S>(work: (this: SchedulerAction<S>, state?: S) => void, delay = 0, state?: S): Subscription {
    const subscription = new Subscription(() => {
      this.#queue = this.#queue.filter((entry) => entry !== scheduled)
    })
    const action = Object.assign(subscription, {
      schedule: (next?: S, nextDelay = 0): Subscription => this.schedule(work, nextDelay, next),
    }) as unknown as SchedulerAction<S>
    const scheduled: Scheduled = { at: this.#now + Math.max(0, delay), order: this.#order++, run: () => work.call(action, state) }
    this.#queue.push(scheduled)
    return subscription
  }

  /** Moves the clock `ms` on, running what falls due in order; promise callbacks run before each step. */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms
    for (;;) {
      await settlePromises()
      const next = this.#earliest()
      if (next === undefined || next.at > end) break
      this.#queue = this.#queue.filter((entry) => entry !== next)
      this.#now = next.at
      next.run()
    }
    this.#now = end
    await settlePromises()
  }

  /** Advances until `done` settles (at most `limitMs` of virtual time), returning its outcome. */
  async until<V>(done: Promise<V>, limitMs = 10 * 60_000): Promise<V> {
    let finished = false
    void done.then(
      () => (finished = true),
      () => (finished = true),
    )
    const limit = this.#now + limitMs
    for (let idle = 0; !finished; ) {
      const next = this.#earliest()
      if (next === undefined) {
        // Nothing is due: only promise callbacks (or real I/O) can move it on.
        if (++idle > 100) throw new Error(`VirtualScheduler.until: nothing scheduled at ${this.#now} ms and the promise is still pending`)
        await settlePromises()
        continue
      }
      idle = 0
      if (next.at > limit) throw new Error(`VirtualScheduler.until: still pending after ${limitMs} ms of virtual time`)
      await this.advance(Math.max(next.at - this.#now, 0))
    }
    return done
  }

  #earliest(): Scheduled | undefined {
    let earliest: Scheduled | undefined
    for (const entry of this.#queue) if (earliest === undefined || entry.at < earliest.at || (entry.at === earliest.at && entry.order < earliest.order)) earliest = entry
    return earliest
  }
}

/** Lets every promise callback that is ready run (one macrotask turn). */
function settlePromises(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}
