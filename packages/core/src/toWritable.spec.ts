import { beforeEach, describe, expect, it } from 'vitest'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { map } from 'rxjs'
import { toWritable, type KafkaWritable } from './toWritable.js'
import { KafkaSink } from './sink/kafkaSink.js'
import type { ToKafkaOptions } from './sink/options.js'
import { batch } from './operators/batch.js'
import { partition } from './operators/partition.js'
import { serialize } from './operators/serialize.js'
import { string } from './serializers.js'
import { MemoryTransport, type MemoryTransportOptions } from './testing/memoryTransport.js'
import { VirtualScheduler } from './testing/virtualScheduler.js'
import { DeliveryFailedError, InvalidOptionError, ProduceError, ProducerClosedError, UnknownTopicError } from './errors.js'
import type { DeliveryReport, OutgoingRecord } from './records.js'

// Acks arrive on a virtual clock: nothing is acknowledged until the test moves it on.
let clock = new VirtualScheduler()
beforeEach(() => {
  clock = new VirtualScheduler()
})

/** 1,000-byte records spread over 3 partitions: a sink with `pullAheadBytes: 1024` is full after one. */
const toRecord = (i: number): OutgoingRecord<number> => ({ topic: 't', key: null, value: Buffer.alloc(1000), headers: [], partition: i % 3, timestamp: 0, source: i })
const memory = (options: Partial<MemoryTransportOptions> = {}) => new MemoryTransport({ topics: { t: 3 }, latencyMs: 5, scheduler: clock, ...options })
const sinkOn = (transport: MemoryTransport, options: ToKafkaOptions = {}) => new KafkaSink<number>(transport, { scheduler: clock, ...options })
const records = (sink: KafkaSink<number>, reports: DeliveryReport<number>[] = []): KafkaWritable =>
  toWritable(sink, (events) => events.pipe(map(toRecord)), { onReport: (report) => void reports.push(report) })
/** 0 … n-1 from a generator: the test holds none of them. */
const numbers = (n: number) =>
  Readable.from(
    (function* () {
      for (let i = 0; i < n; i++) yield i
    })(),
  )
/** Lets streams and promises move without moving the clock (no ack arrives). */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve))
/** The pipeline's outcome: undefined when it finished, else its error. */
const outcome = (run: Promise<void>): Promise<unknown> => run.then(() => undefined, (error: unknown) => error)

describe('toWritable', () => {
  it('write() returns false while the sink has no room, and true again once acks make room', async () => {
    const transport = memory()
    const sink = sinkOn(transport, { pullAheadBytes: 1024 })
    const writable = records(sink)
    let writes = 0
    while (writable.write(writes)) writes++
    // The first event filled the sink; the rest wait in Node's buffer (16 objects), not in the sink.
    expect(sink.hasRoom()).toBe(false)
    expect(writes).toBe(15)
    expect(writable.counts).toMatchObject({ written: 1, roomWaits: 1 })
    let drained = false
    writable.once('drain', () => (drained = true))
    await turn()
    expect(drained).toBe(false)
    await clock.until(new Promise((resolve) => writable.once('drain', resolve)))
    expect(drained).toBe(true)
    expect(writable.counts.written).toBe(16)
    expect(writable.write(16)).toBe(true)
    writable.end()
    await clock.until(new Promise((resolve) => writable.once('finish', resolve)))
    expect(writable.counts).toMatchObject({ written: 17, delivered: 17, failed: 0 })
  })

  it('finishes only once the sink has acknowledged every record', async () => {
    const transport = memory({ latencyMs: 1_000 })
    const sink = sinkOn(transport)
    const writable = records(sink)
    const run = pipeline(numbers(100), writable)
    let finished = false
    void run.then(() => (finished = true))
    for (let i = 0; i < 20; i++) await turn()
    // All 100 written and sent, none acknowledged: the stream has not finished.
    expect(writable.counts.written).toBe(100)
    expect(writable.writableFinished).toBe(false)
    expect(finished).toBe(false)
    await clock.until(run)
    expect(writable.counts.delivered).toBe(100)
    expect([0, 1, 2].reduce((n, p) => n + transport.records('t', p).length, 0)).toBe(100)
    expect(sink.bufferedBytes).toBe(0)
  })

  it('keeps every written event accounted for: each reported once, memory bounded by the sink', async () => {
    let buffered = 0
    let peak = 0
    const transport = memory({ latencyMs: 2 })
    const sink = sinkOn(transport, { pullAheadBytes: 8 * 1024, instrumentation: { buffered: (delta) => (peak = Math.max(peak, (buffered += delta))) } })
    const reports: DeliveryReport<number>[] = []
    const writable = records(sink, reports)
    await clock.until(pipeline(numbers(5_000), writable))
    expect(writable.counts).toMatchObject({ written: 5_000, delivered: 5_000, failed: 0, deadLettered: 0 })
    expect(writable.counts.roomWaits).toBeGreaterThan(0)
    const sources = reports.map((r) => r.source)
    expect(new Set(sources).size).toBe(5_000)
    expect(sources.every((s) => Number.isInteger(s) && s >= 0 && s < 5_000)).toBe(true)
    // Past the mark by what Node buffered while a write waited at most (16 records of 1,082 bytes), plus the one that crossed it.
    expect(peak).toBeLessThanOrEqual(8 * 1024 + 17 * 1082)
    expect(buffered).toBe(0)
  })

  it('takes every event through the operators: serialize, partition(sink) and batch', async () => {
    const transport = new MemoryTransport({ topics: { lines: 4 }, latencyMs: 1, metadataLatencyMs: 3, scheduler: clock })
    const sink = new KafkaSink<string>(transport, { scheduler: clock })
    const lines = Readable.from(Array.from({ length: 1_000 }, (_, i) => `line ${i}`))
    const writable = toWritable(sink, (events) => events.pipe(serialize<string>('lines', string()), partition(sink, { scheduler: clock }), batch({ lingerMs: 10, scheduler: clock })))
    await clock.until(pipeline(lines, writable))
    expect(writable.counts.delivered).toBe(1_000)
    // Records waited for the topic's first metadata inside partition(sink): the writes waited with them.
    expect(writable.counts.roomWaits).toBeGreaterThan(0)
    const landed = [0, 1, 2, 3].flatMap((p) => transport.records('lines', p).map((r) => r.value?.toString()))
    expect(landed.sort()).toEqual(Array.from({ length: 1_000 }, (_, i) => `line ${i}`).sort())
  })

  it('a failing transport ends the pipeline with DeliveryFailedError, naming every event not delivered', async () => {
    const transport = memory({
      beforeSend: (request) => {
        if (request.records.some((r) => r.value?.length === 1000 && request.partition === 1)) throw new ProduceError('refused', 'INVALID_RECORD', { retriable: false })
      },
    })
    const sink = sinkOn(transport, { pullAheadBytes: 4 * 1024 })
    const reports: DeliveryReport<number>[] = []
    const writable = records(sink, reports)
    const error = await clock.until(outcome(pipeline(numbers(1_000_000), writable)))
    expect(error).toBeInstanceOf(DeliveryFailedError)
    expect((error as DeliveryFailedError).failure).toBeInstanceOf(ProduceError)
    expect(writable.destroyed).toBe(true)
    // It stopped early, and the ledger balances: delivered + named == written.
    const named = (error as DeliveryFailedError).sources
    expect(writable.counts.written).toBeLessThan(1_000)
    expect(reports.length + named.length).toBe(writable.counts.written)
    expect(new Set([...reports.map((r) => r.source), ...named]).size).toBe(writable.counts.written)
  })

  it("with onError 'report', a failed record fails the stream after the sink settled the rest; dead-lettered ones do not", async () => {
    const refuse = (request: { records: readonly { value: Buffer | null }[] }) => {
      if (request.records.some((r) => r.value?.[0] === 7)) throw new ProduceError('refused', 'INVALID_RECORD', { retriable: false })
    }
    const marked = (i: number): OutgoingRecord<number> => ({ ...toRecord(i), value: Buffer.alloc(1000, i === 7 ? 7 : 0), partition: 0 })
    const reported = (transportSink: KafkaSink<number>, reports: DeliveryReport<number>[], deadLetter: boolean) =>
      toWritable(transportSink, (events) => events.pipe(map(marked)), {
        onReport: (report) => void reports.push(report),
        ...(deadLetter ? { reports: map((r: DeliveryReport<number>) => (r.status === 'failed' ? { ...r, status: 'dead-lettered' as const, deadLetter: { topic: 'dlq', partition: 0, offset: 0 } } : r)) } : {}),
      })

    const failing: DeliveryReport<number>[] = []
    const sink = sinkOn(memory({ beforeSend: refuse }), { onError: 'report', pullAheadBytes: 2 * 1024 })
    const writable = reported(sink, failing, false)
    const error = await clock.until(outcome(pipeline(numbers(100), writable)))
    expect(error).toBeInstanceOf(DeliveryFailedError)
    expect((error as DeliveryFailedError).failure).toBeInstanceOf(ProduceError)
    // The request that carried event 7 failed as a whole: its events are the ones named.
    const failed = failing.filter((r) => r.status === 'failed').map((r) => r.source)
    expect(failed).toContain(7)
    expect([...(error as DeliveryFailedError).failed]).toEqual(failed)
    expect(writable.counts.failed).toBe(failed.length)
    // It took no more after the failure, and every event it took was reported.
    expect(writable.counts.written).toBeLessThan(100)
    expect(failing.map((r) => r.source).sort((a, b) => a - b)).toEqual(Array.from({ length: writable.counts.written }, (_, i) => i))

    const handled: DeliveryReport<number>[] = []
    const dlqWritable = reported(sinkOn(memory({ beforeSend: refuse }), { onError: 'report' }), handled, true)
    expect(await clock.until(outcome(pipeline(numbers(100), dlqWritable)))).toBeUndefined()
    expect(dlqWritable.counts.deadLettered).toBeGreaterThan(0)
    expect(dlqWritable.counts).toMatchObject({ written: 100, delivered: 100 - dlqWritable.counts.deadLettered, failed: 0 })
    expect(handled).toHaveLength(100)
  })

  it('a record that fails inside a write (over maxRequestBytes, reported at once) fails the stream; what was taken is reported', async () => {
    const sink = sinkOn(memory({ maxRequestBytes: 4_000 }), { onError: 'report', pullAheadBytes: 1024 })
    const reports: DeliveryReport<number>[] = []
    const oversized = (i: number): OutgoingRecord<number> => (i === 20 ? { ...toRecord(i), value: Buffer.alloc(5_000) } : toRecord(i))
    const writable = toWritable(sink, (events) => events.pipe(map(oversized)), { onReport: (report) => void reports.push(report) })
    const error = await clock.until(outcome(pipeline(numbers(1_000), writable)))
    expect(error).toBeInstanceOf(DeliveryFailedError)
    expect((error as DeliveryFailedError).failed).toEqual([20])
    expect(writable.counts.written).toBeLessThan(1_000)
    expect(reports.map((r) => r.source).sort((a, b) => a - b)).toEqual(Array.from({ length: writable.counts.written }, (_, i) => i))
  })

  it('a topic that does not exist fails the pipeline with UnknownTopicError', async () => {
    const sink = new KafkaSink<string>(new MemoryTransport({ topics: {}, scheduler: clock }), { scheduler: clock })
    const writable = toWritable(sink, (events) => events.pipe(serialize<string>('missing', string()), partition(sink, { scheduler: clock }), batch({ scheduler: clock })))
    const error = await clock.until(outcome(pipeline(Readable.from(['a', 'b', 'c']), writable)))
    expect(error).toBeInstanceOf(UnknownTopicError)
    expect((error as UnknownTopicError).sources.length).toBeGreaterThan(0)
  })

  it('a failing run drains what the operators hold, so its error names those events too', async () => {
    const transport = memory({
      beforeSend: (request) => {
        if (request.partition === 2) throw new ProduceError('refused', 'INVALID_RECORD', { retriable: false })
      },
    })
    const sink = sinkOn(transport, { pullAheadBytes: 16 * 1024 })
    const reports: DeliveryReport<number>[] = []
    // A long linger: without a drain the records batch holds would end unnamed with the stream.
    const writable = toWritable(sink, (events) => events.pipe(map(toRecord), batch({ lingerMs: 60_000, maxRecords: 5, scheduler: clock })), {
      onReport: (report) => void reports.push(report),
    })
    const error = (await clock.until(outcome(pipeline(numbers(1_000_000), writable)))) as DeliveryFailedError
    expect(error).toBeInstanceOf(DeliveryFailedError)
    // Ended by the drain, not by the run cutting it off at maxBlockMs (60 s of virtual time).
    expect(clock.now()).toBeLessThan(60_000)
    expect(reports.length + error.sources.length).toBe(writable.counts.written)
    expect(new Set([...reports.map((r) => r.source), ...error.sources]).size).toBe(writable.counts.written)
  })

  it('destroyed mid-way (the pipeline failing upstream), it stops and ends the sink run without hanging', async () => {
    const transport = memory({ latencyMs: 50 })
    const sink = sinkOn(transport, { pullAheadBytes: 4 * 1024 })
    const writable = records(sink)
    const source = numbers(1_000_000)
    const run = outcome(pipeline(source, writable))
    await clock.advance(120)
    expect(writable.counts.roomWaits).toBeGreaterThan(0)
    source.destroy(new Error('the input broke'))
    expect(((await clock.until(run)) as Error).message).toBe('the input broke')
    expect(writable.destroyed).toBe(true)
    const written = writable.counts.written
    // The run was torn down: closing the sink finds nothing to wait for, and no more is taken or sent.
    expect(await clock.until(sink.close({ timeoutMs: 0 }))).toEqual({ undelivered: [], drained: true })
    await clock.advance(1_000)
    expect(writable.counts.written).toBe(written)
    expect(transport.openSessions).toBe(0)
  })

  it('destroyed while a write waits for room, that write is called back', async () => {
    const sink = sinkOn(memory(), { pullAheadBytes: 1024 })
    const writable = records(sink)
    const called: unknown[] = []
    writable.write(0, (error) => called.push(error ?? 'taken'))
    writable.write(1, (error) => called.push(error))
    writable.on('error', () => undefined)
    expect(called).toEqual([])
    writable.destroy()
    await turn()
    // The first was taken by the sink; the second was still in Node's buffer.
    expect(called[0]).toBe('taken')
    expect(called[1]).toBeInstanceOf(Error)
  })

  it('sink.close() makes it take no more: what it took is delivered, and a later write fails with ProducerClosedError', async () => {
    const sink = sinkOn(memory(), { pullAheadBytes: 4 * 1024 })
    const reports: DeliveryReport<number>[] = []
    const writable = records(sink, reports)
    const run = outcome(pipeline(numbers(1_000_000), writable))
    await clock.advance(30)
    const closed = await clock.until(sink.close({ timeoutMs: 5_000 }))
    expect(closed).toEqual({ undelivered: [], drained: true })
    expect(await clock.until(run)).toBeInstanceOf(ProducerClosedError)
    expect(reports.filter((r) => r.status === 'delivered')).toHaveLength(writable.counts.written)
  })

  it('an onReport that throws destroys the stream with its error', async () => {
    const sink = sinkOn(memory())
    const writable = toWritable(sink, (events) => events.pipe(map(toRecord)), {
      onReport: () => {
        throw new Error('the callback broke')
      },
    })
    expect(((await clock.until(outcome(pipeline(numbers(10), writable)))) as Error).message).toBe('the callback broke')
  })

  it('checks its arguments', () => {
    const sink = sinkOn(memory())
    expect(() => toWritable({} as KafkaSink<number>, (events) => events.pipe(map(toRecord)))).toThrow(InvalidOptionError)
    expect(() => toWritable(sink, 'ops' as never)).toThrow(InvalidOptionError)
    expect(() => toWritable(sink, (events) => events.pipe(map(toRecord)), { highWaterMark: 0 })).toThrow(InvalidOptionError)
    expect(() => toWritable(sink, (events) => events.pipe(map(toRecord)), { onReport: 1 as never })).toThrow(InvalidOptionError)
  })
})
