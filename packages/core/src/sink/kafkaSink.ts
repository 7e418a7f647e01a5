import { Observable, type OperatorFunction } from 'rxjs'
import { exponential, type Backoff } from '../backoff.js'
import { InvalidOptionError, KafkaConnectionError, ProducerClosedError, messageOf } from '../errors.js'
import { integerOption } from '../options.js'
import type { DeliveryReport } from '../records.js'
import type { PartitionCountOptions, ProducerSession, Transport } from '../transport.js'
import type { SinkInput } from './batches.js'
import { SinkBudget, type PullSourceHandle } from './budget.js'
import { sinkConfig, type SinkConfig, type ToKafkaOptions } from './options.js'
import type { SinkStats } from './settle.js'
import { SinkRun } from './sinkRun.js'

/** What `close()` hands back. */
export interface CloseResult {
  /** Events of the records that were not acknowledged by the deadline (queued, or in flight and so possibly landed). Never dropped: here, and as failed reports. */
  readonly undelivered: readonly unknown[]
  /** Whether every record was settled before the deadline. */
  readonly drained: boolean
}

/**
 * The Kafka sink: sends batches through a `Transport` and emits one `DeliveryReport` per record. One batch
 * in flight per partition (order holds under retries), all partitions at once; it completes only when
 * every record it accepted is acknowledged. Make one to share with a pull source (`fromAsyncIterable(it,
 * sink)`), so that the source reads only while the sink has room; or use `toKafka(transport, options)`.
 * Its parts: `SinkBudget` (memory and pull sources), `SinkRun` (one subscription and its state),
 * `PartitionLane` (one request in flight per partition), `deliverBatch` (the attempt loop) and
 * `RecordSettler` (where every record ends).
 *
 * @example
 * const sink = new KafkaSink(transport, { acks: 'all', maxBufferedBytes: 16 << 20 })
 * fromAsyncIterable(readOrders(), sink)
 *   .pipe(serialize('orders', json()), partition(sink), batch(), toKafka(sink))
 *   .subscribe({ complete: () => console.log(sink.stats) })
 */
export class KafkaSink<T> {
  readonly config: SinkConfig
  readonly stats: SinkStats = { delivered: 0, failed: 0, dropped: 0, requests: 0, retries: 0 }
  readonly #budget: SinkBudget
  /** Waits between tries of a partition whose leader could not be reached (`reconnect.backoff.*`). */
  readonly #reconnectBackoff: Backoff
  /** The subscriptions running now. */
  readonly #runs = new Set<SinkRun<unknown>>()
  /** Events handed back by a close deadline, for `close()`'s result. */
  readonly #undelivered: unknown[] = []

  constructor(
    readonly transport: Transport,
    options: ToKafkaOptions = {},
  ) {
    if (typeof transport?.openProducer !== 'function') throw new InvalidOptionError('toKafka.transport', 'a Transport', transport)
    this.config = sinkConfig(options)
    this.#budget = new SinkBudget(this.config.maxBufferedBytes, this.config.pullAheadBytes, this.config.instrumentation)
    this.#reconnectBackoff = exponential(this.config.reconnectBackoffMs, this.config.reconnectBackoffMaxMs)
  }

  /** Bytes of records accepted and not yet settled. */
  get bufferedBytes(): number {
    return this.#budget.bufferedBytes
  }

  /**
   * True while the buffer is under `pullAheadBytes` and `partition(sink)` is not holding records for a
   * topic's first metadata; pull sources read only then.
   */
  hasRoom(): boolean {
    return this.#budget.hasRoom()
  }

  /**
   * A topic's partition count from the transport's metadata. Give the sink to `partition()` (rather than
   * the transport) so that, while a topic's first lookup is under way and records wait for it, the pull
   * sources feeding this sink pause: the two share this sink, not a hidden map.
   *
   * @example
   * const sink = new KafkaSink(transport)
   * fromAsyncIterable(lines, sink).pipe(serialize('t', string()), partition(sink), batch(), toKafka(sink))
   */
  partitionCount(topic: string, options: PartitionCountOptions = {}): Promise<number> {
    // The sink owns max.block.ms: its bound, whatever the caller asked.
    const lookup = this.transport.partitionCount(topic, { timeoutMs: this.config.maxBlockMs })
    if (options.refresh !== true) this.#budget.holdFor(lookup)
    return lookup
  }

  /** Resolves once `hasRoom()` would be true, or the sink is closing. */
  whenRoom(): Promise<void> {
    return this.#budget.whenRoom()
  }

  /** True once `close()` was called: pull sources stop reading and complete, so everything upstream flushes. */
  get closing(): boolean {
    return this.#budget.closing
  }

  /**
   * Attaches a pull source to this sink: while one is attached, a full buffer pauses the source instead
   * of raising `BufferExhaustedError`, and a run that fails asks it to stop instead of cutting the
   * pipeline off, so that the events the operators hold flush to the sink and are named in the error.
   */
  attachPullSource(): PullSourceHandle {
    return this.#budget.attachPullSource()
  }

  /**
   * Shuts down gracefully: pull sources stop reading and complete (so `batch` flushes what it holds), every
   * record already taken is sent, and the sink waits for the acknowledgements up to `timeoutMs`. Then any
   * record still unacknowledged is failed with `ProducerClosedError` (a failed report in `'report'` mode,
   * part of the stream's `DeliveryFailedError` in `'fail'` mode) and its event is returned in
   * `undelivered`: nothing is dropped. Push sources should be completed by their owner (`drainOnSignal`
   * takes a callback for that).
   *
   * @example
   * process.once('SIGTERM', async () => {
   *   const { undelivered } = await sink.close({ timeoutMs: 10_000 })
   *   if (undelivered.length > 0) saveForLater(undelivered)
   * })
   */
  async close(options: { readonly timeoutMs?: number } = {}): Promise<CloseResult> {
    const timeoutMs = integerOption('close.timeoutMs', options.timeoutMs, 30_000, 0)
    this.#budget.close()
    const allDone = (): Promise<unknown> => Promise.all([...this.#runs].map((run) => run.done))
    let timer: { unsubscribe(): void } | undefined
    const timedOut = await Promise.race([
      // Runs may start while closing (a source that flushes late); wait until none is left.
      (async () => {
        while (this.#runs.size > 0) await allDone()
        return false
      })(),
      new Promise<boolean>((resolve) => (timer = this.config.scheduler.schedule(() => resolve(true), timeoutMs))),
    ])
    timer?.unsubscribe()
    if (timedOut) {
      const error = new ProducerClosedError(`The sink was closed: not acknowledged within the close timeout of ${timeoutMs} ms`)
      for (const run of this.#runs) run.abandon(error)
      await allDone()
    }
    return { undelivered: [...this.#undelivered], drained: !timedOut }
  }

  #openSession(): Promise<ProducerSession> {
    const { transport, config } = this
    return transport.openProducer({ idempotent: config.idempotence, connectTimeoutMs: config.maxBlockMs }).catch((error: unknown) => {
      // A broker that cannot be reached within max.block.ms ends the batch, as in Java's send().
      throw new KafkaConnectionError(`Cannot connect to Kafka at ${transport.brokers} within ${config.maxBlockMs} ms: ${messageOf(error)}`, { cause: error, retriable: false })
    })
  }

  /** The sink as an operator: batches (or single records) in, delivery reports out. */
  operator(): OperatorFunction<SinkInput<T>, DeliveryReport<T>> {
    return (source) =>
      new Observable<DeliveryReport<T>>((subscriber) => {
        const run = new SinkRun<T>(
          {
            config: this.config,
            maxRequestBytes: this.transport.maxRequestBytes,
            openSession: () => this.#openSession(),
            stats: this.stats,
            budget: this.#budget,
            reconnectBackoff: this.#reconnectBackoff,
            handedBack: this.#undelivered,
            ended: (ended) => this.#runs.delete(ended),
          },
          subscriber,
        )
        this.#runs.add(run as SinkRun<unknown>)
        return run.start(source)
      })
  }
}
