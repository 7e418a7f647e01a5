import { asyncScheduler, type SchedulerLike } from 'rxjs'
import { InvalidOptionError } from '../errors.js'
import { integerOption, oneOfOption } from '../options.js'
import type { DeliveryReport, OutgoingRecord, RecordBatch } from '../records.js'
import type { AcksLevel, ProduceAck } from '../transport.js'

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
  /**
   * Java's `max.block.ms`, owned here: the longest wait to connect at the start and for a topic's first
   * metadata in `partition(sink)`; also how long a failed run waits for its pull sources to stop and for
   * what the operators hold to flush, so that it can name every event. Default 60000.
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
  /** Scheduler for backoff, deadlines and the close timeout; tests pass a virtual-time one. Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike
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
  readonly maxBlockMs: number
  readonly reconnectBackoffMs: number
  readonly reconnectBackoffMaxMs: number
  readonly instrumentation: SinkInstrumentation | undefined
  readonly scheduler: SchedulerLike
}

/** Checks `options` and fills in every default (Java's producer's where it has one). */
export function sinkConfig(options: ToKafkaOptions): SinkConfig {
  const acksOption = oneOfOption<ToKafkaOptions['acks']>('toKafka.acks', options.acks, 'all', [0, 1, -1, 'all'])
  const acks: AcksLevel = acksOption === 'all' ? -1 : (acksOption as AcksLevel)
  const idempotence = options.idempotence ?? acks === -1
  if (typeof idempotence !== 'boolean') throw new InvalidOptionError('toKafka.idempotence', 'a boolean', idempotence)
  if (idempotence && acks !== -1) throw new InvalidOptionError('toKafka.idempotence', 'false unless acks is "all" (idempotence needs acks=all)', idempotence)
  if ((options as { maxRequestBytes?: unknown }).maxRequestBytes !== undefined) {
    throw new InvalidOptionError('toKafka.maxRequestBytes', "no value: max.request.size belongs to the transport (its maxRequestBytes option)", (options as { maxRequestBytes?: unknown }).maxRequestBytes)
  }
  const maxBufferedBytes = integerOption('toKafka.maxBufferedBytes', options.maxBufferedBytes, 32 * 1024 * 1024, 1024)
  const reconnectBackoffMs = integerOption('toKafka.reconnectBackoffMs', options.reconnectBackoffMs, 50, 0)
  return Object.freeze({
    acks,
    idempotence,
    maxBufferedBytes,
    pullAheadBytes: Math.min(maxBufferedBytes, integerOption('toKafka.pullAheadBytes', options.pullAheadBytes, 4 * 1024 * 1024, 1024)),
    onBufferFull: oneOfOption('toKafka.onBufferFull', options.onBufferFull, 'error', ['error', 'drop'] as const),
    onError: oneOfOption('toKafka.onError', options.onError, 'fail', ['fail', 'report'] as const),
    requestTimeoutMs: integerOption('toKafka.requestTimeoutMs', options.requestTimeoutMs, 30_000, 1),
    maxBlockMs: integerOption('toKafka.maxBlockMs', options.maxBlockMs, 60_000, 1),
    reconnectBackoffMs,
    reconnectBackoffMaxMs: integerOption('toKafka.reconnectBackoffMaxMs', options.reconnectBackoffMaxMs, Math.max(1000, reconnectBackoffMs), reconnectBackoffMs),
    instrumentation: instrumentationOption(options.instrumentation),
    scheduler: schedulerOption(options.scheduler),
  })
}

function instrumentationOption(value: SinkInstrumentation | undefined): SinkInstrumentation | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'object' || value === null) throw new InvalidOptionError('toKafka.instrumentation', 'an object of hooks (request, settled, buffered)', value)
  for (const hook of ['request', 'settled', 'buffered'] as const) {
    if (value[hook] !== undefined && typeof value[hook] !== 'function') throw new InvalidOptionError(`toKafka.instrumentation.${hook}`, 'a function', value[hook])
  }
  return value
}

function schedulerOption(value: SchedulerLike | undefined): SchedulerLike {
  if (value === undefined) return asyncScheduler
  if (typeof value?.schedule !== 'function' || typeof value.now !== 'function') throw new InvalidOptionError('toKafka.scheduler', 'an RxJS scheduler', value)
  return value
}
