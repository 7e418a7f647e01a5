import type { Observable, Subscriber } from 'rxjs'
import type { Backoff } from '../backoff.js'
import { BufferExhaustedError, TopicflowError, type ProducerClosedError } from '../errors.js'
import type { DeliveryReport, RecordBatch } from '../records.js'
import type { ProducerSession } from '../transport.js'
import { asBatch, oversizedApart, type SinkInput } from './batches.js'
import type { SinkBudget } from './budget.js'
import { deliverBatch, type BatchOutcome, type DeliveryContext } from './deliverBatch.js'
import type { SinkConfig } from './options.js'
import { PartitionLane } from './partitionLane.js'
import { RunState, canMove } from './runState.js'
import { RunFailure } from './runFailure.js'
import { RunTimers } from './runTimers.js'
import { Upstream, type UpstreamEnd } from './upstream.js'
import { RecordSettler, type SinkStats } from './settle.js'

/** What a run shares with its sink. */
export interface RunContext {
  readonly config: SinkConfig
  /** The transport's `max.request.size`. */
  readonly maxRequestBytes: number
  /** Opens a producer session for the run (its errors typed as the sink reports them). */
  readonly openSession: () => Promise<ProducerSession>
  readonly stats: SinkStats
  readonly budget: SinkBudget
  readonly reconnectBackoff: Backoff
  /** `close()`'s list of events handed back. */
  readonly handedBack: unknown[]
  /** Called once the run has ended, whichever way. */
  readonly ended: (run: SinkRun<unknown>) => void
}

/** One subscription to the sink operator: its lanes, its producer session, its state. */
export class SinkRun<T> {
  #state = RunState.Open
  /** One lane per topic-partition seen. */
  readonly #lanes = new Map<string, PartitionLane<T>>()
  /** Batches in flight across all lanes. */
  #inFlight = 0
  /** Set by the first fatal failure (`'fail'` mode): what the stream's error must name. */
  #failure: RunFailure<T> | undefined
  readonly #upstream = new Upstream<SinkInput<T>>()
  /** The close deadline's error, once abandoned: batches arriving later are handed back with it. */
  #abandonedBy: ProducerClosedError | undefined
  readonly #timers: RunTimers
  /** What every batch's attempt loop is given: the same for the whole run, so made once. */
  readonly #delivery: DeliveryContext
  #session: Promise<ProducerSession> | undefined
  readonly #settler: RecordSettler<T>
  #markDone: () => void = () => undefined
  /** Resolves once the run has ended (for `close()`). */
  readonly done = new Promise<void>((resolve) => (this.#markDone = resolve))

  constructor(
    readonly context: RunContext,
    readonly subscriber: Subscriber<DeliveryReport<T>>,
  ) {
    this.#settler = new RecordSettler<T>(context.stats, context.config.instrumentation, (report) => subscriber.next(report), context.handedBack)
    this.#timers = new RunTimers(context.config.scheduler)
    this.#delivery = {
      config: context.config,
      session: () => (this.#session ??= context.openSession()),
      reconnectBackoff: context.reconnectBackoff,
      countRequest: (attempt) => this.#settler.countRequest(attempt),
      cancelled: () => this.#state === RunState.Abandoned || this.#state === RunState.Finished,
      sleep: (ms) => this.#timers.sleep(ms),
      until: (promise, at, onTimeout) => this.#timers.until(promise, at, onTimeout),
    }
  }

  /** Every change of state goes through here; a move the life cycle does not allow is refused (false). */
  #moveTo(next: RunState): boolean {
    if (!canMove(this.#state, next)) return false
    this.#state = next
    return true
  }

  /** Subscribes to `source`; returns the teardown. */
  start(source: Observable<SinkInput<T>>): () => void {
    this.#upstream.subscribe(source, {
      next: (item) => {
        try {
          this.#accept(item)
        } catch (error) {
          this.subscriber.error(error)
        }
      },
      error: (error: unknown) => this.#upstreamEnded({ error, failed: true }),
      complete: () => this.#upstreamEnded({ failed: false }),
    })
    return () => this.#teardown()
  }

  /** A close deadline passed: hand back everything in flight or queued, cut upstream off, end. */
  abandon(error: ProducerClosedError): void {
    if (!this.#moveTo(RunState.Abandoned)) return
    this.#abandonedBy = error
    for (const lane of this.#lanes.values()) {
      if (lane.inFlight !== undefined) this.#handBack(lane.inFlight, error)
      for (const queued of lane.drain()) {
        this.#handBack(queued, error)
        this.context.budget.release(queued.sizeBytes)
      }
    }
    this.#inFlight = 0
    this.#upstream.cut()
    this.#maybeComplete()
  }

  get #sending(): boolean {
    return this.#state === RunState.Open || this.#state === RunState.Draining
  }

  #accept(item: SinkInput<T>): void {
    const incoming = asBatch(item, this.context.config.scheduler)
    if (this.#abandonedBy !== undefined) return this.#handBack(incoming, this.#abandonedBy)
    // An operator that could not prepare the batch (a codec function that threw) hands it on failed.
    if (incoming.failure !== undefined) {
      this.#fail(incoming, incoming.failure)
      return this.#maybeComplete()
    }
    if (this.#failure !== undefined) {
      for (const record of incoming.records) this.#failure.unsent.push(record)
      return
    }
    const { config, budget } = this.context
    const { kept, tooLarge } = oversizedApart(incoming, this.context.maxRequestBytes)
    for (const { batch, error } of tooLarge) this.#fail(batch, error)
    if (kept === undefined || !this.#sending) return this.#maybeComplete()
    if (!budget.reserve(kept.sizeBytes)) {
      const error = new BufferExhaustedError(config.maxBufferedBytes, { topic: kept.topic, partition: kept.partition, sources: kept.records.map((r) => r.source) })
      if (config.onBufferFull === 'drop') return this.#settler.settle(kept.records, kept, { kind: 'dropped', error })
      // A push source overran the buffer: the stream fails, whatever onError says.
      this.#failStream(kept, error)
      return this.#maybeComplete()
    }
    const id = `${kept.topic}\u0000${kept.partition}`
    let lane = this.#lanes.get(id)
    if (lane === undefined) this.#lanes.set(id, (lane = new PartitionLane<T>()))
    lane.queue.push(kept)
    this.#pump(lane)
  }

  /** Sends the lane's next batch if none is in flight. */
  #pump(lane: PartitionLane<T>): void {
    if (!this.#sending) return
    const next = lane.takeNext(this.context.maxRequestBytes)
    if (next === undefined) return
    this.#inFlight++
    void deliverBatch(next, this.#delivery).then((outcomes) => this.#delivered(lane, next, outcomes))
  }

  #delivered(lane: PartitionLane<T>, sent: RecordBatch<T>, outcomes: readonly BatchOutcome<T>[]): void {
    this.context.budget.release(sent.sizeBytes)
    if (this.#state === RunState.Abandoned || this.#state === RunState.Finished) return
    lane.inFlight = undefined
    this.#inFlight--
    for (const outcome of outcomes) {
      if ('ack' in outcome) this.#settler.settle(outcome.batch.records, outcome.batch, { kind: 'delivered', ack: outcome.ack })
      else this.#fail(outcome.batch, outcome.error)
    }
    this.#pump(lane)
    this.#maybeComplete()
  }

  /** A batch failed for good: a failed report each (`'report'`), or the stream fails naming them (`'fail'`). */
  #fail(batch: RecordBatch<T>, error: TopicflowError): void {
    if (this.context.config.onError === 'report') return this.#settler.settle(batch.records, batch, { kind: 'failed', error, emit: true })
    this.#failStream(batch, error)
  }

  #failStream(batch: RecordBatch<T>, error: TopicflowError): void {
    this.#settler.settle(batch.records, batch, { kind: 'failed', error, emit: false })
    this.#failedFor(error).failed(batch.records)
  }

  /** The run's failure, begun by `error` if this is the first: nothing more is sent, and upstream is asked to drain. */
  #failedFor(error: TopicflowError): RunFailure<T> {
    if (this.#failure !== undefined) return this.#failure
    this.#failure = new RunFailure<T>(error)
    this.#moveTo(RunState.Failing)
    // Pull sources drain what the operators hold (bounded by maxBlockMs, the longest an operator waits for metadata).
    this.#upstream.stop(this.context.budget, this.#timers, this.context.config.maxBlockMs, () => this.#maybeComplete())
    return this.#failure
  }

  #handBack(batch: RecordBatch<T>, error: ProducerClosedError): void {
    const emit = this.context.config.onError === 'report'
    this.#settler.settle(batch.records, batch, { kind: 'handed back', error, emit })
    if (!emit) this.#failedFor(error).failed(batch.records)
  }

  #upstreamEnded(end: UpstreamEnd): void {
    this.#upstream.end = end
    if (this.#failure !== undefined && end.error instanceof TopicflowError) this.#failure.upstreamSources = end.error.sources
    this.#moveTo(RunState.Draining)
    this.#maybeComplete()
  }

  /** The one place a run decides it is done, and how it ends. */
  #maybeComplete(): void {
    if (this.#state === RunState.Finishing || this.#state === RunState.Finished || this.#inFlight > 0 || this.#upstream.end === undefined) return
    if (this.#failure !== undefined) {
      this.#upstream.cut()
      const unsent = [...this.#failure.unsent]
      for (const lane of this.#lanes.values()) {
        for (const queued of lane.drain()) {
          for (const record of queued.records) unsent.push(record)
          this.context.budget.release(queued.sizeBytes)
        }
      }
      const error = this.#failure.toError(unsent)
      for (const record of unsent) this.#settler.settle([record], { topic: record.topic, partition: record.partition }, { kind: 'failed', error, emit: false })
      return this.#finish(() => this.subscriber.error(error))
    }
    for (const lane of this.#lanes.values()) if (lane.queue.length > 0) return
    const end = this.#upstream.end
    this.#finish(() => (end.failed ? this.subscriber.error(end.error) : this.subscriber.complete()))
  }

  #finish(end: () => void): void {
    this.#moveTo(RunState.Finishing)
    const opened = this.#session
    this.#session = undefined
    const ended = (): void => {
      this.#moveTo(RunState.Finished)
      this.#ended()
      end()
    }
    if (opened === undefined) return ended()
    void opened.then((s) => s.close()).then(ended, ended)
  }

  #teardown(): void {
    const wasFinishing = this.#state === RunState.Finishing || this.#state === RunState.Finished
    this.#moveTo(RunState.Finished)
    this.#ended()
    this.#upstream.unsubscribe()
    this.#timers.clear()
    for (const lane of this.#lanes.values()) for (const queued of lane.drain()) this.context.budget.release(queued.sizeBytes)
    if (!wasFinishing) void this.#session?.then((s) => s.close()).catch(() => undefined)
  }

  #ended(): void {
    this.context.ended(this as SinkRun<unknown>)
    this.#markDone()
  }
}
