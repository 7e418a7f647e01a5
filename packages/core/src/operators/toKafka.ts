import { Observable, type OperatorFunction } from 'rxjs'
import { exponential, type Backoff } from '../backoff.js'
import {
  BrokerUnavailableError,
  BufferExhaustedError,
  DeliveryFailedError,
  DeliveryTimeoutError,
  InvalidOptionError,
  KafkaConnectionError,
  ProducerClosedError,
  RecordTooLargeError,
  TopicflowError,
  messageOf,
  withSources,
} from '../errors.js'
import { integerOption, oneOfOption } from '../options.js'
import {
  RECORD_BATCH_OVERHEAD_BYTES,
  recordSizeBytes,
  type DeliveryReport,
  type OutgoingRecord,
  type RecordBatch,
} from '../records.js'
import type { AcksLevel, ProduceAck, ProduceRequest, ProducerSession, Transport } from '../transport.js'
import { DEFAULT_RETRY_POLICY } from './retry.js'
import { metadataLookupsSettled } from '../metadataGate.js'
import { withTimeout } from '../timeouts.js'

/** Options of the sink; immutable once the sink is made. Names and defaults follow the Java producer. */
export interface ToKafkaOptions {
  /** `0` (no answer), `1` (leader), `'all'` or `-1` (all in-sync replicas). Default `'all'`. */
  readonly acks?: 0 | 1 | -1 | 'all'
  /** Idempotent producer: retries never duplicate (`enable.idempotence`). Default true when acks is all; requires it. */
  readonly idempotence?: boolean
  /** Most bytes waiting or in flight (Java's `buffer.memory`). Default 33554432 (32 MiB). */
  readonly maxBufferedBytes?: number
  /**
   * How far a pull source (`fromAsyncIterable`, `fromReadable`) reads ahead of the acknowledgements, in
   * buffered bytes: it pauses at this mark, not at `maxBufferedBytes`. Every pending record also holds its
   * event and a few objects, several times its bytes, so reading the whole buffer ahead costs memory and
   * latency and gains no throughput once the next requests are full (reactor-kafka's `maxInFlight`, in
   * bytes). Default 4194304 (4 MiB) or `maxBufferedBytes` if smaller.
   */
  readonly pullAheadBytes?: number
  /** When a push source overruns the buffer: `'error'` (BufferExhaustedError, default) or `'drop'` (failed reports, counted in `stats.dropped`). */
  readonly onBufferFull?: 'error' | 'drop'
  /** When a record fails for good: `'fail'` stops the stream with `DeliveryFailedError` (default); `'report'` emits a failed report and goes on. */
  readonly onError?: 'fail' | 'report'
  /** How long the broker may wait for replicas, and the client for the answer (`request.timeout.ms`). Default 30000. */
  readonly requestTimeoutMs?: number
  /** Largest produce request; a larger record fails with RecordTooLargeError (`max.request.size`). Default 1048576. */
  readonly maxRequestBytes?: number
  /**
   * Longest wait to connect at the start (`max.block.ms`); also how long a failed run waits for its pull
   * sources to stop and for what the operators hold to flush, so that it can name every event. Default 60000.
   */
  readonly maxBlockMs?: number
  /**
   * Wait before trying again a partition whose leader could not be reached or is not known yet
   * (`reconnect.backoff.ms`); doubles with each failed try, ±20% jitter. Such tries send nothing and spend
   * no retry; the batch's delivery deadline bounds them. Default 50.
   */
  readonly reconnectBackoffMs?: number
  /** Longest wait between those tries (`reconnect.backoff.max.ms`). Default 1000. */
  readonly reconnectBackoffMaxMs?: number
  /** Hooks for tracing and metrics (`@topicflow/otel` makes them). Default none. */
  readonly instrumentation?: SinkInstrumentation
}

/**
 * Hooks into the sink's work, for tracing and metrics; each is optional. Core knows no tracing library:
 * `@topicflow/otel` implements these with OpenTelemetry.
 */
export interface SinkInstrumentation {
  /**
   * Runs one produce request of `batch` (`attempt` counts from 1); `send` does the work and must be called
   * once. Wrap it to time it, count it, or run it inside a context.
   */
  readonly request?: (batch: RecordBatch<unknown>, attempt: number, send: () => Promise<ProduceAck>) => Promise<ProduceAck>
  /** A record is settled for good: delivered, failed, or (after the stream failed) never sent. */
  readonly settled?: (record: OutgoingRecord<unknown>, report: DeliveryReport<unknown>) => void
  /** Bytes were taken into (positive) or released from (negative) the buffer. */
  readonly buffered?: (deltaBytes: number) => void
}

/** The sink's options with every default filled in. */
export interface SinkConfig {
  readonly acks: AcksLevel
  readonly idempotence: boolean
  readonly maxBufferedBytes: number
  readonly pullAheadBytes: number
  readonly onBufferFull: 'error' | 'drop'
  readonly onError: 'fail' | 'report'
  readonly requestTimeoutMs: number
  readonly maxRequestBytes: number
  readonly maxBlockMs: number
  readonly reconnectBackoffMs: number
  readonly reconnectBackoffMaxMs: number
  readonly instrumentation: SinkInstrumentation | undefined
}

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

/** What `close()` hands back. */
export interface CloseResult {
  /** Events of the records that were not acknowledged by the deadline (queued, or in flight and so possibly landed). Never dropped: here, and as failed reports. */
  readonly undelivered: readonly unknown[]
  /** Whether every record was settled before the deadline. */
  readonly drained: boolean
}

/** Counters of a sink over all its subscriptions. */
export interface SinkStats {
  /** Records acknowledged (or sent, with acks 0). */
  delivered: number
  /** Records that failed for good. */
  failed: number
  /** Records dropped because the buffer was full (`onBufferFull: 'drop'`); also counted in `failed`. */
  dropped: number
  /** Produce requests sent, retries included (tries that could not reach a broker are not requests). */
  requests: number
  /** Attempts beyond the first. */
  retries: number
}

/**
 * The Kafka sink: sends batches through a `Transport` and emits one `DeliveryReport` per record. One batch
 * in flight per partition (order holds under retries), all partitions at once; it completes only when
 * every record it accepted is acknowledged. Make one to share with a pull source (`fromAsyncIterable(it,
 * sink)`), so that the source reads only while the sink has room; or use `toKafka(transport, options)`.
 *
 * @example
 * const sink = new KafkaSink(transport, { acks: 'all', maxBufferedBytes: 16 << 20 })
 * fromAsyncIterable(readOrders(), sink)
 *   .pipe(serialize('orders', json()), partition(transport), batch(), toKafka(sink))
 *   .subscribe({ complete: () => console.log(sink.stats) })
 */
export class KafkaSink<T> {
  readonly config: SinkConfig
  readonly stats: SinkStats = { delivered: 0, failed: 0, dropped: 0, requests: 0, retries: 0 }
  #buffered = 0
  /** Stop flags of the pull sources attached now; a failed run sets them to drain what was read. */
  readonly #pullSources = new Set<{ stopRequested: boolean }>()
  #roomWaiters: Array<() => void> = []
  #closing = false
  readonly #runs = new Set<{ readonly done: Promise<void>; abort(error: ProducerClosedError): void }>()
  readonly #undelivered: unknown[] = []
  /** Waits between tries of a partition whose leader could not be reached (`reconnect.backoff.*`). */
  readonly #reconnectBackoff: Backoff

  constructor(
    readonly transport: Transport,
    options: ToKafkaOptions = {},
  ) {
    if (typeof transport?.openProducer !== 'function') throw new InvalidOptionError('toKafka.transport', 'a Transport', transport)
    const acksOption = oneOfOption<ToKafkaOptions['acks']>('toKafka.acks', options.acks, 'all', [0, 1, -1, 'all'])
    const acks: AcksLevel = acksOption === 'all' ? -1 : (acksOption as AcksLevel)
    const idempotence = options.idempotence ?? acks === -1
    if (typeof idempotence !== 'boolean') throw new InvalidOptionError('toKafka.idempotence', 'a boolean', idempotence)
    if (idempotence && acks !== -1) throw new InvalidOptionError('toKafka.idempotence', 'false unless acks is "all" (idempotence needs acks=all)', idempotence)
    const maxBufferedBytes = integerOption('toKafka.maxBufferedBytes', options.maxBufferedBytes, 32 * 1024 * 1024, 1024)
    const reconnectBackoffMs = integerOption('toKafka.reconnectBackoffMs', options.reconnectBackoffMs, 50, 0)
    this.config = Object.freeze({
      acks,
      idempotence,
      maxBufferedBytes,
      pullAheadBytes: Math.min(maxBufferedBytes, integerOption('toKafka.pullAheadBytes', options.pullAheadBytes, 4 * 1024 * 1024, 1024)),
      onBufferFull: oneOfOption('toKafka.onBufferFull', options.onBufferFull, 'error', ['error', 'drop'] as const),
      onError: oneOfOption('toKafka.onError', options.onError, 'fail', ['fail', 'report'] as const),
      requestTimeoutMs: integerOption('toKafka.requestTimeoutMs', options.requestTimeoutMs, 30_000, 1),
      maxRequestBytes: integerOption('toKafka.maxRequestBytes', options.maxRequestBytes, 1_048_576, 1024),
      maxBlockMs: integerOption('toKafka.maxBlockMs', options.maxBlockMs, 60_000, 1),
      reconnectBackoffMs,
      reconnectBackoffMaxMs: integerOption('toKafka.reconnectBackoffMaxMs', options.reconnectBackoffMaxMs, Math.max(1000, reconnectBackoffMs), reconnectBackoffMs),
      instrumentation: instrumentationOption(options.instrumentation),
    })
    this.#reconnectBackoff = exponential(this.config.reconnectBackoffMs, this.config.reconnectBackoffMaxMs)
  }

  /** Bytes of records accepted and not yet settled. */
  get bufferedBytes(): number {
    return this.#buffered
  }

  /**
   * True while the buffer is under `pullAheadBytes` and `partition()` is not holding records for a
   * topic's first metadata from this sink's transport; pull sources read only then.
   */
  hasRoom(): boolean {
    return this.#buffered < this.config.pullAheadBytes && metadataLookupsSettled(this.transport) === undefined
  }

  /** Resolves once `hasRoom()` would be true, or the sink is closing. */
  whenRoom(): Promise<void> {
    return this.#whenRoom(() => this.#closing)
  }

  async #whenRoom(stop: () => boolean): Promise<void> {
    for (;;) {
      if (stop()) return
      const lookups = metadataLookupsSettled(this.transport)
      if (lookups !== undefined) await lookups
      else if (this.#buffered < this.config.pullAheadBytes) return
      else await new Promise<void>((resolve) => this.#roomWaiters.push(resolve))
    }
  }

  /** True once `close()` was called: pull sources stop reading and complete, so everything upstream flushes. */
  get closing(): boolean {
    return this.#closing
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
    this.#closing = true
    this.#wakeRoomWaiters()
    const allDone = (): Promise<unknown> => Promise.all([...this.#runs].map((run) => run.done))
    let timer: ReturnType<typeof setTimeout> | undefined
    const timedOut = await Promise.race([
      // Runs may start while closing (a source that flushes late); wait until none is left.
      (async () => {
        while (this.#runs.size > 0) await allDone()
        return false
      })(),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs))),
    ])
    clearTimeout(timer)
    if (timedOut) {
      const error = new ProducerClosedError(`The sink was closed: not acknowledged within the close timeout of ${timeoutMs} ms`)
      for (const run of this.#runs) run.abort(error)
      await allDone()
    }
    return { undelivered: [...this.#undelivered], drained: !timedOut }
  }

  /**
   * Attaches a pull source to this sink: while one is attached, a full buffer pauses the source instead
   * of raising `BufferExhaustedError`, and a run that fails asks it to stop instead of cutting the
   * pipeline off, so that the events the operators hold flush to the sink and are named in the error.
   */
  attachPullSource(): PullSourceHandle {
    const flag = { stopRequested: false }
    this.#pullSources.add(flag)
    const stop = (): boolean => flag.stopRequested || this.#closing
    return {
      hasRoom: () => this.hasRoom(),
      whenRoom: () => this.#whenRoom(stop),
      get stopRequested() {
        return stop()
      },
      detach: () => {
        this.#pullSources.delete(flag)
      },
    }
  }

  /** Asks every attached pull source to stop; false when none is attached (a push source must be cut off). */
  #stopPullSources(): boolean {
    if (this.#pullSources.size === 0) return false
    for (const flag of this.#pullSources) flag.stopRequested = true
    this.#wakeRoomWaiters()
    return true
  }

  #wakeRoomWaiters(): void {
    const waiters = this.#roomWaiters
    this.#roomWaiters = []
    for (const wake of waiters) wake()
  }

  #reserve(bytes: number): boolean {
    if (this.#pullSources.size === 0 && this.#buffered > 0 && this.#buffered + bytes > this.config.maxBufferedBytes) return false
    this.#buffered += bytes
    this.config.instrumentation?.buffered?.(bytes)
    return true
  }

  #release(bytes: number): void {
    this.#buffered -= bytes
    this.config.instrumentation?.buffered?.(-bytes)
    if (this.#roomWaiters.length > 0 && this.#buffered < this.config.pullAheadBytes) this.#wakeRoomWaiters()
  }

  /** The sink as an operator: batches (or single records) in, delivery reports out. */
  operator(): OperatorFunction<RecordBatch<T> | OutgoingRecord<T>, DeliveryReport<T>> {
    return (source) => new Observable<DeliveryReport<T>>((subscriber) => this.#run(source, subscriber))
  }

  #run(source: Observable<RecordBatch<T> | OutgoingRecord<T>>, subscriber: import('rxjs').Subscriber<DeliveryReport<T>>): () => void {
    const config = this.config
    const stats = this.stats
    interface Lane {
      readonly queue: RecordBatch<T>[]
      busy: boolean
    }
    const lanes = new Map<string, Lane>()
    const timers = new Set<ReturnType<typeof setTimeout>>()
    let active = 0
    let upstreamEnded: { error?: unknown; failed: boolean } | undefined
    let failure: TopicflowError | undefined
    const failedSources: unknown[] = []
    let closed = false
    let finishing = false
    let session: Promise<ProducerSession> | undefined
    // A synchronous source may still be emitting inside subscribe() when the sink decides to stop.
    let upstream: import('rxjs').Subscription | undefined
    let stopRequested = false
    const cutUpstream = (): void => {
      stopRequested = true
      upstream?.unsubscribe()
      upstreamEnded ??= { failed: false }
    }
    // After a failure, pull sources are asked to stop so that what the operators hold (open batches,
    // records waiting for metadata) flushes here and is named in the error; a push source is cut off.
    // The drain is bounded by maxBlockMs, the longest any operator waits for metadata.
    let drainTimer: ReturnType<typeof setTimeout> | undefined
    const stopUpstream = (): void => {
      if (stopRequested || drainTimer !== undefined || upstreamEnded !== undefined) return
      if (!this.#stopPullSources()) return cutUpstream()
      drainTimer = setTimeout(() => {
        cutUpstream()
        settle()
      }, config.maxBlockMs)
    }
    // Events named by an upstream error that ended a failed run's drain (records that never reached the sink).
    let upstreamSources: readonly unknown[] = []
    const unsentRecords: OutgoingRecord<T>[] = []
    // Batches in flight, so that a close deadline can fail them (their outcome unknown) and ignore the answer.
    const inFlight = new Set<RecordBatch<T>>()
    let abandoned: ProducerClosedError | undefined
    let markDone: () => void = () => undefined
    const run = {
      done: new Promise<void>((resolve) => (markDone = resolve)),
      abort: (error: ProducerClosedError): void => {
        if (finishing || closed) return
        abandoned = error
        for (const sent of inFlight) handBack(sent, error)
        for (const lane of lanes.values()) {
          for (const queued of lane.queue) {
            handBack(queued, error)
            this.#release(queued.sizeBytes)
          }
          lane.queue.length = 0
        }
        cutUpstream()
        active = 0
        settle()
      },
    }
    this.#runs.add(run)

    const openSession = (): Promise<ProducerSession> =>
      (session ??= this.transport
        .openProducer({ idempotent: config.idempotence, connectTimeoutMs: config.maxBlockMs })
        .catch((error: unknown) => {
          // A broker that cannot be reached within max.block.ms ends the batch, as in Java's send().
          throw new KafkaConnectionError(`Cannot connect to Kafka at ${this.transport.brokers} within ${config.maxBlockMs} ms: ${messageOf(error)}`, {
            cause: error,
            retriable: false,
          })
        }))

    const sleep = (ms: number): Promise<void> =>
      new Promise((resolve) => {
        const timer = setTimeout(() => {
          timers.delete(timer)
          resolve()
        }, ms)
        timers.add(timer)
      })

    const instrumented = config.instrumentation?.settled
    const report = (record: OutgoingRecord<T>, outcome: DeliveryReport<T>, emit: boolean): void => {
      const withRecord = outcome.status === 'failed' ? { ...outcome, record } : outcome
      if (emit) subscriber.next(withRecord)
      instrumented?.(record, withRecord)
    }

    const fail = (failedBatch: RecordBatch<T>, error: TopicflowError): void => {
      stats.failed += failedBatch.records.length
      const emit = config.onError === 'report'
      for (const record of failedBatch.records) {
        report(record, { status: 'failed', topic: failedBatch.topic, partition: failedBatch.partition, error, source: record.source }, emit)
      }
      if (emit) return
      failure ??= error
      for (const record of failedBatch.records) failedSources.push(record.source)
      stopUpstream()
    }

    // A batch the close deadline overtook: failed with the close error, its events returned by close().
    const handBack = (batch: RecordBatch<T>, error: ProducerClosedError): void => {
      fail(batch, error)
      for (const record of batch.records) this.#undelivered.push(record.source)
    }

    const typed = (error: unknown, sent: RecordBatch<T>): TopicflowError => {
      const sources = sent.records.map((r) => r.source)
      if (error instanceof RecordTooLargeError && sent.records.length === 1) {
        return new RecordTooLargeError(sent.sizeBytes, error.limitBytes, { topic: sent.topic, partition: sent.partition, sources, cause: error })
      }
      return withSources(error, error instanceof TopicflowError && error.sources.length > 0 ? [] : sources, { topic: sent.topic, partition: sent.partition })
    }

    const countRequest = (attempt: number): void => {
      stats.requests++
      if (attempt > 1) stats.retries++
    }

    const deliver = async (sent: RecordBatch<T>): Promise<void> => {
      inFlight.add(sent)
      try {
        await attemptDelivery(sent)
      } finally {
        inFlight.delete(sent)
      }
    }

    const attemptDelivery = async (sent: RecordBatch<T>): Promise<void> => {
      const policy = sent.retry ?? DEFAULT_RETRY_POLICY
      const deadline = sent.createdAt + policy.deliveryTimeoutMs
      const request: ProduceRequest = {
        topic: sent.topic,
        partition: sent.partition,
        records: sent.records,
        codec: sent.codec,
        acks: config.acks,
        timeoutMs: config.requestTimeoutMs,
      }
      // `attempt` counts requests that reached a broker (Java's `retries`); `unreachable` counts tries in a
      // row that could not send at all (no leader known, no connection), which wait and spend no attempt.
      for (let attempt = 1, unreachable = 0; ; ) {
        let error: TopicflowError
        try {
          const producer = await openSession()
          const wrapRequest = config.instrumentation?.request
          // The delivery deadline bounds a request in flight too (as Java's delivery.timeout.ms does):
          // a client that retries connections inside one send must not hold the batch past it.
          const send = (): Promise<ProduceAck> => beforeDeadline(producer.send(request), deadline, policy.deliveryTimeoutMs, sent, attempt)
          let ack: ProduceAck
          try {
            ack = await (wrapRequest === undefined ? send() : wrapRequest(sent, attempt, send))
          } catch (notAcknowledged) {
            if (!(notAcknowledged instanceof BrokerUnavailableError)) countRequest(attempt)
            throw notAcknowledged
          }
          countRequest(attempt)
          if (closed || abandoned !== undefined) return
          stats.delivered += sent.records.length
          for (let i = 0; i < sent.records.length; i++) {
            const record = sent.records[i]!
            const delivered: DeliveryReport<T> = {
              status: 'delivered',
              topic: sent.topic,
              partition: sent.partition,
              offset: ack.baseOffset < 0 ? -1 : ack.baseOffset + i,
              timestamp: ack.logAppendTime >= 0 ? ack.logAppendTime : record.timestamp,
              source: record.source,
            }
            report(record, delivered, true)
          }
          return
        } catch (caught) {
          if (caught instanceof DeliveryTimeoutError) {
            if (closed || abandoned !== undefined) return
            fail(sent, caught)
            return
          }
          error = typed(caught, sent)
        }
        if (closed || abandoned !== undefined) return
        if (error instanceof BrokerUnavailableError) {
          unreachable++
          const wait = this.#reconnectBackoff(unreachable)
          if (Date.now() + wait < deadline) {
            await sleep(wait)
            if (closed || abandoned !== undefined) return
            continue
          }
          fail(sent, new DeliveryTimeoutError(policy.deliveryTimeoutMs, attempt - 1, { topic: sent.topic, partition: sent.partition, sources: sent.records.map((r) => r.source), cause: error }))
          return
        }
        unreachable = 0
        if (error instanceof RecordTooLargeError && sent.records.length > 1) {
          // The broker refused the batch as too large: split it, as Java does, so only the culprit fails.
          const half = Math.ceil(sent.records.length / 2)
          await deliver(slice(sent, 0, half))
          await deliver(slice(sent, half, sent.records.length))
          return
        }
        if (policy.isRetriable(error) && attempt < policy.attempts) {
          const wait = policy.backoffMs(attempt)
          if (Date.now() + wait < deadline) {
            await sleep(wait)
            if (closed || abandoned !== undefined) return
            attempt++
            continue
          }
          error = new DeliveryTimeoutError(policy.deliveryTimeoutMs, attempt, {
            topic: sent.topic,
            partition: sent.partition,
            sources: sent.records.map((r) => r.source),
            cause: error,
          })
        }
        fail(sent, error)
        return
      }
    }

    const pump = (lane: Lane): void => {
      if (lane.busy || lane.queue.length === 0 || failure !== undefined || closed) return
      let next = lane.queue.shift()!
      // Batches that queued behind a request go out together, up to one request's size.
      while (lane.queue.length > 0) {
        const following = lane.queue[0]!
        if (following.codec !== next.codec || next.sizeBytes + following.sizeBytes > config.maxRequestBytes) break
        lane.queue.shift()
        next = merge(next, following)
      }
      lane.busy = true
      active++
      const sent = next
      void deliver(sent).then(() => {
        lane.busy = false
        this.#release(sent.sizeBytes)
        if (abandoned !== undefined) return
        active--
        pump(lane)
        settle()
      })
    }

    const finish = (end: () => void): void => {
      finishing = true
      const opened = session
      session = undefined
      const ended = (): void => {
        this.#runs.delete(run)
        markDone()
        end()
      }
      if (opened === undefined) return ended()
      void opened.then((s) => s.close()).then(ended, ended)
    }

    const settle = (): void => {
      if (closed || finishing || active > 0) return
      if (failure !== undefined) {
        // Wait for the drain: what the operators held arrives here as unsent, or named by upstream's error.
        if (upstreamEnded === undefined) return
        clearTimeout(drainTimer)
        const unsent: OutgoingRecord<T>[] = [...unsentRecords]
        for (const lane of lanes.values()) {
          for (const queued of lane.queue) {
            for (const record of queued.records) unsent.push(record)
            this.#release(queued.sizeBytes)
          }
          lane.queue.length = 0
        }
        const error = new DeliveryFailedError(failure, failedSources, [...unsent.map((r) => r.source), ...upstreamSources])
        stats.failed += unsent.length
        for (const record of unsent) report(record, { status: 'failed', topic: record.topic, partition: record.partition, error, source: record.source }, false)
        return finish(() => subscriber.error(error))
      }
      if (upstreamEnded === undefined) return
      for (const lane of lanes.values()) if (lane.queue.length > 0) return
      const ended = upstreamEnded
      finish(() => (ended.failed ? subscriber.error(ended.error) : subscriber.complete()))
    }

    const accept = (item: RecordBatch<T> | OutgoingRecord<T>): void => {
      let incoming = isBatch(item) ? item : singleBatch(item)
      if (abandoned !== undefined) return handBack(incoming, abandoned)
      // An operator that could not prepare the batch (a codec function that threw) hands it on failed.
      if (incoming.failure !== undefined) {
        fail(incoming, incoming.failure)
        return settle()
      }
      if (failure !== undefined) {
        for (const record of incoming.records) unsentRecords.push(record)
        return
      }
      // A batch within the limit has no record over it (its size is the sum of its records' sizes).
      const oversized = incoming.sizeBytes <= config.maxRequestBytes ? [] : incoming.records.filter((r) => recordSizeBytes(r) + RECORD_BATCH_OVERHEAD_BYTES > config.maxRequestBytes)
      if (oversized.length > 0) {
        for (const record of oversized) {
          const size = recordSizeBytes(record) + RECORD_BATCH_OVERHEAD_BYTES
          fail(
            { ...incoming, records: [record], sizeBytes: size },
            new RecordTooLargeError(size, config.maxRequestBytes, { topic: incoming.topic, partition: incoming.partition, sources: [record.source] }),
          )
        }
        const kept = incoming.records.filter((r) => !oversized.includes(r))
        if (kept.length === 0 || failure !== undefined) return settle()
        incoming = { ...incoming, records: kept, sizeBytes: kept.reduce((n, r) => n + recordSizeBytes(r), RECORD_BATCH_OVERHEAD_BYTES) }
      }
      if (!this.#reserve(incoming.sizeBytes)) {
        const error = new BufferExhaustedError(config.maxBufferedBytes, {
          topic: incoming.topic,
          partition: incoming.partition,
          sources: incoming.records.map((r) => r.source),
        })
        if (config.onBufferFull === 'drop') {
          stats.dropped += incoming.records.length
          stats.failed += incoming.records.length
          for (const record of incoming.records) {
            report(record, { status: 'failed', topic: incoming.topic, partition: incoming.partition, error, source: record.source }, true)
          }
          return
        }
        stats.failed += incoming.records.length
        failure ??= error
        for (const record of incoming.records) {
          failedSources.push(record.source)
          report(record, { status: 'failed', topic: incoming.topic, partition: incoming.partition, error, source: record.source }, false)
        }
        stopUpstream()
        return settle()
      }
      const id = `${incoming.topic}\u0000${incoming.partition}`
      let lane = lanes.get(id)
      if (lane === undefined) {
        lane = { queue: [], busy: false }
        lanes.set(id, lane)
      }
      lane.queue.push(incoming)
      pump(lane)
    }

    upstream = source.subscribe({
      next: (item) => {
        try {
          accept(item)
        } catch (error) {
          subscriber.error(error)
        }
      },
      error: (error: unknown) => {
        upstreamEnded = { error, failed: true }
        if (failure !== undefined && error instanceof TopicflowError) upstreamSources = error.sources
        settle()
      },
      complete: () => {
        upstreamEnded = { failed: false }
        settle()
      },
    })
    if (stopRequested) upstream.unsubscribe()

    return () => {
      const wasFinished = finishing
      this.#runs.delete(run)
      markDone()
      closed = true
      clearTimeout(drainTimer)
      upstream?.unsubscribe()
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      for (const lane of lanes.values()) {
        for (const queued of lane.queue) this.#release(queued.sizeBytes)
        lane.queue.length = 0
      }
      if (!wasFinished) void session?.then((s) => s.close()).catch(() => undefined)
    }
  }
}

/**
 * The sink as an operator: `toKafka(transport, options)` makes a `KafkaSink` for this pipeline;
 * `toKafka(sink)` uses one made beforehand (to share it with a pull source).
 *
 * @example
 * import { from } from 'rxjs'
 * import { serialize, key, partition, batch, compress, retry, toKafka, json } from '@topicflow/core'
 * import { kafkajsTransport } from '@topicflow/kafkajs'
 * const transport = kafkajsTransport({ brokers: ['127.0.0.1:9092'] })
 * from([{ id: 'a', total: 3 }])
 *   .pipe(serialize('orders', json()), key((o) => o.id), partition(transport), batch(), compress('zstd'), retry(), toKafka(transport, { acks: 'all' }))
 *   .subscribe((report) => console.log(report.status, report.partition))
 */
export function toKafka<T>(target: Transport | KafkaSink<T>, options?: ToKafkaOptions): OperatorFunction<RecordBatch<T> | OutgoingRecord<T>, DeliveryReport<T>> {
  if (target instanceof KafkaSink) {
    if (options !== undefined) throw new InvalidOptionError('toKafka.options', 'no options with an existing KafkaSink (its options are fixed)', options)
    return target.operator()
  }
  return new KafkaSink<T>(target, options).operator()
}

function isBatch<T>(item: RecordBatch<T> | OutgoingRecord<T>): item is RecordBatch<T> {
  return Array.isArray((item as RecordBatch<T>).records)
}

function singleBatch<T>(record: OutgoingRecord<T>): RecordBatch<T> {
  if (record.partition === undefined) {
    throw withSources(new InvalidOptionError('record.partition', 'a partition (put partition() before toKafka())', undefined), [record.source], { topic: record.topic })
  }
  return {
    topic: record.topic,
    partition: record.partition,
    records: [record],
    sizeBytes: recordSizeBytes(record) + RECORD_BATCH_OVERHEAD_BYTES,
    createdAt: Date.now(),
    codec: 'none',
    retry: undefined,
  }
}

function merge<T>(first: RecordBatch<T>, second: RecordBatch<T>): RecordBatch<T> {
  // Sizes add up whole, so that releasing the merged batch frees exactly what the two reserved.
  return { ...first, records: first.records.concat(second.records), sizeBytes: first.sizeBytes + second.sizeBytes }
}

function slice<T>(whole: RecordBatch<T>, start: number, end: number): RecordBatch<T> {
  const records = whole.records.slice(start, end)
  return { ...whole, records, sizeBytes: records.reduce((n, r) => n + recordSizeBytes(r), RECORD_BATCH_OVERHEAD_BYTES) }
}

function instrumentationOption(value: SinkInstrumentation | undefined): SinkInstrumentation | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'object' || value === null) throw new InvalidOptionError('toKafka.instrumentation', 'an object of hooks (request, settled, buffered)', value)
  for (const hook of ['request', 'settled', 'buffered'] as const) {
    if (value[hook] !== undefined && typeof value[hook] !== 'function') throw new InvalidOptionError(`toKafka.instrumentation.${hook}`, 'a function', value[hook])
  }
  return value
}

/** `request`, or a `DeliveryTimeoutError` for `batch` once `deadline` (epoch ms) passes first. */
function beforeDeadline<V, T>(request: Promise<V>, deadline: number, deliveryTimeoutMs: number, batch: RecordBatch<T>, attempt: number): Promise<V> {
  return withTimeout(
    request,
    deadline - Date.now(),
    () =>
      new DeliveryTimeoutError(deliveryTimeoutMs, attempt, {
        topic: batch.topic,
        partition: batch.partition,
        sources: batch.records.map((r) => r.source),
        cause: new Error('a produce request was still unanswered at the delivery deadline (it may yet land)'),
      }),
  )
}
