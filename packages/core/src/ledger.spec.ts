import { describe, expect, it } from 'vitest'
import { map } from 'rxjs'
import { toKafka } from './operators/toKafka.js'
import { KafkaSink } from './sink/kafkaSink.js'
import { batch } from './operators/batch.js'
import { compress } from './operators/compress.js'
import { partition } from './operators/partition.js'
import { fromAsyncIterable } from './sources.js'
import { MemoryTransport } from './testing/memoryTransport.js'
import { DeliveryFailedError, TopicflowError } from './errors.js'
import type { Codec, DeliveryReport, OutgoingRecord, RecordBatch } from './records.js'
import type { OperatorFunction } from 'rxjs'

const EVENTS = 5_000

/** Pulls numbers through `stages` into a fail-mode sink and returns what was pulled, reported and named in the error. */
async function ledger(stages: OperatorFunction<OutgoingRecord<number>, RecordBatch<number>>) {
  let pulled = 0
  async function* numbers() {
    for (let i = 0; i < EVENTS; i++) {
      pulled++
      yield i
    }
  }
  const sink = new KafkaSink<number>(new MemoryTransport({ topics: { t: 3 }, latencyMs: 2 }), { pullAheadBytes: 20_000 })
  const reports: DeliveryReport<number>[] = []
  const error = await new Promise<unknown>((resolve) =>
    fromAsyncIterable(numbers(), sink)
      .pipe(
        map((i): OutgoingRecord<number> => ({ topic: 't', key: null, value: Buffer.alloc(50), headers: [], timestamp: 0, source: i })),
        stages,
        toKafka(sink),
      )
      .subscribe({ next: (r) => reports.push(r), error: resolve, complete: () => resolve(undefined) }),
  )
  const delivered = reports.filter((r) => r.status === 'delivered').map((r) => r.source)
  const named = error instanceof TopicflowError ? (error.sources as number[]) : []
  return { pulled, delivered, named, error, sink }
}

/** Every pulled event is delivered or named in the error, exactly once. */
function expectBalanced({ pulled, delivered, named }: { pulled: number; delivered: number[]; named: number[] }): void {
  expect(pulled).toBeGreaterThan(0)
  expect(delivered.length + named.length).toBe(pulled)
  expect(new Set([...delivered, ...named]).size).toBe(pulled)
  expect(Math.max(...delivered, ...named)).toBe(pulled - 1)
}

const partitions = { partitionCount: async () => 3 }

describe('the ledger when a stage fails (delivered + named in the error == pulled)', () => {
  it('a codec function that throws: the failed batch, the open batches and the unsent are all named', async () => {
    let batches = 0
    const codec = (): Codec => {
      if (++batches === 7) throw new Error('codec chooser broke')
      return 'none'
    }
    const result = await ledger((records) => records.pipe(partition(partitions, { partitioner: (r) => (r.source as number) % 3 }), batch({ lingerMs: 10_000, maxRecords: 100 }), compress(codec)))
    expect(result.error).toBeInstanceOf(DeliveryFailedError)
    expect((result.error as DeliveryFailedError).failure.message).toBe('codec chooser broke')
    expect((result.error as DeliveryFailedError).failed).toHaveLength(100)
    // Records still held by batch() when the sink stopped are named too (the source was asked to stop, not cut off).
    expect((result.error as DeliveryFailedError).unsent.length).toBeGreaterThan(0)
    expect(result.pulled).toBeLessThan(EVENTS)
    expectBalanced(result)
    expect(result.sink.stats.failed).toBe(result.named.length)
  })

  it('a partitioner that throws: the record, and everything batch() held before it, is accounted for', async () => {
    const partitioner = (record: OutgoingRecord<unknown>): number => {
      if (record.source === 1234) throw new Error('partitioner broke')
      return (record.source as number) % 3
    }
    const result = await ledger((records) => records.pipe(partition(partitions, { partitioner }), batch({ lingerMs: 10_000, maxRecords: 100 })))
    expect((result.error as Error).message).toBe('partitioner broke')
    expect(result.named).toEqual([1234])
    expectBalanced(result)
  })
})
