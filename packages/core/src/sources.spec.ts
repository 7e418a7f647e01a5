import { describe, expect, it } from 'vitest'
import { Readable } from 'node:stream'
import { firstValueFrom, map, take, tap, toArray } from 'rxjs'
import { fromAsyncIterable, fromReadable } from './sources.js'
import { toKafka } from './operators/toKafka.js'
import { KafkaSink } from './sink/kafkaSink.js'
import { partition } from './operators/partition.js'
import { MemoryTransport } from './testing/memoryTransport.js'
import { InvalidOptionError } from './errors.js'
import type { Transport } from './transport.js'
import type { OutgoingRecord } from './records.js'

const toRecord = (i: number): OutgoingRecord<number> => ({ topic: 't', key: null, value: Buffer.alloc(1000), headers: [], partition: i % 2, timestamp: 0, source: i })

describe('fromAsyncIterable / fromReadable', () => {
  it('emits every item of an async iterable, then completes', async () => {
    async function* numbers() {
      for (let i = 0; i < 1000; i++) yield i
    }
    expect(await firstValueFrom(fromAsyncIterable(numbers()).pipe(toArray()))).toEqual(Array.from({ length: 1000 }, (_, i) => i))
    expect(await firstValueFrom(fromAsyncIterable([1, 2, 3]).pipe(toArray()))).toEqual([1, 2, 3])
  })

  /** Counts what a pull source read, and how far it ran ahead, as it feeds `sink` 2000 records of 1000 bytes. */
  class CountedSource {
    read = 0
    delivered = 0
    peakBuffered = 0
    maxAhead = 0
    async *numbers(): AsyncGenerator<number> {
      for (let i = 0; i < 2000; i++) {
        this.read++
        yield i
      }
    }
    run(sink: KafkaSink<number>): Promise<void> {
      return new Promise<void>((resolve, reject) =>
        fromAsyncIterable(this.numbers(), sink)
          .pipe(map(toRecord), toKafka(sink))
          .subscribe({
            next: () => {
              this.delivered++
              this.peakBuffered = Math.max(this.peakBuffered, sink.bufferedBytes)
              this.maxAhead = Math.max(this.maxAhead, this.read - this.delivered)
            },
            error: reject,
            complete: resolve,
          }),
      )
    }
  }

  it('reads only while the sink has room: buffered bytes stay near maxBufferedBytes, never an overflow error', async () => {
    const counted = new CountedSource()
    await counted.run(new KafkaSink<number>(new MemoryTransport({ topics: { t: 2 }, latencyMs: 2 }), { maxBufferedBytes: 20_000 }))
    expect(counted.delivered).toBe(2000)
    // One record over the limit at most gets in before the source pauses.
    expect(counted.peakBuffered).toBeLessThanOrEqual(20_000 + 1200)
    expect(counted.maxAhead).toBeLessThan(40)
  })

  it('pauses at pullAheadBytes, well below maxBufferedBytes, so a pull source does not fill the whole buffer', async () => {
    const counted = new CountedSource()
    await counted.run(new KafkaSink<number>(new MemoryTransport({ topics: { t: 2 }, latencyMs: 2 }), { maxBufferedBytes: 1 << 20, pullAheadBytes: 10_000 }))
    expect(counted.read).toBe(2000)
    expect(counted.delivered).toBe(2000)
    expect(counted.peakBuffered).toBeLessThanOrEqual(10_000 + 1200)
    expect(new KafkaSink(new MemoryTransport(), { maxBufferedBytes: 4096 }).config.pullAheadBytes).toBe(4096)
  })

  it('pauses while partition(sink) waits for a topic’s first metadata, so the source is not read into memory, whatever wraps the transport', async () => {
    let read = 0
    async function* numbers() {
      for (let i = 0; i < 5000; i++) {
        read++
        yield i
      }
    }
    const memory = new MemoryTransport({ topics: { t: 2 }, metadataLatencyMs: 50 })
    // Wrapped, as an application may (to log, say): the pause must not depend on the object's identity.
    const transport: Transport = {
      brokers: memory.brokers,
      maxRequestBytes: memory.maxRequestBytes,
      partitionCount: (topic, options) => memory.partitionCount(topic, options),
      openProducer: (options) => memory.openProducer(options),
      close: () => memory.close(),
    }
    const sink = new KafkaSink<number>(transport)
    let readWhenPartitioned = -1
    const reports = await firstValueFrom(
      fromAsyncIterable(numbers(), sink).pipe(
        map((i): OutgoingRecord<number> => ({ ...toRecord(i), partition: undefined })),
        // The sink, not the transport: the two then share the wait for the first metadata.
        partition(sink),
        tap(() => {
          if (readWhenPartitioned < 0) readWhenPartitioned = read
        }),
        toKafka(sink),
        toArray(),
      ),
    )
    expect(reports.filter((r) => r.status === 'delivered')).toHaveLength(5000)
    // Without the pause the source reads on for the whole 50 ms lookup: thousands of events.
    expect(readWhenPartitioned).toBeLessThan(10)
  })

  it('stops reading and closes the iterator on early unsubscribe', async () => {
    let closed = false
    let read = 0
    async function* numbers() {
      try {
        for (let i = 0; ; i++) {
          read++
          yield i
        }
      } finally {
        closed = true
      }
    }
    expect(await firstValueFrom(fromAsyncIterable(numbers()).pipe(take(3), toArray()))).toEqual([0, 1, 2])
    await new Promise((resolve) => setImmediate(resolve))
    expect(closed).toBe(true)
    expect(read).toBeLessThan(10)
  })

  it('passes the iterator’s error on', async () => {
    async function* failing() {
      yield 1
      throw new Error('disk gone')
    }
    await expect(firstValueFrom(fromAsyncIterable(failing()).pipe(toArray()))).rejects.toThrow('disk gone')
  })

  it('reads a synchronous iterable step by step without awaiting each one: closes it on early unsubscribe, passes its error on', async () => {
    let closed = false
    let read = 0
    function* numbers() {
      try {
        for (let i = 0; ; i++) {
          read++
          yield i
        }
      } finally {
        closed = true
      }
    }
    const seen: number[] = []
    const subscription = fromAsyncIterable(numbers()).subscribe((n) => seen.push(n))
    // Not awaited: the first events arrive before this turn of the event loop ends.
    await Promise.resolve()
    expect(seen.length).toBeGreaterThan(1)
    subscription.unsubscribe()
    const readAtStop = read
    await new Promise((resolve) => setImmediate(resolve))
    expect([closed, read]).toEqual([true, readAtStop])
    function* failing() {
      yield 1
      throw new Error('bad row')
    }
    await expect(firstValueFrom(fromAsyncIterable(failing()).pipe(toArray()))).rejects.toThrow('bad row')
  })

  it('reads a Node Readable with its own backpressure', async () => {
    const readable = Readable.from(['a', 'b', 'c'])
    expect(await firstValueFrom(fromReadable<string>(readable).pipe(toArray()))).toEqual(['a', 'b', 'c'])
    expect(() => fromReadable({} as Readable)).toThrow(InvalidOptionError)
    expect(() => fromAsyncIterable(42 as unknown as Iterable<number>)).toThrow(/fromAsyncIterable\.iterable/)
  })
})
