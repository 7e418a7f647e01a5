import type { Observable, Observer, Subscription } from 'rxjs'
import type { SinkBudget } from './budget.js'
import type { RunTimers } from './runTimers.js'

/** How upstream ended: completed, errored, or (`failed: false`) cut off by the run. */
export interface UpstreamEnd {
  readonly error?: unknown
  readonly failed: boolean
}

/**
 * A run's subscription to what feeds it, and the two ways to stop it: ask the pull sources to stop, so
 * that what the operators hold flushes to the sink (bounded by `drainMs`), or cut it off.
 */
export class Upstream<T> {
  /** How it ended, once it has. */
  end: UpstreamEnd | undefined
  #subscription: Subscription | undefined
  /** Set once cut off; a synchronous source still emitting inside `subscribe()` is unsubscribed right after. */
  #cut = false
  /** Bounds a drain (`maxBlockMs`): cut off when it passes. */
  #drainTimer: Subscription | undefined

  subscribe(source: Observable<T>, observer: Observer<T>): void {
    this.#subscription = source.subscribe(observer)
    if (this.#cut) this.#subscription.unsubscribe()
  }

  /** Pull sources are asked to stop; a push source (none attached) is cut off at once. `onCut` runs if the drain outlasts `drainMs`. */
  stop(budget: SinkBudget, timers: RunTimers, drainMs: number, onCut: () => void): void {
    if (this.#cut || this.#drainTimer !== undefined || this.end !== undefined) return
    if (!budget.stopPullSources()) return this.cut()
    this.#drainTimer = timers.after(drainMs, () => {
      this.cut()
      onCut()
    })
  }

  cut(): void {
    this.#cut = true
    this.#drainTimer?.unsubscribe()
    this.#subscription?.unsubscribe()
    this.end ??= { failed: false }
  }

  /** Unsubscribes without marking an end (the run is torn down). */
  unsubscribe(): void {
    this.#drainTimer?.unsubscribe()
    this.#subscription?.unsubscribe()
  }
}
