import { metadataLookupsSettled } from '../metadataGate.js'
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

  constructor(
    /** Most bytes a push source may have waiting (`maxBufferedBytes`). */
    readonly maxBufferedBytes: number,
    /** Where pull sources pause (`pullAheadBytes`). */
    readonly pullAheadBytes: number,
    /** The object `partition()` registers its first metadata lookups on (the sink's transport). */
    readonly metadata: object,
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
    return this.#buffered < this.pullAheadBytes && metadataLookupsSettled(this.metadata) === undefined
  }

  /** Resolves once `hasRoom()` would be true, or `stop()` is. */
  async whenRoom(stop: () => boolean = () => this.#closing): Promise<void> {
    for (;;) {
      if (stop()) return
      const lookups = metadataLookupsSettled(this.metadata)
      if (lookups !== undefined) await lookups
      else if (this.#buffered < this.pullAheadBytes) return
      else await new Promise<void>((resolve) => this.#roomWaiters.push(resolve))
    }
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
