import { Writable } from 'node:stream'
import { identity, Subject, type Observable, type OperatorFunction, type Subscription } from 'rxjs'
import { DeliveryFailedError, InvalidOptionError, ProducerClosedError, TopicflowError, messageOf } from './errors.js'
import { functionOption, integerOption } from './options.js'
import type { DeliveryReport, OutgoingRecord, RecordBatch } from './records.js'
import type { PullSourceHandle } from './sink/budget.js'
import { KafkaSink } from './sink/kafkaSink.js'

/** Options of `toWritable`. */
export interface ToWritableOptions<T> {
  /**
   * Called with every delivery report, in the order the sink settles records (after `reports`, if
   * given). A throw destroys the stream with that error.
   */
  readonly onReport?: (report: DeliveryReport<T>) => void
  /**
   * Operators over the sink's reports before the Writable counts them, e.g. a dead-letter queue's
   * `dlq.reports()` (with the sink's `onError: 'report'`): a `dead-lettered` report is handled, a
   * `failed` one fails the stream. Default none.
   */
  readonly reports?: OperatorFunction<DeliveryReport<T>, DeliveryReport<T>>
  /**
   * Events Node buffers in front of the Writable before `write()` returns false. The sink's
   * `pullAheadBytes` is what bounds memory (the Writable holds its write callback while the sink has no
   * room); this only adds slack of that many events, and a larger one gains no throughput since the sink
   * already holds megabytes of records. Default 16, Node's own for object mode.
   */
  readonly highWaterMark?: number
}

/** What a `toWritable` stream counts, live: enough for a ledger at the end (written = delivered + failed + deadLettered). */
export interface WritableCounts {
  /** Events handed to the operators. */
  readonly written: number
  /** Records acknowledged. */
  readonly delivered: number
  /** Records reported `failed` (each one also fails the stream). */
  readonly failed: number
  /** Records written to a dead-letter topic instead (`reports: dlq.reports()`). */
  readonly deadLettered: number
  /** Times a write waited for the sink to have room: the sink's backpressure reaching Node's. */
  readonly roomWaits: number
}

/** The Writable `toWritable` returns: a Node object-mode Writable, with its counts. */
export interface KafkaWritable extends Writable {
  /** Live counts of what it took and how each record ended. */
  readonly counts: WritableCounts
}

/**
 * A Node object-mode `Writable` over a `KafkaSink`: each written event goes through `operators` (from the
 * events to records or batches: serialize, key, partition, batch…) into `sink`, so `stream.pipeline`
 * produces to Kafka with Node's backpressure. A write's callback is held while the sink has no room
 * (`sink.hasRoom()`), so `write()` returns false and the readable pauses: memory stays bounded whatever
 * the input size. The stream finishes only once the sink has reported every record.
 *
 * - A write's callback means the event was taken; its delivery is its report (`onReport`).
 * - The sink's run failing (`DeliveryFailedError` in `onError: 'fail'` mode, `UnknownTopicError`, a
 *   connection error…) destroys the stream with that error. A `failed` report (`onError: 'report'`) is a
 *   record not delivered: the Writable takes no more events, lets the sink settle what it holds, and then
 *   fails the stream with a `DeliveryFailedError` naming every failed event; `dead-lettered` reports
 *   (`reports: dlq.reports()`) are handled and do not fail it.
 * - `sink.close()` (or `drainOnSignal`) makes it take no more events: the sink drains, and a later write
 *   fails the stream with `ProducerClosedError` (the readable was not read to its end).
 * - `destroy()` (the pipeline failing upstream) unsubscribes: nothing more is sent or reported.
 *
 * @example
 * import { createReadStream } from 'node:fs'
 * import { createInterface } from 'node:readline'
 * import { Readable } from 'node:stream'
 * import { pipeline } from 'node:stream/promises'
 * import { batch, KafkaSink, partition, serialize, string, toWritable } from '@topicflow/core'
 * import { wireTransport } from '@topicflow/wire'
 *
 * const transport = wireTransport({ brokers: ['127.0.0.1:9092'] })
 * const sink = new KafkaSink<string>(transport)
 * const kafka = toWritable(sink, (lines) => lines.pipe(serialize<string>('lines', string()), partition(sink), batch()))
 * await pipeline(Readable.from(createInterface({ input: createReadStream('lines.txt') })), kafka)
 * console.log(kafka.counts.delivered, 'lines acknowledged')
 * await transport.close()
 */
export function toWritable<T>(
  sink: KafkaSink<T>,
  operators: (events: Observable<T>) => Observable<RecordBatch<T> | OutgoingRecord<T>>,
  options: ToWritableOptions<T> = {},
): KafkaWritable {
  if (!(sink instanceof KafkaSink)) throw new InvalidOptionError('toWritable.sink', 'a KafkaSink', sink)
  functionOption('toWritable.operators', operators)
  if (options.onReport !== undefined) functionOption('toWritable.onReport', options.onReport)
  if (options.reports !== undefined) functionOption('toWritable.reports', options.reports)
  const highWaterMark = integerOption('toWritable.highWaterMark', options.highWaterMark, 16, 1)
  return new SinkWritable<T>(sink, operators, options.reports ?? identity, options.onReport, highWaterMark)
}

/** A write callback the Writable holds, and whether its events were taken (they were, unless the Writable had stopped taking). */
interface HeldWrite {
  readonly callback: (error?: Error | null) => void
  readonly taken: boolean
}

class SinkWritable<T> extends Writable implements KafkaWritable {
  readonly counts = { written: 0, delivered: 0, failed: 0, deadLettered: 0, roomWaits: 0 }
  readonly #events = new Subject<T>()
  /** Attached as a pull source: a full buffer pauses the writes instead of raising `BufferExhaustedError`, and a failing run asks to drain. */
  readonly #room: PullSourceHandle
  readonly #onReport: ((report: DeliveryReport<T>) => void) | undefined
  /** Unset only while subscribing: a run that ends inside subscribe() finds none to unsubscribe. */
  readonly #subscription: Subscription | undefined
  /** False once the events are completed (end of input, a stop, a failed report) or the run ended. */
  #taking = true
  /** Node writes one chunk (or one `writev`) at a time, so at most one callback is held. */
  #held: HeldWrite | undefined
  /** `final()`'s callback, held until the sink has reported every record. */
  #finalCallback: ((error?: Error | null) => void) | undefined
  /** How the sink's run ended, once it has: its error, or undefined for a completion. */
  #ended: { readonly error: Error | undefined } | undefined
  /** The first `failed` report's error and every failed event, for the stream's `DeliveryFailedError`. */
  #failure: TopicflowError | undefined
  readonly #failedSources: unknown[] = []

  constructor(
    sink: KafkaSink<T>,
    operators: (events: Observable<T>) => Observable<RecordBatch<T> | OutgoingRecord<T>>,
    reports: OperatorFunction<DeliveryReport<T>, DeliveryReport<T>>,
    onReport: ((report: DeliveryReport<T>) => void) | undefined,
    highWaterMark: number,
  ) {
    super({ objectMode: true, highWaterMark })
    this.#onReport = onReport
    this.#room = sink.attachPullSource()
    this.#subscription = operators(this.#events.asObservable())
      .pipe(sink.operator(), reports)
      .subscribe({
        next: (report) => this.#report(report),
        error: (error: unknown) => this.#runEnded(asError(error)),
        complete: () => this.#runEnded(undefined),
      })
    // A run that ended inside subscribe() destroyed the stream before the subscription was known.
    if (this.destroyed) this.#subscription.unsubscribe()
  }

  override _write(chunk: T, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (!this.#canTake()) return this.#hold({ callback, taken: false })
    this.counts.written++
    this.#events.next(chunk)
    this.#afterTaken(callback)
  }

  // Node hands over everything it buffered while a callback was held: one call, one room check.
  override _writev(chunks: Array<{ chunk: T; encoding: BufferEncoding }>, callback: (error?: Error | null) => void): void {
    if (!this.#canTake()) return this.#hold({ callback, taken: false })
    for (const { chunk } of chunks) {
      // A run that ended (an operator threw) or a failed report, synchronously, mid-way: the rest is not
      // taken and the stream is failing, so the callback waits for its error like a refused write's.
      if (!this.#taking) return this.#hold({ callback, taken: false })
      this.counts.written++
      this.#events.next(chunk)
    }
    this.#afterTaken(callback)
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#finalCallback = callback
    this.#stopTaking()
    // The run may have ended before (the sink closed and drained), or at once, inside the completion.
    if (this.#ended !== undefined) this.#settle()
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#taking = false
    this.#finalCallback = undefined
    this.#subscription?.unsubscribe()
    this.#room.detach()
    const held = this.#held
    this.#held = undefined
    if (held !== undefined) held.callback(held.taken ? null : (error ?? new ProducerClosedError('The Writable was destroyed: this event was not taken')))
    callback(error)
  }

  /** True while events may go to the sink; a stop the sink asked for (closing, or a failed run draining) is seen here. */
  #canTake(): boolean {
    if (this.#taking && this.#room.stopRequested) this.#stopTaking()
    return this.#taking
  }

  /** Completes the events: the operators flush what they hold, and the sink's run ends once it has settled it. */
  #stopTaking(): void {
    if (!this.#taking) return
    this.#taking = false
    this.#events.complete()
  }

  /** The events of `callback` are in the operators: call back now if the sink has room, else once it has. */
  #afterTaken(callback: (error?: Error | null) => void): void {
    // Stopped or ended: the events' fate is in the reports and the stream's end, not in this callback.
    if (!this.#canTake() || this.#room.hasRoom()) return callback()
    this.counts.roomWaits++
    const held: HeldWrite = { callback, taken: true }
    this.#held = held
    // whenRoom also resolves on a stop; a destroy in between released the callback already.
    void this.#room.whenRoom().then(() => {
      if (this.#held !== held) return
      this.#held = undefined
      this.#afterTaken(callback)
    })
  }

  /** Holds a write that came after the Writable stopped taking: the run's end decides the stream's error. */
  #hold(held: HeldWrite): void {
    this.#held = held
    if (this.#ended !== undefined) this.#settle()
  }

  #report(report: DeliveryReport<T>): void {
    if (report.status === 'delivered') this.counts.delivered++
    else if (report.status === 'dead-lettered') this.counts.deadLettered++
    else this.counts.failed++
    try {
      this.#onReport?.(report)
    } catch (error) {
      this.destroy(asError(error))
      return
    }
    if (report.status !== 'failed') return
    this.#failure ??= report.error
    this.#failedSources.push(report.source)
    // The stream will fail: take no more, and let the sink settle (and report) what it already holds.
    this.#stopTaking()
  }

  #runEnded(error: Error | undefined): void {
    this.#taking = false
    this.#room.detach()
    this.#ended = { error }
    this.#settle()
  }

  /** After the run ended: ends the stream with its outcome, or, when it completed fine, waits for `final()` or a write it refuses. */
  #settle(): void {
    const held = this.#held
    const error =
      this.#ended?.error ??
      (this.#failure === undefined ? undefined : new DeliveryFailedError(this.#failure, this.#failedSources, [])) ??
      (held !== undefined && !held.taken ? new ProducerClosedError("The sink's run ended (the sink was closed): the Writable takes no more events") : undefined)
    const final = this.#finalCallback
    this.#finalCallback = undefined
    // Either way the stream is destroyed, and _destroy releases a held write.
    if (error !== undefined) return final === undefined ? void this.destroy(error) : final(error)
    if (final !== undefined) return final()
    // The sink was closed and drained before the input ended: the next write is refused.
    if (held !== undefined) {
      this.#held = undefined
      held.callback()
    }
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new TopicflowError(messageOf(error), { cause: error })
}
