import { describe, expect, it } from 'vitest'
import { firstValueFrom, from, Subject, toArray, concat, throwError } from 'rxjs'
import { partition } from './partition.js'
import { partitionForKey } from '../murmur2.js'
import { roundRobinPartitioner, murmur2Partitioner } from '../partitioners.js'
import { InvalidOptionError, UnknownTopicError } from '../errors.js'
import type { OutgoingRecord } from '../records.js'
import { VirtualScheduler } from '../testing/virtualScheduler.js'

const record = (source: string, topic = 't', keyText: string | null = source): OutgoingRecord<string> => ({
  topic,
  key: keyText === null ? null : Buffer.from(keyText),
  value: null,
  headers: [],
  timestamp: 0,
  source,
})

/** Partition counts that change when told to, answered on a later turn like a broker would. */
function metadata(counts: Record<string, number>) {
  const calls: string[] = []
  return {
    calls,
    counts,
    partitionCount: async (topic: string) => {
      calls.push(topic)
      await nextTurn()
      const count = counts[topic]
      if (count === undefined) throw new UnknownTopicError(topic, { retriable: false })
      return count
    },
  }
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

describe('partition', () => {
  it('puts keyed records where murmur2 says, asking metadata once per topic', async () => {
    const meta = metadata({ t: 6 })
    const keys = Array.from({ length: 50 }, (_, i) => `key-${i}`)
    const out = await firstValueFrom(from(keys.map((k) => record(k))).pipe(partition(meta), toArray()))
    expect(out.map((r) => r.partition)).toEqual(keys.map((k) => partitionForKey(Buffer.from(k), 6)))
    expect(meta.calls).toEqual(['t'])
  })

  it('keeps the order of records across topics while one topic waits for metadata', async () => {
    const meta = metadata({ a: 3, b: 3 })
    const input = [record('1', 'a'), record('2', 'b'), record('3', 'a'), record('4', 'b')]
    const out = await firstValueFrom(from(input).pipe(partition(meta), toArray()))
    expect(out.map((r) => r.source)).toEqual(['1', '2', '3', '4'])
  })

  it('spreads null keys round-robin when asked, and sticky by default', async () => {
    const meta = metadata({ t: 4 })
    const input = Array.from({ length: 8 }, (_, i) => record(String(i), 't', null))
    const rr = await firstValueFrom(from(input).pipe(partition(meta, { partitioner: roundRobinPartitioner() }), toArray()))
    expect(rr.map((r) => r.partition)).toEqual([0, 1, 2, 3, 0, 1, 2, 3])
    const sticky = await firstValueFrom(from(input).pipe(partition(meta, { partitioner: murmur2Partitioner({ stickyBytes: 1 << 20 }) }), toArray()))
    expect(new Set(sticky.map((r) => r.partition)).size).toBe(1)
  })

  it('accepts a user function and keeps partitions the record already has', async () => {
    const meta = metadata({ t: 5 })
    const out = await firstValueFrom(from([record('a'), { ...record('b'), partition: 2 }]).pipe(partition(meta, { partitioner: (_r, n) => n - 1 }), toArray()))
    expect(out.map((r) => r.partition)).toEqual([4, 2])
  })

  it('errors, naming the record, when a record carries a partition the topic does not have', async () => {
    const meta = metadata({ t: 2 })
    const error = await firstValueFrom(from([{ ...record('x'), partition: 9 }]).pipe(partition(meta))).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(InvalidOptionError)
    expect((error as InvalidOptionError).sources).toEqual(['x'])
  })

  it('errors with UnknownTopicError carrying the waiting events when metadata cannot be had', async () => {
    const meta = metadata({})
    const error = await firstValueFrom(from([record('a', 'missing'), record('b', 'missing')]).pipe(partition(meta))).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(UnknownTopicError)
    expect((error as UnknownTopicError).sources).toEqual(['a', 'b'])
  })

  it('refreshes partition counts older than metadataMaxAgeMs and uses the new count', async () => {
    const meta = metadata({ t: 1 })
    const input = new Subject<OutgoingRecord<string>>()
    const seen: number[] = []
    const clock = new VirtualScheduler()
    input.pipe(partition(meta, { metadataMaxAgeMs: 0, partitioner: (_r, n) => n - 1, scheduler: clock })).subscribe((r) => seen.push(r.partition!))
    input.next(record('a'))
    await clock.advance(10)
    meta.counts.t = 3
    input.next(record('b')) // older than 0 ms: refresh starts, b still uses the count it has
    await clock.advance(10)
    input.next(record('c'))
    expect(seen).toEqual([0, 0, 2])
    expect(meta.calls.length).toBeGreaterThanOrEqual(2)
  })

  it('waits for pending metadata before completing or passing an error on', async () => {
    const meta = metadata({ t: 2 })
    const out = await firstValueFrom(concat(from([record('a')]), throwError(() => new Error('upstream'))).pipe(partition(meta), toArray())).catch((e: unknown) => e)
    expect((out as Error).message).toBe('upstream')
    const seen: string[] = []
    await new Promise<void>((resolve) => concat(from([record('a')]), throwError(() => new Error('u'))).pipe(partition(meta)).subscribe({ next: (r) => seen.push(r.source), error: () => resolve() }))
    expect(seen).toEqual(['a'])
  })

  it('stops, and ignores late metadata, on early unsubscribe', async () => {
    const meta = metadata({ t: 2 })
    const seen: string[] = []
    const subscription = from([record('a')]).pipe(partition(meta)).subscribe((r) => seen.push(r.source))
    subscription.unsubscribe()
    await nextTurn()
    await nextTurn()
    expect(seen).toEqual([])
  })

  it('rejects bad options at construction', () => {
    expect(() => partition(undefined as never)).toThrow(/partition\.metadata/)
    // max.block.ms belongs to the sink: partition() refuses it, naming the owner.
    expect(() => partition(metadata({}), { maxBlockMs: 0 } as never)).toThrow(/partition\.maxBlockMs.*belongs to the sink/)
  })
})
