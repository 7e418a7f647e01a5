import { describe, expect, it } from 'vitest'
import { Readable } from 'node:stream'
import { firstValueFrom, map, take, tap, toArray } from 'rxjs'
import { fromAsyncIterable, fromReadable } from './sources.js'
import { KafkaSink, toKafka } from './operators/toKafka.js'
import { partition } from './operators/partition.js'
import { MemoryTransport } from './testing/memoryTransport.js'
import { InvalidOptionError } from './errors.js'
import type { OutgoingRecord } from './records.js'

const toRecord = (i: number): OutgoingRecord<number> => ({ topic: 't', key: null, value: Buffer.alloc(1000), headers: {}, partition: i % 2, timestamp: 0, source: i })

describe('fromAsyncIterable / fromReadable', () => {
  it('emits every item of an async iterable, then completes', async () => {
    async function* numbers() {
      for (let i = 0; i < 1000; i++) yield i
    }
    expect(await firstValueFrom(fromAsyncIterable(numbers()).pipe(toArray()))).toEqual(Array.from({ length: 1000 }, (_, i) => i))
    expect(await firstValueFrom(fromAsyncIterable([1, 2, 3]).pipe(toArray()))).toEqual([1, 2, 3])
  })

  it('reads only while the sink has room: buffered bytes stay near maxBufferedBytes, never an overflow error', async () => {
    let read = 0
    async function* numbers() {
      for (let i = 0; i < 2000; i++) {
        read++
        yield i
      }
    }
    const transport = new MemoryTransport({ topics: { t: 2 }, latencyMs: 2 })
    const sink = new KafkaSink<number>(transport, { maxBufferedBytes: 20_000 })
    let peak = 0
    let maxAhead = 0
    let delivered = 0
    await new Promise<void>((resolve, reject) =>
      fromAsyncIterable(numbers(), sink)
        .pipe(map(toRecord), toKafka(sink))
        .subscribe({
          next: () => {
            delivered++
            peak = Math.max(peak, sink.bufferedBytes)
            maxAhead = Math.max(maxAhead, read - delivered)
          },
          error: reject,
          complete: resolve,
        }),
    )
    expect(delivered).toBe(2000)
    // One record over the limit at most gets in before the source pauses.
    expect(peak).toBeLessThanOrEqual(20_000 + 1200)
    expect(maxAhead).toBeLessThan(40)
  })

  it('pauses while partition() waits for a topic’s first metadata, so the source is not read into memory', async () => {
    let read = 0
    async function* numbers() {
      for (let i = 0; i < 5000; i++) {
        read++
        yield i
      }
    }
    const transport = new MemoryTransport({ topics: { t: 2 }, metadataLatencyMs: 50 })
    const sink = new KafkaSink<number>(transport)
    let readWhenPartitioned = -1
    const reports = await firstValueFrom(
      fromAsyncIterable(numbers(), sink).pipe(
        map((i): OutgoingRecord<number> => ({ ...toRecord(i), partition: undefined })),
        partition(transport),
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
    await new Promise((resolve) => setTimeout(resolve, 5))
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

  it('reads a Node Readable with its own backpressure', async () => {
    const readable = Readable.from(['a', 'b', 'c'])
    expect(await firstValueFrom(fromReadable<string>(readable).pipe(toArray()))).toEqual(['a', 'b', 'c'])
    expect(() => fromReadable({} as Readable)).toThrow(InvalidOptionError)
    expect(() => fromAsyncIterable(42 as unknown as Iterable<number>)).toThrow(/fromAsyncIterable\.iterable/)
  })
})
