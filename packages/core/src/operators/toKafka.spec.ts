import { beforeEach, describe, expect, it } from 'vitest'
import { concat, firstValueFrom, from, Subject, throwError, toArray, type Observable } from 'rxjs'
import { toKafka } from './toKafka.js'
import { KafkaSink } from '../sink/kafkaSink.js'
import type { ToKafkaOptions } from '../sink/options.js'
import { retry } from './retry.js'
import { MemoryTransport, type MemoryTransportOptions } from '../testing/memoryTransport.js'
import { VirtualScheduler } from '../testing/virtualScheduler.js'
import {
  BrokerUnavailableError,
  BufferExhaustedError,
  DeliveryFailedError,
  DeliveryTimeoutError,
  InvalidOptionError,
  KafkaConnectionError,
  ProduceError,
  RecordTooLargeError,
} from '../errors.js'
import type { DeliveryReport, OutgoingRecord, RecordBatch } from '../records.js'
import type { ProduceAck, Transport } from '../transport.js'

const record = (source: string, partition = 0, bytes = 10): OutgoingRecord<string> => ({
  topic: 't',
  key: null,
  value: Buffer.alloc(bytes, source),
  headers: [],
  partition,
  timestamp: 1000,
  source,
})
const batchOf = (partition: number, ...sources: string[]): RecordBatch<string> => ({
  topic: 't',
  partition,
  records: sources.map((s) => record(s, partition)),
  sizeBytes: 61 + sources.length * 31,
  createdAt: clock.now(),
  codec: 'none',
  retry: undefined,
})
// Every spec runs on a virtual clock: backoff, deadlines and latencies take no wall-clock time.
let clock = new VirtualScheduler()
beforeEach(() => {
  clock = new VirtualScheduler()
})
const memory = (options: Partial<MemoryTransportOptions> = {}) => new MemoryTransport({ topics: { t: 4 }, latencyMs: 5, scheduler: clock, ...options })
/** Collects what `reports$` emits, advancing the virtual clock until it ends. */
const collect = <V>(reports$: Observable<V>): Promise<V[]> => clock.until(firstValueFrom(reports$.pipe(toArray())))
const run = (batches: Observable<RecordBatch<string> | OutgoingRecord<string>>, transport: Transport, options?: ToKafkaOptions) =>
  collect(batches.pipe(toKafka(transport, { scheduler: clock, ...options })))
const fast = retry<string>({ backoff: () => 1, deliveryTimeoutMs: 5_000 })

describe('toKafka', () => {
  it('delivers every record, reports offsets per partition in order, and completes after the last ack', async () => {
    const transport = memory()
    const reports = await run(from([batchOf(0, 'a', 'b'), batchOf(1, 'c'), batchOf(0, 'd')]), transport)
    const delivered = reports.filter((r) => r.status === 'delivered')
    expect(delivered.map((r) => `${r.source}@${r.partition}:${r.offset}`).sort()).toEqual(['a@0:0', 'b@0:1', 'c@1:0', 'd@0:2'])
    expect(transport.records('t', 0).map((r) => r.value?.toString()[0])).toEqual(['a', 'b', 'd'])
    expect(transport.openSessions).toBe(0)
  })

  it('keeps at most one request in flight per partition and sends partitions in parallel', async () => {
    const transport = memory({ latencyMs: 10 })
    const batches = [0, 1, 2, 3].flatMap((p) => [batchOf(p, `${p}a`), batchOf(p, `${p}b`)])
    // Batches queued behind one another are merged; to see several requests per partition, feed slowly.
    const input = new Subject<RecordBatch<string>>()
    const done = firstValueFrom(input.pipe(toKafka(transport, { scheduler: clock }), toArray()))
    for (const b of batches) {
      input.next(b)
      await clock.advance(3)
    }
    input.complete()
    expect(await clock.until(done)).toHaveLength(8)
    expect(transport.maxInFlightPerPartition).toBe(1)
    expect(transport.maxInFlightTotal).toBeGreaterThan(1)
  })

  it('merges batches that queued behind an in-flight request, up to maxRequestBytes', async () => {
    const transport = memory({ latencyMs: 20 })
    await run(from([batchOf(0, 'a'), batchOf(0, 'b'), batchOf(0, 'c')]), transport)
    expect(transport.requests.map((r) => r.records.length)).toEqual([1, 2])
  })

  it('retries retriable errors with backoff and keeps per-partition order', async () => {
    const transport = memory({
      beforeSend: (request, attempt) => {
        if (request.records[0]?.value?.toString()[0] === 'a' && attempt < 3) throw new ProduceError('not leader', 'NOT_LEADER_OR_FOLLOWER', { retriable: true })
      },
    })
    const input = new Subject<RecordBatch<string>>()
    const done = firstValueFrom(input.pipe(fast, toKafka(transport, { scheduler: clock }), toArray()))
    input.next(batchOf(0, 'a'))
    input.next(batchOf(0, 'b'))
    input.complete()
    const reports = await clock.until(done)
    expect(reports.every((r) => r.status === 'delivered')).toBe(true)
    expect(transport.records('t', 0).map((r) => r.value?.toString()[0])).toEqual(['a', 'b'])
  })

  it('passes the same request object to every retry of a batch (what idempotent transports number by)', async () => {
    const attempts: Array<{ request: object; attempt: number }> = []
    const transport = memory({
      beforeSend: (request, attempt) => {
        attempts.push({ request, attempt })
        if (attempt < 3) throw new ProduceError('no answer', 'REQUEST_TIMED_OUT', { retriable: true })
      },
    })
    const reports = await collect(from([batchOf(0, 'a', 'b')]).pipe(fast, toKafka(transport, { scheduler: clock })))
    expect(reports.every((r) => r.status === 'delivered')).toBe(true)
    expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3])
    expect(new Set(attempts.map((a) => a.request)).size).toBe(1)
  })

  it("fails the stream on a fatal error with DeliveryFailedError carrying the failed and unsent sources (onError 'fail')", async () => {
    const transport = memory({
      latencyMs: 10,
      beforeSend: (request) => {
        if (request.partition === 1) throw new ProduceError('corrupt', 'CORRUPT_MESSAGE', { retriable: false })
      },
    })
    const error = await run(from([batchOf(0, 'a'), batchOf(1, 'x', 'y')]), transport).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DeliveryFailedError)
    expect((error as DeliveryFailedError).failed).toEqual(['x', 'y'])
    expect((error as DeliveryFailedError).failure).toBeInstanceOf(ProduceError)
    expect((error as DeliveryFailedError).sources).toEqual(['x', 'y'])
  })

  it("reports failures as values and goes on (onError 'report')", async () => {
    const transport = memory({
      beforeSend: (request) => {
        if (request.partition === 1) throw new ProduceError('corrupt', 'CORRUPT_MESSAGE', { retriable: false })
      },
    })
    const reports = await run(from([batchOf(1, 'x'), batchOf(0, 'a')]), transport, { onError: 'report' })
    expect(reports.map((r) => `${r.source}:${r.status}`).sort()).toEqual(['a:delivered', 'x:failed'])
  })

  it('fails a batch with DeliveryTimeoutError at the delivery deadline, carrying its sources', async () => {
    const transport = memory({
      beforeSend: () => {
        throw new ProduceError('no leader', 'LEADER_NOT_AVAILABLE', { retriable: true })
      },
    })
    const reports = await collect(from([batchOf(0, 'a')]).pipe(retry<string>({ deliveryTimeoutMs: 300, backoff: () => 20 }), toKafka(transport, { onError: 'report', scheduler: clock })))
    const failed = reports[0] as Extract<DeliveryReport<string>, { status: 'failed' }>
    expect(failed.status).toBe('failed')
    expect(failed.error).toBeInstanceOf(DeliveryTimeoutError)
    expect(failed.error.sources).toEqual(['a'])
    // The last retry that fits before the deadline (20 ms backoff, 5 ms latency) ends just short of it.
    expect(clock.now()).toBeGreaterThan(250)
    expect(clock.now()).toBeLessThanOrEqual(300)
  })

  it('spends no attempt on a leader it cannot reach: waits with reconnect backoff, then retries count only requests sent', async () => {
    const tries: string[] = []
    const transport = memory({
      latencyMs: 0,
      beforeSend: () => {
        tries.push('try')
        if (tries.length <= 5) throw new BrokerUnavailableError('connection refused', { retriable: true })
        if (tries.length === 6) throw new ProduceError('not leader', 'NOT_LEADER_OR_FOLLOWER', { retriable: true })
      },
    })
    const sink = new KafkaSink<string>(transport, { reconnectBackoffMs: 5, reconnectBackoffMaxMs: 20, scheduler: clock })
    // Two attempts allowed: five refused connections in a row must not use them up.
    const reports = await collect(from([batchOf(0, 'a')]).pipe(retry<string>({ attempts: 2, backoff: () => 1 }), toKafka(sink)))
    expect(reports.map((r) => r.status)).toEqual(['delivered'])
    expect(tries).toHaveLength(7)
    expect(sink.stats).toMatchObject({ requests: 2, retries: 1, delivered: 1, failed: 0 })
    // 5 + 10 + 20 + 20 + 20 ms of reconnect backoff, ±20%.
    expect(clock.now()).toBeGreaterThanOrEqual(60)
  })

  it('fails a batch whose leader stays unreachable with DeliveryTimeoutError at its deadline, naming its events', async () => {
    const transport = memory({
      // Refused at once, as a connection is: the deadline is met between tries, not inside one.
      latencyMs: 0,
      beforeSend: () => {
        throw new BrokerUnavailableError('connection refused', { retriable: true })
      },
    })
    const sink = new KafkaSink<string>(transport, { onError: 'report', reconnectBackoffMs: 10, reconnectBackoffMaxMs: 50, scheduler: clock })
    const reports = await collect(from([batchOf(0, 'a', 'b')]).pipe(retry<string>({ attempts: 1, deliveryTimeoutMs: 300 }), toKafka(sink)))
    const errors = reports.map((r) => (r.status === 'failed' ? r.error : undefined))
    expect(errors[0]).toBeInstanceOf(DeliveryTimeoutError)
    expect(errors[0]?.cause).toBeInstanceOf(BrokerUnavailableError)
    expect(errors[0]?.sources).toEqual(['a', 'b'])
    expect((errors[0] as DeliveryTimeoutError).attempts).toBe(0)
    expect(sink.stats).toMatchObject({ requests: 0, failed: 2 })
  })

  it('bounds a request in flight by the delivery deadline: a hanging request fails the batch at the deadline', async () => {
    const reports = await collect(from([batchOf(0, 'a', 'b')]).pipe(retry<string>({ deliveryTimeoutMs: 100 }), toKafka(memory({ latencyMs: 5_000 }), { onError: 'report', scheduler: clock })))
    expect(clock.now()).toBe(100)
    expect(reports.map((r) => r.status === 'failed' && r.error instanceof DeliveryTimeoutError && r.source)).toEqual(['a', 'b'])
  })

  it('splits a batch the broker refuses as too large, so only the oversized record fails', async () => {
    const transport = memory({
      beforeSend: (request) => {
        if (request.records.some((r) => r.value?.toString()[0] === 'B')) throw new RecordTooLargeError(0, undefined, { topic: 't' })
      },
    })
    const reports = await run(from([batchOf(0, 'a', 'b', 'B', 'c')]), transport, { onError: 'report' })
    expect(reports.map((r) => `${r.source}:${r.status}`)).toEqual(['a:delivered', 'b:delivered', 'B:failed', 'c:delivered'])
    const failed = reports[2] as Extract<DeliveryReport<string>, { status: 'failed' }>
    expect(failed.error).toBeInstanceOf(RecordTooLargeError)
    expect(failed.error.sources).toEqual(['B'])
    expect(transport.records('t', 0).map((r) => r.value?.toString()[0])).toEqual(['a', 'b', 'c'])
  })

  it("fails records over the transport's maxRequestBytes before sending them and sends the rest", async () => {
    const transport = memory({ maxRequestBytes: 4096 })
    const big = record('big', 0, 5000)
    const reports = await run(from([record('a'), big, record('b')]), transport, { onError: 'report' })
    expect(reports.map((r) => `${r.source}:${r.status}`).sort()).toEqual(['a:delivered', 'b:delivered', 'big:failed'])
    expect(transport.requests.every((r) => r.records.every((w) => w.value !== big.value))).toBe(true)
  })

  it('raises BufferExhaustedError when a push source overruns maxBufferedBytes, or drops and counts with onBufferFull drop', async () => {
    const many = Array.from({ length: 100 }, (_, i) => record(`r${i}`, i % 4, 100))
    const error = await run(from(many), memory({ latencyMs: 20 }), { maxBufferedBytes: 1024 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DeliveryFailedError)
    expect((error as DeliveryFailedError).failure).toBeInstanceOf(BufferExhaustedError)
    // Every event is accounted for: delivered before the failure, failed, or not sent.
    expect((error as DeliveryFailedError).failed.length + (error as DeliveryFailedError).unsent.length).toBeGreaterThan(0)
    expect((error as DeliveryFailedError).unsent).toContain('r99')

    const sink = new KafkaSink<string>(memory({ latencyMs: 20 }), { maxBufferedBytes: 1024, onBufferFull: 'drop', scheduler: clock })
    const reports = await collect(from(many).pipe(toKafka(sink)))
    const dropped = reports.filter((r) => r.status === 'failed')
    expect(dropped.length).toBeGreaterThan(0)
    expect(sink.stats.dropped).toBe(dropped.length)
    expect(reports).toHaveLength(100)
    expect(sink.bufferedBytes).toBe(0)
  })

  it('reports offset -1 with acks 0', async () => {
    const reports = await run(from([batchOf(0, 'a')]), memory(), { acks: 0 })
    expect(reports[0]).toMatchObject({ status: 'delivered', offset: -1 })
  })

  it('sends everything it holds before passing an upstream error on', async () => {
    const transport = memory({ latencyMs: 10 })
    const seen: string[] = []
    const error = await clock.until(new Promise((resolve) =>
      concat(from([batchOf(0, 'a'), batchOf(1, 'b')]), throwError(() => new Error('upstream')))
        .pipe(toKafka(transport, { scheduler: clock }))
        .subscribe({ next: (r) => seen.push(r.source), error: resolve }),
    ))
    expect((error as Error).message).toBe('upstream')
    expect(seen.sort()).toEqual(['a', 'b'])
  })

  it('fails with KafkaConnectionError naming the brokers when no producer can be opened', async () => {
    const transport: Transport = {
      brokers: '127.0.0.1:1',
      maxRequestBytes: 1 << 20,
      partitionCount: async () => 1,
      openProducer: () => Promise.reject(new Error('ECONNREFUSED')),
      close: async () => undefined,
    }
    const error = await run(from([batchOf(0, 'a')]), transport).catch((e: unknown) => e)
    expect((error as DeliveryFailedError).failure).toBeInstanceOf(KafkaConnectionError)
    expect((error as DeliveryFailedError).message).toMatch(/127\.0\.0\.1:1/)
    expect((error as DeliveryFailedError).failed).toEqual(['a'])
  })

  it('stops emitting, releases its buffer and closes the session on early unsubscribe', async () => {
    const transport = memory({ latencyMs: 20 })
    const sink = new KafkaSink<string>(transport, { scheduler: clock })
    const seen: unknown[] = []
    const subscription = from([batchOf(0, 'a'), batchOf(0, 'b')]).pipe(toKafka(sink)).subscribe((r) => seen.push(r))
    await clock.advance(5)
    subscription.unsubscribe()
    await clock.advance(40)
    expect(seen).toEqual([])
    expect(transport.openSessions).toBe(0)
    expect(sink.bufferedBytes).toBe(0)
  })

  it('calls its instrumentation: each request attempt, each record once when settled, buffer deltas that return to zero', async () => {
    const transport = memory({
      beforeSend: (request, attempt) => {
        if (request.partition === 0 && attempt === 1) throw new ProduceError('not leader', 'NOT_LEADER_OR_FOLLOWER', { retriable: true })
        if (request.partition === 1) throw new ProduceError('corrupt', 'CORRUPT_MESSAGE', { retriable: false })
      },
    })
    const attempts: string[] = []
    const settled: string[] = []
    let buffered = 0
    let peak = 0
    const instrumentation = {
      request: async (batch: RecordBatch<unknown>, attempt: number, send: () => Promise<ProduceAck>) => {
        attempts.push(`${batch.partition}#${attempt}`)
        return send()
      },
      settled: (r: OutgoingRecord<unknown>, report: DeliveryReport<unknown>) => settled.push(`${String(r.source)}:${report.status}`),
      buffered: (delta: number) => {
        buffered += delta
        peak = Math.max(peak, buffered)
      },
    }
    await collect(from([batchOf(0, 'a', 'b'), batchOf(1, 'x')]).pipe(fast, toKafka(transport, { onError: 'report', instrumentation, scheduler: clock })))
    expect(attempts.sort()).toEqual(['0#1', '0#2', '1#1'])
    expect(settled.sort()).toEqual(['a:delivered', 'b:delivered', 'x:failed'])
    expect(peak).toBeGreaterThan(0)
    expect(buffered).toBe(0)
    expect(() => toKafka(transport, { instrumentation: { settled: 1 as unknown as () => void } })).toThrow(/toKafka\.instrumentation\.settled/)
  })

  it('rejects bad options at construction, naming them', () => {
    const transport = memory()
    expect(() => toKafka(transport, { acks: 2 as 1 })).toThrow(/toKafka\.acks/)
    expect(() => toKafka(transport, { acks: 1, idempotence: true })).toThrow(/toKafka\.idempotence/)
    expect(() => toKafka(transport, { maxBufferedBytes: 10 })).toThrow(/toKafka\.maxBufferedBytes/)
    expect(() => toKafka(transport, { pullAheadBytes: 0 })).toThrow(/toKafka\.pullAheadBytes/)
    expect(() => toKafka(transport, { onError: 'ignore' as 'fail' })).toThrow(/toKafka\.onError/)
    // max.request.size belongs to the transport: the sink refuses it, naming the owner.
    expect(() => toKafka(transport, { maxRequestBytes: 4096 } as ToKafkaOptions)).toThrow(/toKafka\.maxRequestBytes.*belongs to the transport/)
    expect(() => toKafka({} as Transport)).toThrow(InvalidOptionError)
    expect(Object.isFrozen(new KafkaSink(transport).config)).toBe(true)
  })
})

describe('stats, instrumentation and reports agree (every record ends in one place)', () => {
  /** Runs `input` through a sink with a counting `settled` hook; `close` closes the sink after `closeAfterMs`. */
  async function ledgerOf(input: Observable<RecordBatch<string> | OutgoingRecord<string>>, transport: Transport, options: ToKafkaOptions, close?: { afterMs: number; timeoutMs: number }) {
    const settled = { delivered: 0, failed: 0 }
    const sink = new KafkaSink<string>(transport, {
      ...options,
      scheduler: clock,
      instrumentation: { settled: (_record, report) => void (report.status === 'delivered' ? settled.delivered++ : settled.failed++) },
    })
    const reports: DeliveryReport<string>[] = []
    const ended = new Promise<unknown>((resolve) => input.pipe(toKafka(sink)).subscribe({ next: (r) => reports.push(r), error: resolve, complete: () => resolve(undefined) }))
    if (close !== undefined) {
      await clock.advance(close.afterMs)
      await clock.until(sink.close({ timeoutMs: close.timeoutMs }))
    }
    const error = await clock.until(ended)
    const named = error instanceof DeliveryFailedError ? error.sources.length : 0
    return { sink, settled, reports, named }
  }

  function expectAgreement({ sink, settled, reports, named }: Awaited<ReturnType<typeof ledgerOf>>, events: number): void {
    const emitted = { delivered: reports.filter((r) => r.status === 'delivered').length, failed: reports.filter((r) => r.status === 'failed').length }
    expect(settled).toEqual({ delivered: sink.stats.delivered, failed: sink.stats.failed })
    expect(emitted.delivered).toBe(sink.stats.delivered)
    expect(emitted.failed + named).toBe(sink.stats.failed)
    expect(sink.stats.delivered + sink.stats.failed).toBe(events)
  }

  it('after a fatal failure', async () => {
    const transport = memory({
      latencyMs: 10,
      beforeSend: (request) => {
        if (request.partition === 1) throw new ProduceError('corrupt', 'CORRUPT_MESSAGE', { retriable: false })
      },
    })
    const input = new Subject<RecordBatch<string>>()
    const result = ledgerOf(input, transport, {})
    input.next(batchOf(0, 'a'))
    input.next(batchOf(1, 'x', 'y'))
    await clock.advance(1)
    input.next(batchOf(2, 'late'))
    input.complete()
    expectAgreement(await result, 4)
  })

  it('after a delivery deadline', async () => {
    const transport = memory({
      beforeSend: (request) => {
        if (request.partition === 0) throw new ProduceError('no leader', 'LEADER_NOT_AVAILABLE', { retriable: true })
      },
    })
    const result = await ledgerOf(from([batchOf(0, 'a', 'b'), batchOf(1, 'c')]).pipe(retry<string>({ deliveryTimeoutMs: 300, backoff: () => 20 })), transport, { onError: 'report' })
    expect(result.sink.stats).toMatchObject({ delivered: 1, failed: 2 })
    expectAgreement(result, 3)
  })

  it('after a full buffer', async () => {
    const many = Array.from({ length: 100 }, (_, i) => record(`r${i}`, i % 4, 100))
    expectAgreement(await ledgerOf(from(many), memory({ latencyMs: 20 }), { maxBufferedBytes: 1024 }), 100)
    expectAgreement(await ledgerOf(from(many), memory({ latencyMs: 20 }), { maxBufferedBytes: 1024, onBufferFull: 'drop' }), 100)
  })

  it('after a close with a deadline', async () => {
    const input = new Subject<RecordBatch<string>>()
    const result = ledgerOf(input, memory({ latencyMs: 400 }), { onError: 'report' }, { afterMs: 100, timeoutMs: 50 })
    for (let p = 0; p < 4; p++) input.next(batchOf(p, `${p}a`, `${p}b`))
    const { sink, ...rest } = await result
    expect(sink.stats.failed).toBe(8)
    expectAgreement({ sink, ...rest }, 8)
  })
})
