import type { SinkInstrumentation } from './options.js'

/**
 * A pull source attached to a sink (`attachPullSource`): it reads only while `hasRoom()`, and stops once
 * `stopRequested` (the sink is closing, or a run failed and is draining what the operators hold).
 */
export interface PullSourceHandle {
  /** True while the sink has room for more and the source should read on. */
  hasRoom(): boolean
  /** Resolves once `hasRoom()` would be true, or a stop was requested. */
  whenRoom(): Promise<void>
  /** The source should read no more and complete, so that everything upstream of the sink flushes. */
  readonly stopRequested: boolean
  /** Detaches the source (once read to its end, or unsubscribed); a second call does nothing. */
  detach(): void
}

/**
 * The sink's memory and its pull sources: bytes accepted and not yet settled (Java's `buffer.memory`),
 * whether a pull source may read on, and the sources to wake or stop. Shared by every run of one sink.
 */
export class SinkBudget {
  /** Bytes of records accepted and not yet settled. */
  #buffered = 0
  /** Set once the sink is closing: every pull source stops, whatever its own flag. */
  #closing = false
  /** Stop flags of the pull sources attached now; a failed run sets them to drain what was read. */
  readonly #pullSources = new Set<{ stopRequested: boolean }>()
  /** Pull sources waiting for room (or for a stop). */
  #roomWaiters: Array<() => void> = []
  /** First metadata lookups of topics under way: records wait for them inside `partition()`, so pull sources pause. */
  readonly #lookups = new Set<Promise<void>>()

  constructor(
    /** Most bytes a push source may have waiting (`maxBufferedBytes`). */
    readonly maxBufferedBytes: number,
    /** Where pull sources pause (`pullAheadBytes`). */
    readonly pullAheadBytes: number,
    readonly instrumentation: SinkInstrumentation | undefined,
  ) {}

  get bufferedBytes(): number {
    return this.#buffered
  }

  get closing(): boolean {
    return this.#closing
  }

  /** True while the buffer is under `pullAheadBytes` and no first metadata lookup holds records. */
  hasRoom(): boolean {
    return this.#buffered < this.pullAheadBytes && this.#lookups.size === 0
  }

  /** Resolves once `hasRoom()` would be true, or `stop()` is. */
  async whenRoom(stop: () => boolean = () => this.#closing): Promise<void> {
    for (;;) {
      if (stop()) return
      if (this.#lookups.size > 0) await Promise.all(this.#lookups)
      else if (this.#buffered < this.pullAheadBytes) return
      else await new Promise<void>((resolve) => this.#roomWaiters.push(resolve))
    }
  }

  /** Pauses pull sources until `lookup` settles (a topic's first metadata, which records wait for). */
  holdFor(lookup: Promise<unknown>): void {
    const settled = lookup.then(
      () => undefined,
      () => undefined,
    )
    this.#lookups.add(settled)
    void settled.then(() => {
      this.#lookups.delete(settled)
      this.#wake()
    })
  }

  /** Takes `bytes` into the buffer; false when a push source would overrun `maxBufferedBytes` (pull sources pause instead). */
  reserve(bytes: number): boolean {
    if (this.#pullSources.size === 0 && this.#buffered > 0 && this.#buffered + bytes > this.maxBufferedBytes) return false
    this.#buffered += bytes
    this.instrumentation?.buffered?.(bytes)
    return true
  }

  release(bytes: number): void {
    this.#buffered -= bytes
    this.instrumentation?.buffered?.(-bytes)
    if (this.#roomWaiters.length > 0 && this.#buffered < this.pullAheadBytes) this.#wake()
  }

  attachPullSource(): PullSourceHandle {
    const flag = { stopRequested: false }
    this.#pullSources.add(flag)
    const stop = (): boolean => flag.stopRequested || this.#closing
    return {
      hasRoom: () => this.hasRoom(),
      whenRoom: () => this.whenRoom(stop),
      get stopRequested() {
        return stop()
      },
      detach: () => {
        this.#pullSources.delete(flag)
      },
    }
  }

  /** Asks every attached pull source to stop; false when none is attached (a push source must be cut off). */
  stopPullSources(): boolean {
    if (this.#pullSources.size === 0) return false
    for (const flag of this.#pullSources) flag.stopRequested = true
    this.#wake()
    return true
  }

  /** The sink is closing: every pull source, attached now or later, stops. */
  close(): void {
    this.#closing = true
    this.#wake()
  }

  #wake(): void {
    const waiters = this.#roomWaiters
    this.#roomWaiters = []
    for (const wake of waiters) wake()
  }
}
