import { describe, expect, it, vi } from 'vitest'
import { constants } from 'node:os'
import { firstValueFrom, map, toArray } from 'rxjs'
import { toKafka } from './operators/toKafka.js'
import { KafkaSink } from './sink/kafkaSink.js'
import type { ToKafkaOptions } from './sink/options.js'
import { batch } from './operators/batch.js'
import { fromAsyncIterable } from './sources.js'
import { drainOnSignal, signalExitCode } from './drainOnSignal.js'
import { MemoryTransport } from './testing/memoryTransport.js'
import { VirtualScheduler } from './testing/virtualScheduler.js'
import { DeliveryFailedError, ProducerClosedError } from './errors.js'
import type { DeliveryReport, OutgoingRecord } from './records.js'

const toRecord = (i: number): OutgoingRecord<number> => ({ topic: 't', key: null, value: Buffer.alloc(100), headers: [], partition: i % 3, timestamp: 0, source: i })

/** An endless pull source that counts what it handed out. */
function endless(): { read: () => number; numbers: AsyncGenerator<number> } {
  let read = 0
  async function* numbers() {
    for (let i = 0; ; i++) {
      read++
      yield i
    }
  }
  return { read: () => read, numbers: numbers() }
}

/** Runs an endless pull source into a sink, closes the sink after `closeAfterMs`, and collects everything. */
async function closeMidStream(latencyMs: number, closeAfterMs: number, timeoutMs: number, options: ToKafkaOptions = {}) {
  const source = endless()
  // Latencies, linger and the close deadline run on a virtual clock.
  const clock = new VirtualScheduler()
  const sink = new KafkaSink<number>(new MemoryTransport({ topics: { t: 3 }, latencyMs, scheduler: clock }), { pullAheadBytes: 20_000, scheduler: clock, ...options })
  const reports: DeliveryReport<number>[] = []
  const ended = new Promise<unknown>((resolve) =>
    fromAsyncIterable(source.numbers, sink)
      .pipe(map(toRecord), batch({ lingerMs: 10_000, maxRecords: 50, scheduler: clock }), toKafka(sink))
      .subscribe({ next: (r) => reports.push(r), error: resolve, complete: () => resolve(undefined) }),
  )
  await clock.advance(closeAfterMs)
  const result = await clock.until(sink.close({ timeoutMs }))
  return { result, reports, error: await clock.until(ended), read: source.read() }
}

describe('KafkaSink.close()', () => {
  it('stops a pull source, flushes what batch holds, and drains: every event read is delivered', async () => {
    const { result, reports, error, read } = await closeMidStream(2, 50, 5_000)
    expect(error).toBeUndefined()
    expect(result).toEqual({ undelivered: [], drained: true })
    expect(read).toBeGreaterThan(50)
    // A long linger held the last records in batch: closing completed the source, so they were flushed.
    expect(reports.filter((r) => r.status === 'delivered').map((r) => r.source).sort((a, b) => a - b)).toEqual(Array.from({ length: read }, (_, i) => i))
  })

  it('past its deadline fails what is unacknowledged with ProducerClosedError and hands those events back', async () => {
    const { result, reports, error, read } = await closeMidStream(400, 100, 50, { onError: 'report' })
    expect(error).toBeUndefined()
    expect(result.drained).toBe(false)
    expect(result.undelivered.length).toBeGreaterThan(0)
    const failed = reports.filter((r) => r.status === 'failed')
    expect(failed.every((r) => r.status === 'failed' && r.error instanceof ProducerClosedError)).toBe(true)
    expect(failed.map((r) => r.source).sort()).toEqual([...result.undelivered].sort())
    // The ledger: every event read is delivered or handed back, once.
    const delivered = reports.filter((r) => r.status === 'delivered').map((r) => r.source)
    expect(new Set([...delivered, ...result.undelivered]).size).toBe(read)
    expect(delivered.length + result.undelivered.length).toBe(read)
  })

  it("in 'fail' mode ends the stream with DeliveryFailedError carrying the undelivered events", async () => {
    const { result, error, read, reports } = await closeMidStream(400, 100, 50)
    expect(error).toBeInstanceOf(DeliveryFailedError)
    expect((error as DeliveryFailedError).failure).toBeInstanceOf(ProducerClosedError)
    expect([...(error as DeliveryFailedError).sources].sort()).toEqual([...result.undelivered].sort())
    expect(reports.length + result.undelivered.length).toBe(read)
  })

  it('drainOnSignal closes on the signal, once, and hands back the result', async () => {
    const clock = new VirtualScheduler()
    const sink = new KafkaSink<number>(new MemoryTransport({ topics: { t: 3 }, scheduler: clock }), { scheduler: clock })
    const seen: string[] = []
    const dispose = drainOnSignal(sink, { signals: ['SIGUSR2'], exit: false, onSignal: (s) => seen.push(`signal ${s}`), onClosed: (r) => seen.push(`closed ${r.drained}`) })
    process.emit('SIGUSR2', 'SIGUSR2')
    await clock.advance(0)
    expect(seen).toEqual(['signal SIGUSR2', 'closed true'])
    expect(sink.closing).toBe(true)
    expect(process.listenerCount('SIGUSR2')).toBe(0)
    dispose()
  })

  it("drainOnSignal exits with the signal's status once drained, after onClosed", async () => {
    const exits: unknown[] = []
    const exit = vi.spyOn(process, 'exit').mockImplementation(((code?: number) => void exits.push(code)) as never)
    try {
      const clock = new VirtualScheduler()
      const sink = new KafkaSink<number>(new MemoryTransport({ topics: { t: 3 }, scheduler: clock }), { scheduler: clock })
      drainOnSignal(sink, { signals: ['SIGUSR2'], onClosed: async () => void exits.push('closed') })
      process.emit('SIGUSR2', 'SIGUSR2')
      await clock.advance(0)
      expect(exits).toEqual(['closed', 128 + constants.signals.SIGUSR2])
      expect(signalExitCode('SIGTERM')).toBe(143)
    } finally {
      exit.mockRestore()
    }
  })

  it('drainOnSignal: a second signal during a drain that does not end exits at once, after onSecondSignal', async () => {
    const seen: unknown[] = []
    const exit = vi.spyOn(process, 'exit').mockImplementation(((code?: number) => void seen.push(code)) as never)
    try {
      const stuck = { close: () => new Promise<never>(() => undefined) }
      drainOnSignal(stuck, { signals: ['SIGUSR2'], onSecondSignal: (s) => seen.push(`second ${s}`) })
      process.emit('SIGUSR2', 'SIGUSR2')
      await new Promise((resolve) => setImmediate(resolve))
      expect(seen).toEqual([])
      process.emit('SIGUSR2', 'SIGUSR2')
      expect(seen).toEqual(['second SIGUSR2', 128 + constants.signals.SIGUSR2])
      expect(process.listenerCount('SIGUSR2')).toBe(0)
    } finally {
      exit.mockRestore()
    }
  })
})
